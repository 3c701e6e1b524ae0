using NxTop.Build.Tools;

namespace NxTop.Build.Images;

/// <summary>The keys of one build: the appliance's SSH host key and (unless the user brings their own) a client key.</summary>
public sealed record BuildKeys(string Dir, string HostPrivateKey, string HostPublicKey, string? ClientPrivateKey, string? ClientPublicKey)
{
    public string HostPublicKeyText => File.ReadAllText(HostPublicKey).Trim();

    public string? ClientPublicKeyText => ClientPublicKey is null ? null : File.ReadAllText(ClientPublicKey).Trim();
}

/// <summary>Generates per-build ed25519 keys with ssh-keygen. There are no passwords anywhere in the appliance.</summary>
public sealed class SshKeyMaker(ProcessRunner runner)
{
    /// <summary>
    /// Takes the keys a user supplies (or an earlier build made) instead of making new ones: the host key pair must be
    /// in <paramref name="from"/>; the client pair is taken when <paramref name="clientKey"/> is set. Rebuilding
    /// with the same keys is what makes two builds byte-identical.
    /// </summary>
    public static BuildKeys Reuse(string from, string dir, bool clientKey)
    {
        var names = new List<string> { "ssh_host_ed25519_key", "ssh_host_ed25519_key.pub" };
        if (clientKey)
        {
            names.AddRange(["id_ed25519", "id_ed25519.pub"]);
        }

        foreach (var name in names.Where(n => !File.Exists(Path.Combine(from, n))))
        {
            throw new NxTopBuildException($"--ssh-keys {from}: {name} is missing. The folder must hold ssh_host_ed25519_key(.pub)"
                + (clientKey ? " and id_ed25519(.pub) (the spec's ssh.generateClientKey is true)." : "."));
        }

        Directory.CreateDirectory(dir);
        foreach (var name in names)
        {
            var target = Path.Combine(dir, name);
            File.Copy(Path.Combine(from, name), target, overwrite: true);
            if (!name.EndsWith(".pub", StringComparison.Ordinal))
            {
                File.SetUnixFileMode(target, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }
        }

        var host = Path.Combine(dir, "ssh_host_ed25519_key");
        var client = Path.Combine(dir, "id_ed25519");
        return new BuildKeys(dir, host, host + ".pub", clientKey ? client : null, clientKey ? client + ".pub" : null);
    }

    public async Task<BuildKeys> MakeAsync(string dir, bool clientKey, string comment, CancellationToken ct)
    {
        Directory.CreateDirectory(dir);
        var host = Path.Combine(dir, "ssh_host_ed25519_key");
        var client = Path.Combine(dir, "id_ed25519");
        foreach (var f in new[] { host, host + ".pub", client, client + ".pub" })
        {
            File.Delete(f);
        }

        await runner.RunAsync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", $"root@{comment}", "-f", host], null, ct);
        if (clientKey)
        {
            await runner.RunAsync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", $"nxtop-build-client@{comment}", "-f", client], null, ct);
        }

        return new BuildKeys(dir, host, host + ".pub", clientKey ? client : null, clientKey ? client + ".pub" : null);
    }
}
