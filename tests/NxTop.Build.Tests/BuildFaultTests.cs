using NxTop.Build;
using NxTop.Build.Rootfs;
using NxTop.Build.Spec;
using NxTop.Build.Tools;

namespace NxTop.Build.Tests;

/// <summary>
/// The faults a build meets outside the spec: a package Debian does not have, a mirror that cannot be reached,
/// a full disk. Each must become one clear paragraph that says what is wrong and how to fix it.
/// </summary>
public sealed class BuildFaultTests
{
    private static readonly Mirrors Mirrors = new("http://mirror.invalid/debian", "http://mirror.invalid/debian-security");

    private static ApplianceSpec SpecWith(params string[] packages)
    {
        var spec = SpecLoader.Load(Repo.Spec, null).Spec;
        return spec with { Debian = spec.Debian with { Packages = [.. spec.Debian.Packages, .. packages] } };
    }

    private static ToolException MmdebstrapFailed(string stderr) =>
        new("mmdebstrap failed", new ToolResult("mmdebstrap", ["bookworm"], 1, "", stderr));

    [Fact]
    public void A_package_debian_does_not_have_names_the_package_and_the_spec_field()
    {
        var ex = RootfsBuilder.Explain(
            MmdebstrapFailed("E: Unable to locate package nxtop-no-such-package\nE: apt-get install failed"),
            SpecWith("nxtop-no-such-package"),
            Mirrors);

        Assert.IsType<NxTopBuildException>(ex);
        Assert.Contains("'nxtop-no-such-package'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("$.debian.packages", ex.Message, StringComparison.Ordinal);
        Assert.Contains("bookworm", ex.Message, StringComparison.Ordinal);
        Assert.Contains("Nothing was built", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_recipe_package_blames_the_recipe_not_the_spec()
    {
        var ex = RootfsBuilder.Explain(MmdebstrapFailed("E: Package 'live-boot' has no installation candidate"), SpecWith(), Mirrors);

        Assert.Contains("'live-boot'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("build recipe", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("$.debian.packages", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("E: Failed to fetch http://127.0.0.1:9/debian/dists/bookworm/InRelease  Could not connect to 127.0.0.1:9 (127.0.0.1). - connect (111: Connection refused)")]
    [InlineData("Err:1 http://mirror.invalid/debian bookworm InRelease\n  Temporary failure resolving 'mirror.invalid'")]
    public void An_unreachable_mirror_names_the_mirror_and_the_fields_to_fix(string stderr)
    {
        var ex = RootfsBuilder.Explain(MmdebstrapFailed(stderr), SpecWith(), Mirrors);

        Assert.Contains("Cannot reach the Debian mirror http://mirror.invalid/debian", ex.Message, StringComparison.Ordinal);
        Assert.Contains("$.debian.mirror", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_full_disk_during_mmdebstrap_says_so()
    {
        var ex = RootfsBuilder.Explain(MmdebstrapFailed("dpkg: error: failed to write: No space left on device"), SpecWith(), Mirrors);

        Assert.Contains("disk filled up", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unknown_failure_keeps_the_tool_message()
    {
        var ex = RootfsBuilder.Explain(MmdebstrapFailed("E: something odd"), SpecWith(), Mirrors);

        Assert.Contains("mmdebstrap failed", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Too_little_free_space_fails_before_any_work_with_the_numbers()
    {
        var dir = Path.GetTempPath();
        var ex = Assert.Throws<NxTopBuildException>(() => DiskSpace.Require(dir, long.MaxValue / 2, "the Debian base cache"));

        Assert.Contains("Not enough free disk space for the Debian base cache", ex.Message, StringComparison.Ordinal);
        Assert.Contains("MiB free", ex.Message, StringComparison.Ordinal);
        Assert.Contains("Nothing was written", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Enough_free_space_passes()
    {
        DiskSpace.Require(Path.GetTempPath(), 1, "a tiny file");
        Assert.True(DiskSpace.FreeBytes(Path.GetTempPath()) > 0);
    }
}

public sealed class AptSourcesThirdPartyTests
{
    [Fact]
    public void A_third_party_repo_naming_the_suite_is_not_taken_for_the_debian_mirror()
    {
        var apt = Directory.CreateTempSubdirectory("nxtop-apt-");
        try
        {
            Directory.CreateDirectory(Path.Combine(apt.FullName, "sources.list.d"));
            File.WriteAllText(Path.Combine(apt.FullName, "sources.list.d", "a-docker.list"), "deb [arch=amd64] https://download.example/linux/debian bookworm stable\n");
            File.WriteAllText(Path.Combine(apt.FullName, "sources.list.d", "debian.sources"),
                "Types: deb\nURIs: http://debian.example/debian\nSuites: bookworm bookworm-updates\nComponents: main\nSigned-By: /k.gpg\n\n"
                + "Types: deb\nURIs: http://debian.example/debian-security\nSuites: bookworm-security\nComponents: main\nSigned-By:\n -----BEGIN PGP PUBLIC KEY BLOCK-----\n Comment: a: b\n");

            var m = NxTop.Build.Rootfs.AptSources.Resolve("host", "host", "bookworm", apt.FullName);

            Assert.Equal("http://debian.example/debian", m.Main);
            Assert.Equal("http://debian.example/debian-security", m.Security);
        }
        finally
        {
            apt.Delete(recursive: true);
        }
    }
}
