using NxTop.Build.Images;

namespace NxTop.Build.Tests;

public sealed class SshKeyReuseTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Supplied_keys_are_copied_with_private_halves_readable_only_by_the_owner()
    {
        var from = Path.Combine(_dir.Path, "from");
        Directory.CreateDirectory(from);
        foreach (var name in new[] { "ssh_host_ed25519_key", "ssh_host_ed25519_key.pub", "id_ed25519", "id_ed25519.pub" })
        {
            File.WriteAllText(Path.Combine(from, name), name + "-content");
        }

        var keys = SshKeyMaker.Reuse(from, Path.Combine(_dir.Path, "out"), clientKey: true);

        Assert.Equal("ssh_host_ed25519_key-content", File.ReadAllText(keys.HostPrivateKey));
        Assert.Equal("id_ed25519.pub-content", File.ReadAllText(keys.ClientPublicKey!));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(keys.HostPrivateKey));
    }

    [Fact]
    public void A_missing_client_key_is_named_when_the_spec_wants_one()
    {
        var from = Path.Combine(_dir.Path, "from");
        Directory.CreateDirectory(from);
        File.WriteAllText(Path.Combine(from, "ssh_host_ed25519_key"), "k");
        File.WriteAllText(Path.Combine(from, "ssh_host_ed25519_key.pub"), "k");

        var ex = Assert.Throws<NxTopBuildException>(() => SshKeyMaker.Reuse(from, Path.Combine(_dir.Path, "out"), clientKey: true));

        Assert.Contains("id_ed25519 is missing", ex.Message, StringComparison.Ordinal);
        Assert.NotNull(SshKeyMaker.Reuse(from, Path.Combine(_dir.Path, "out2"), clientKey: false));
    }
}
