using System.Diagnostics;
using System.Text;

namespace NxTop.VmTests;

/// <summary>
/// A real OpenSSH server on a free loopback port with its own host key and config, to check the harness's SSH
/// side without a VM. Needs Debian's openssh-server (only the binary: no system service is used).
/// </summary>
internal sealed class LocalSshd : IAsyncDisposable
{
    private const string SshdPath = "/usr/sbin/sshd";
    private readonly Process _process;
    private readonly StringBuilder _stderr = new();

    private LocalSshd(string dir, int port, Process process)
    {
        Directory = dir;
        Port = port;
        _process = process;
        _process.ErrorDataReceived += (_, e) =>
        {
            lock (_stderr)
            {
                _stderr.AppendLine(e.Data);
            }
        };
        _process.BeginErrorReadLine();
    }

    public string Directory { get; }

    public int Port { get; }

    public static string User => Environment.UserName;

    public string ClientKeyPath => Path.Combine(Directory, "id_ed25519");

    public string HostKeyFingerprint => Qemu.HostKeyFingerprint.FromPublicKeyFile(Path.Combine(Directory, "ssh_host_ed25519_key.pub"));

    public string Stderr
    {
        get
        {
            lock (_stderr)
            {
                return _stderr.ToString();
            }
        }
    }

    public static LocalSshd Start(bool passwordAuthentication)
    {
        if (!File.Exists(SshdPath))
        {
            throw new InvalidOperationException($"{SshdPath} is missing: apt-get install openssh-server (the harness tests need the binary).");
        }

        // sshd refuses to start without its privilege separation directory; the Debian service normally makes it.
        System.IO.Directory.CreateDirectory("/run/sshd");

        var dir = System.IO.Directory.CreateTempSubdirectory("nxtop-sshd-").FullName;
        TestKeys.Generate(Path.Combine(dir, "ssh_host_ed25519_key"));
        TestKeys.Generate(Path.Combine(dir, "id_ed25519"));
        File.Copy(Path.Combine(dir, "id_ed25519.pub"), Path.Combine(dir, "authorized_keys"));
        var port = FreePort.Pick();
        var config = Path.Combine(dir, "sshd_config");
        File.WriteAllText(config, $"""
            Port {port}
            ListenAddress 127.0.0.1
            HostKey {dir}/ssh_host_ed25519_key
            PidFile {dir}/sshd.pid
            AuthorizedKeysFile {dir}/authorized_keys
            PubkeyAuthentication yes
            PasswordAuthentication {(passwordAuthentication ? "yes" : "no")}
            KbdInteractiveAuthentication no
            PermitRootLogin prohibit-password
            StrictModes no
            UsePAM no
            Subsystem sftp internal-sftp
            LogLevel ERROR

            """);

        var psi = new ProcessStartInfo(SshdPath) { UseShellExecute = false, RedirectStandardError = true };
        foreach (var a in new[] { "-D", "-e", "-f", config })
        {
            psi.ArgumentList.Add(a);
        }

        var process = Process.Start(psi) ?? throw new InvalidOperationException("sshd did not start.");
        return new LocalSshd(dir, port, process);
    }

    public string? ExitDescription() =>
        _process.HasExited ? $"sshd exited with code {_process.ExitCode}: {Stderr.Trim()}" : null;

    public async ValueTask DisposeAsync()
    {
        try
        {
            _process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
        }

        await _process.WaitForExitAsync();
        _process.Dispose();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
