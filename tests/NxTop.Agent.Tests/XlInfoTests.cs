namespace NxTop.Agent.Tests;

public sealed class XlInfoTests
{
    private static readonly DateTimeOffset ProbedAt = new(2026, 11, 24, 16, 0, 0, TimeSpan.Zero);

    [Fact]
    public void ParseFacts_reads_the_Xen_4_17_sample()
    {
        var facts = XlInfo.ParseFacts(TestFiles.XlInfoSample, ProbedAt);

        Assert.Equal("4.17.5-pre", facts.XenVersion);
        Assert.Equal(4, facts.XenMajor);
        Assert.Equal(17, facts.XenMinor);
        Assert.Equal(32613, facts.TotalMemoryMiB);
        Assert.Equal(27211, facts.FreeMemoryMiB);
        Assert.Equal(8, facts.NrCpus);
        Assert.Equal("pv hvm hvm_directio pv_directio hap shadow iommu_hap_pt_share vmtrace gnttab-v1 gnttab-v2", facts.VirtCaps);
        Assert.Equal("xen-3.0-x86_64 hvm-3.0-x86_32 hvm-3.0-x86_32p hvm-3.0-x86_64", facts.XenCaps);
        Assert.Equal(ProbedAt, facts.ProbedAt);
    }

    [Fact]
    public void Values_keep_their_colons_and_empty_values_are_kept()
    {
        var fields = XlInfo.ParseFields(TestFiles.XlInfoSample);

        Assert.Equal(
            "placeholder dom0_mem=4096M,max:4096M dom0_max_vcpus=2 dom0_vcpus_pin console=com1,vga com1=115200,8n1 loglvl=all guest_loglvl=all no-real-mode edd=off",
            fields["xen_commandline"]);
        Assert.Equal("bfebfbff:77fafbff:2c100800:00000121:0000000f:009c6fbf:00000000:00000100", fields["hw_caps"]);
        Assert.Equal("", fields["xen_changeset"]);
        Assert.Equal("Mon Nov 11 10:35:53 UTC 2024", fields["cc_compile_date"]);
        Assert.Equal(34, fields.Count);
    }

    [Fact]
    public void Windows_line_endings_and_noise_lines_are_tolerated()
    {
        var output = "warning without a colon\r\nxen_version : 4.19.1\r\ntotal_memory: 1024\r\nfree_memory :512\r\nnr_cpus : 2\r\n\r\n";

        var facts = XlInfo.ParseFacts(output, ProbedAt);

        Assert.Equal(("4.19.1", 4, 19, 1024L, 512L, 2), (facts.XenVersion, facts.XenMajor, facts.XenMinor, facts.TotalMemoryMiB, facts.FreeMemoryMiB, facts.NrCpus));
        Assert.Equal("", facts.XenCommandline);
    }

    [Theory]
    [InlineData("4.17.5-pre", 4, 17)]
    [InlineData("4.19.0", 4, 19)]
    [InlineData("4.2-rc", 4, 2)]
    [InlineData("10.1", 10, 1)]
    public void ParseVersion_takes_major_and_minor(string version, int major, int minor) =>
        Assert.Equal((major, minor), XlInfo.ParseVersion(version));

    [Theory]
    [InlineData("unknown")]
    [InlineData("4")]
    [InlineData(".17")]
    [InlineData("4.x")]
    [InlineData("-4.17")]
    public void ParseVersion_rejects_what_is_not_major_minor(string version)
    {
        var ex = Assert.Throws<XlInfoFormatException>(() => XlInfo.ParseVersion(version));
        Assert.Contains($"'{version}'", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("xen_version")]
    [InlineData("total_memory")]
    [InlineData("free_memory")]
    [InlineData("nr_cpus")]
    public void A_missing_required_field_is_named(string field)
    {
        var output = string.Join('\n', TestFiles.XlInfoSample.Split('\n').Where(line => !line.StartsWith(field + " ", StringComparison.Ordinal)));

        var ex = Assert.Throws<XlInfoFormatException>(() => XlInfo.ParseFacts(output, ProbedAt));

        Assert.Contains($"'{field}'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_field_that_is_not_a_number_is_named()
    {
        var output = TestFiles.XlInfoSample.Replace("total_memory           : 32613", "total_memory           : lots", StringComparison.Ordinal);

        var ex = Assert.Throws<XlInfoFormatException>(() => XlInfo.ParseFacts(output, ProbedAt));

        Assert.Equal("xl info: total_memory 'lots' is not a whole number", ex.Message);
    }
}
