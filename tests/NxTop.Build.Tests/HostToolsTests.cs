using NxTop.Build.Tools;

namespace NxTop.Build.Tests;

public class HostToolsTests
{
    [Fact]
    public void Nothing_is_missing_when_every_probe_exists()
    {
        var check = new HostTools(_ => true).Check();

        Assert.True(check.Ok);
        Assert.Empty(check.Missing);
    }

    [Fact]
    public void Every_requirement_is_missing_when_no_probe_exists()
    {
        var check = new HostTools(_ => false).Check();

        Assert.False(check.Ok);
        Assert.Equal(HostTools.Requirements, check.Missing);
    }

    [Fact]
    public void A_requirement_is_missing_when_any_one_of_its_probes_is()
    {
        var check = new HostTools(p => p is not ("grub-script-check" or "/usr/share/ovmf/OVMF.fd" or "mcopy")).Check();

        Assert.Equal(["grub-common", "mtools", "ovmf"], check.Missing.Select(m => m.Package).Order(StringComparer.Ordinal));
        Assert.Contains(check.Missing, m => m.What.Contains("grub-script-check", StringComparison.Ordinal));
    }

    [Fact]
    public void The_install_command_is_one_apt_get_line_with_sorted_unique_packages()
    {
        var check = new HostTools(p => p is not ("xorriso" or "grub-mkrescue" or "grub-mkimage" or "mmdebstrap" or "/usr/lib/grub/i386-pc/multiboot2.mod" or "cpio")).Check();

        Assert.Equal("apt-get install -y --no-install-recommends cpio grub-common grub-pc-bin mmdebstrap xorriso", check.InstallCommand);
        Assert.Equal(["cpio", "grub-common", "grub-pc-bin", "mmdebstrap", "xorriso"], check.Packages);
    }

    [Fact]
    public void The_install_command_for_everything_names_each_package_once_in_order()
    {
        var check = new HostTools(_ => false).Check();
        var words = check.InstallCommand.Split(' ');

        Assert.Equal(["apt-get", "install", "-y", "--no-install-recommends"], words[..4]);
        var packages = words[4..];
        Assert.Equal(HostTools.Requirements.Select(r => r.Package).Distinct().Order(StringComparer.Ordinal), packages);
        Assert.Equal(packages.Length, packages.Distinct().Count());
    }

    [Fact]
    public void Probes_are_command_names_or_absolute_paths()
    {
        Assert.All(HostTools.Requirements.SelectMany(r => r.Probes), p => Assert.True(Path.IsPathRooted(p) || !p.Contains('/', StringComparison.Ordinal), p));
    }

    [Fact]
    public void ProbeExists_finds_commands_on_the_path_and_absolute_paths()
    {
        Assert.True(HostTools.ProbeExists("sh"));
        Assert.True(HostTools.ProbeExists("/usr"));
        Assert.False(HostTools.ProbeExists("nxtop-no-such-tool"));
        Assert.False(HostTools.ProbeExists("/nonexistent/nxtop"));
    }
}
