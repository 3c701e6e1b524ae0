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
