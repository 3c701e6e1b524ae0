namespace NxTop.Qemu.Tests;

public class XlOutputTests
{
    private const string XlInfo = """
        host                   : nxtop
        release                : 6.1.0-56-amd64
        machine                : x86_64
        nr_cpus                : 1
        virt_caps              : pv hvm hap
        total_memory           : 2047
        xen_major              : 4
        xen_minor              : 17
        xen_extra              : .5
        xen_version            : 4.17.5
        xen_commandline        : placeholder console=com1,vga com1=115200,8n1 dom0_mem=1024M,max:1024M
        cc_compiler            : x86_64-linux-gnu-gcc (Debian 12.2.0-14+deb12u1) 12.2.0
        xend_config_format     : 4

        """;

    private const string XlList = """
        Name                                        ID   Mem VCPUs	State	Time(s)
        Domain-0                                     0  1023     1     r-----      12.3
        my guest                                     3   128     2     -b----       0.4
        """;

    [Fact]
    public void Info_values_keep_their_colons_and_commas()
    {
        var info = XlOutput.ParseInfo(XlInfo);

        Assert.Equal("4", info["xen_major"]);
        Assert.Equal("17", info["xen_minor"]);
        Assert.Equal("pv hvm hap", info["virt_caps"]);
        Assert.Equal("placeholder console=com1,vga com1=115200,8n1 dom0_mem=1024M,max:1024M", info["xen_commandline"]);
        Assert.Equal("x86_64-linux-gnu-gcc (Debian 12.2.0-14+deb12u1) 12.2.0", info["cc_compiler"]);
    }

    [Fact]
    public void List_reads_columns_from_the_right_so_names_may_hold_spaces()
    {
        var domains = XlOutput.ParseList(XlList);

        Assert.Equal(2, domains.Count);
        Assert.Equal(new XlDomain("Domain-0", 0, 1023, 1, "r-----", 12.3), domains[0]);
        Assert.Equal(new XlDomain("my guest", 3, 128, 2, "-b----", 0.4), domains[1]);
    }

    [Fact]
    public void A_malformed_row_is_a_format_error()
    {
        Assert.Throws<FormatException>(() => XlOutput.ParseList("Domain-0 zero 1024 1 r----- 1.0"));
        Assert.Throws<FormatException>(() => XlOutput.ParseList("Domain-0 0 1024"));
    }

    [Theory]
    [InlineData("  a   b\tc\n d ", "a b c d")]
    [InlineData("", "")]
    [InlineData("one", "one")]
    public void Whitespace_is_normalized(string input, string expected)
    {
        Assert.Equal(expected, XlOutput.NormalizeWhitespace(input));
    }
}
