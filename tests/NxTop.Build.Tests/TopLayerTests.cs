using NxTop.Build.Spec;
using NxTop.Build.Images;

namespace NxTop.Build.Tests;

public sealed class TopLayerTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private string Stage()
    {
        var agent = _dir.Write("in/nxtop-agent", "agent");
        var host = _dir.Write("in/ssh/ssh_host_ed25519_key", "private");
        _dir.Write("in/ssh/ssh_host_ed25519_key.pub", "ssh-ed25519 AAAA root@nxtop");
        var tree = Path.Combine(_dir.Path, "top");
        TopLayer.Stage(tree, Path.Combine(Repo.Root, "appliance", "overlay"), Rendering.For("none"), agent,
            new BuildKeys(Path.GetDirectoryName(host)!, host, host + ".pub", null, null));
        return tree;
    }

    [Fact]
    public void The_agent_the_guest_stop_and_the_nic_release_are_enabled_as_systemctl_enable_would()
    {
        var tree = Stage();

        Assert.Equal("/etc/systemd/system/nxtop-agent.service",
            new FileInfo(Path.Combine(tree, "etc/systemd/system/multi-user.target.wants/nxtop-agent.service")).LinkTarget);
        Assert.Equal("/etc/systemd/system/nxtop-guest-stop.service",
            new FileInfo(Path.Combine(tree, "etc/systemd/system/multi-user.target.wants/nxtop-guest-stop.service")).LinkTarget);
        Assert.True(File.Exists(Path.Combine(tree, "etc/systemd/system/nxtop-guest-stop.service")));
        Assert.Equal("/etc/systemd/system/nxtop-initrd-net-release.service",
            new FileInfo(Path.Combine(tree, "etc/systemd/system/sysinit.target.wants/nxtop-initrd-net-release.service")).LinkTarget);
        Assert.True(File.Exists(Path.Combine(tree, "etc/systemd/system/nxtop-initrd-net-release.service")));
    }

    [Fact]
    public void Units_useless_in_a_live_appliance_are_masked()
    {
        var tree = Stage();

        foreach (var unit in new[] { "e2scrub_reap.service", "e2scrub_all.timer", "apt-daily.timer", "xendomains.service" })
        {
            Assert.Equal("/dev/null", new FileInfo(Path.Combine(tree, "etc/systemd/system", unit)).LinkTarget);
        }
    }

    [Fact]
    public void The_host_key_is_private_and_the_agent_executable()
    {
        var tree = Stage();

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(tree, "etc/ssh/ssh_host_ed25519_key")));
        Assert.True(File.GetUnixFileMode(Path.Combine(tree, "usr/lib/nxtop/nxtop-agent")).HasFlag(UnixFileMode.UserExecute));
    }
}

public sealed class PublisherKeyTests : IDisposable
{
    private readonly TempSpec _spec = new();

    public void Dispose() => _spec.Dispose();

    private static string P256PublicPem()
    {
        using var key = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256);
        return key.ExportSubjectPublicKeyInfoPem();
    }

    [Fact]
    public void Keys_are_resolved_from_the_spec_folder_and_baked_into_the_top_layer()
    {
        File.WriteAllText(Path.Combine(Path.GetDirectoryName(_spec.SpecPath)!, "publisher.pub.pem"), P256PublicPem());
        _spec.EditSpec(root => root["agent"]!["publisherKeys"] = new System.Text.Json.Nodes.JsonArray("publisher.pub.pem"));

        var keys = ApplianceBuild.PublisherKeys(SpecLoader.Load(_spec.SpecPath, null));

        var key = Assert.Single(keys);
        Assert.Equal(Path.Combine(Path.GetDirectoryName(_spec.SpecPath)!, "publisher.pub.pem"), key);
    }

    [Fact]
    public void A_missing_key_file_names_the_spec_and_the_field()
    {
        _spec.EditSpec(root => root["agent"]!["publisherKeys"] = new System.Text.Json.Nodes.JsonArray("nope.pem"));

        var ex = Assert.Throws<NxTopBuildException>(() => ApplianceBuild.PublisherKeys(SpecLoader.Load(_spec.SpecPath, null)));

        Assert.Contains("$.agent.publisherKeys[0]", ex.Message, StringComparison.Ordinal);
        Assert.Contains("does not exist", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_private_key_or_an_rsa_key_is_refused()
    {
        using var rsa = System.Security.Cryptography.RSA.Create(2048);
        File.WriteAllText(Path.Combine(Path.GetDirectoryName(_spec.SpecPath)!, "rsa.pem"), rsa.ExportSubjectPublicKeyInfoPem());
        _spec.EditSpec(root => root["agent"]!["publisherKeys"] = new System.Text.Json.Nodes.JsonArray("rsa.pem"));

        var ex = Assert.Throws<NxTopBuildException>(() => ApplianceBuild.PublisherKeys(SpecLoader.Load(_spec.SpecPath, null)));

        Assert.Contains("rsa.pem", ex.Message, StringComparison.Ordinal);
    }
}
