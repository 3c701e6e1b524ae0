using System.Globalization;
using System.Text;
using Renci.SshNet;
using Renci.SshNet.Common;

namespace NxTop.Qemu;

/// <summary>Knobs for <see cref="SshSession.WaitForSshAsync(string,int,string,string,string,TimeSpan,SshWaitOptions,CancellationToken)"/>.</summary>
public sealed record SshWaitOptions
{
    /// <summary>Returns why the machine is gone (e.g. QEMU's exit code and stderr), or null while it runs.</summary>
    public Func<string?>? DeathCheck { get; init; }

    /// <summary>Receives one line per failed attempt.</summary>
    public Action<string>? Log { get; init; }

    /// <summary>The pause between attempts. Short: it only avoids spinning on "connection refused".</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How long one attempt waits for each server response (the SSH banner first). QEMU's user net accepts on the
    /// host side at once and then waits for the guest, so while the guest has no network an attempt hangs until
    /// this passes: it bounds how late a guest's first working SSH is noticed, so keep it short.
    /// </summary>
    public TimeSpan ResponseTimeout { get; init; } = TimeSpan.FromSeconds(8);

    /// <summary>The limit for one whole attempt (connect, key exchange, login), however many responses it takes.</summary>
    public TimeSpan AttemptTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>The per-response timeout of the session once connected (channel opens, SFTP requests).</summary>
    public TimeSpan SessionResponseTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>The clock.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;
}

/// <summary>
/// An SSH connection to a test machine whose host key is pinned by SHA256 fingerprint. Commands that fail throw
/// <see cref="RemoteCommandException"/>; files move over SFTP.
/// </summary>
public sealed class SshSession : IDisposable
{
    private readonly SshClient _ssh;
    private readonly ConnectionInfo _connectionInfo;
    private readonly PrivateKeyFile _key;
    private readonly string _expectedFingerprint;
    private readonly SemaphoreSlim _sftpLock = new(1, 1);
    private SftpClient? _sftp;

    private SshSession(SshClient ssh, ConnectionInfo connectionInfo, PrivateKeyFile key, string expectedFingerprint, string hostKeyFingerprint)
    {
        _ssh = ssh;
        _connectionInfo = connectionInfo;
        _key = key;
        _expectedFingerprint = expectedFingerprint;
        HostKeyFingerprint = hostKeyFingerprint;
    }

    /// <summary>The host connected to.</summary>
    public string Host => _connectionInfo.Host;

    /// <summary>The port connected to.</summary>
    public int Port => _connectionInfo.Port;

    /// <summary>The login user.</summary>
    public string User => _connectionInfo.Username;

    /// <summary>The server's host key fingerprint (unpadded base64, no prefix); equal to the pinned one.</summary>
    public string HostKeyFingerprint { get; }

    /// <summary>The limit for one remote command.</summary>
    public TimeSpan CommandTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <inheritdoc cref="WaitForSshAsync(string,int,string,string,string,TimeSpan,SshWaitOptions,CancellationToken)"/>
    public static Task<SshSession> WaitForSshAsync(
        string host, int port, string user, string privateKeyPath, string expectedHostKeySha256, TimeSpan deadline,
        CancellationToken cancellationToken) =>
        WaitForSshAsync(host, port, user, privateKeyPath, expectedHostKeySha256, deadline, new SshWaitOptions(), cancellationToken);

    /// <summary>
    /// Polls until an SSH login with the private key succeeds and the server shows the pinned host key, or
    /// <paramref name="deadline"/> (measured from this call) passes. Never sleeps longer than the poll interval.
    /// </summary>
    /// <exception cref="SshUnreachableException">
    /// The deadline passed (the message names the last connection error), the machine died
    /// (<see cref="SshWaitOptions.DeathCheck"/>), or the server's host key is not the pinned one (fails at once).
    /// </exception>
    public static async Task<SshSession> WaitForSshAsync(
        string host, int port, string user, string privateKeyPath, string expectedHostKeySha256, TimeSpan deadline,
        SshWaitOptions options, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(host);
        ArgumentException.ThrowIfNullOrWhiteSpace(user);
        ArgumentException.ThrowIfNullOrWhiteSpace(privateKeyPath);
        ArgumentException.ThrowIfNullOrWhiteSpace(expectedHostKeySha256);
        ArgumentNullException.ThrowIfNull(options);

        var time = options.TimeProvider;
        var started = time.GetTimestamp();
        var expected = HostKeyFingerprintNormalize(expectedHostKeySha256);
        var key = new PrivateKeyFile(privateKeyPath);
        var attempts = 0;
        string? lastError = null;
        var where = $"{user}@{host}:{port.ToString(CultureInfo.InvariantCulture)}";
        try
        {
            while (true)
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (options.DeathCheck?.Invoke() is { } death)
                {
                    throw new SshUnreachableException(
                        $"The machine died before SSH {where} answered: {death}{LastErrorSuffix(lastError)}", lastError, attempts);
                }

                var elapsed = time.GetElapsedTime(started);
                var remaining = deadline - elapsed;
                if (remaining <= TimeSpan.Zero)
                {
                    throw new SshUnreachableException(
                        $"SSH {where} was not ready within {deadline.TotalSeconds:0} s ({attempts} attempts){LastErrorSuffix(lastError)}",
                        lastError, attempts);
                }

                attempts++;
                var attemptLimit = remaining < options.AttemptTimeout ? remaining : options.AttemptTimeout;
                var connectionInfo = new ConnectionInfo(host, port, user, new PrivateKeyAuthenticationMethod(user, key))
                {
                    Timeout = attemptLimit < options.ResponseTimeout ? attemptLimit : options.ResponseTimeout,
                };
                var client = new SshClient(connectionInfo);
                var pin = new HostKeyPin(expected);
                client.HostKeyReceived += pin.Check;
                using var attemptTimeout = new CancellationTokenSource(attemptLimit, time);
                using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, attemptTimeout.Token);
                try
                {
                    await client.ConnectAsync(linked.Token).ConfigureAwait(false);
                    client.KeepAliveInterval = TimeSpan.FromSeconds(15);
                    connectionInfo.Timeout = options.SessionResponseTimeout;
                    return new SshSession(client, connectionInfo, key, expected, pin.Seen!);
                }
                catch (Exception e) when (!cancellationToken.IsCancellationRequested)
                {
                    client.Dispose();
                    if (pin.Mismatch is { } mismatch)
                    {
                        throw new SshUnreachableException($"SSH {where}: {mismatch}", mismatch, attempts, e);
                    }

                    lastError = e is OperationCanceledException
                        ? $"attempt timed out after {attemptLimit.TotalSeconds:0} s"
                        : $"{e.GetType().Name}: {e.Message}";
                    options.Log?.Invoke($"SSH {where} attempt {attempts} at {time.GetElapsedTime(started).TotalSeconds:0.0} s: {lastError}");
                }

                var pause = deadline - time.GetElapsedTime(started);
                if (pause > options.PollInterval)
                {
                    pause = options.PollInterval;
                }

                if (pause > TimeSpan.Zero)
                {
                    await Task.Delay(pause, time, cancellationToken).ConfigureAwait(false);
                }
            }
        }
        catch
        {
            key.Dispose();
            throw;
        }
    }

    /// <summary>Runs a command through the remote user's shell and throws unless it exits 0.</summary>
    /// <exception cref="RemoteCommandException">The command exited non-zero or was killed.</exception>
    public async Task<CommandResult> RunAsync(string command, CancellationToken cancellationToken = default)
    {
        var result = await TryRunAsync(command, cancellationToken).ConfigureAwait(false);
        return result.Succeeded ? result : throw new RemoteCommandException(result);
    }

    /// <summary>Runs a command and returns its result whatever its exit status.</summary>
    public async Task<CommandResult> TryRunAsync(string command, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(command);
        using var cmd = _ssh.CreateCommand(command);
        cmd.CommandTimeout = CommandTimeout;
        await cmd.ExecuteAsync(cancellationToken).ConfigureAwait(false);
        return new CommandResult(command, cmd.ExitStatus ?? -1, cmd.Result, cmd.Error, cmd.ExitSignal);
    }

    /// <summary>Copies a local file to <paramref name="remotePath"/>, replacing it.</summary>
    public async Task UploadFileAsync(string localPath, string remotePath, CancellationToken cancellationToken = default)
    {
        var input = File.OpenRead(localPath);
        await using (input.ConfigureAwait(false))
        {
            await UploadAsync(input, remotePath, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Writes <paramref name="content"/> (UTF-8, no BOM) to <paramref name="remotePath"/>.</summary>
    public async Task UploadTextAsync(string content, string remotePath, CancellationToken cancellationToken = default)
    {
        using var input = new MemoryStream(new UTF8Encoding(false).GetBytes(content));
        await UploadAsync(input, remotePath, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Copies a stream to <paramref name="remotePath"/>, replacing it.</summary>
    public async Task UploadAsync(Stream input, string remotePath, CancellationToken cancellationToken = default)
    {
        var sftp = await GetSftpAsync(cancellationToken).ConfigureAwait(false);
        await sftp.UploadFileAsync(input, remotePath, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Copies <paramref name="remotePath"/> to a local file, replacing it.</summary>
    public async Task DownloadFileAsync(string remotePath, string localPath, CancellationToken cancellationToken = default)
    {
        var output = File.Create(localPath);
        await using (output.ConfigureAwait(false))
        {
            var sftp = await GetSftpAsync(cancellationToken).ConfigureAwait(false);
            await sftp.DownloadFileAsync(remotePath, output, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Reads a remote file as UTF-8 text.</summary>
    public async Task<string> DownloadTextAsync(string remotePath, CancellationToken cancellationToken = default)
    {
        using var output = new MemoryStream();
        var sftp = await GetSftpAsync(cancellationToken).ConfigureAwait(false);
        await sftp.DownloadFileAsync(remotePath, output, cancellationToken).ConfigureAwait(false);
        return Encoding.UTF8.GetString(output.ToArray());
    }

    /// <summary>Closes the SFTP and SSH connections.</summary>
    public void Dispose()
    {
        _sftp?.Dispose();
        _ssh.Dispose();
        _key.Dispose();
        _sftpLock.Dispose();
    }

    private async Task<SftpClient> GetSftpAsync(CancellationToken cancellationToken)
    {
        await _sftpLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_sftp is { IsConnected: true })
            {
                return _sftp;
            }

            _sftp?.Dispose();
            var pin = new HostKeyPin(_expectedFingerprint);
            var sftp = new SftpClient(_connectionInfo);
            sftp.HostKeyReceived += pin.Check;
            try
            {
                await sftp.ConnectAsync(cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                sftp.Dispose();
                _sftp = null;
                throw;
            }

            _sftp = sftp;
            return sftp;
        }
        finally
        {
            _sftpLock.Release();
        }
    }

    private static string HostKeyFingerprintNormalize(string fingerprint) => Qemu.HostKeyFingerprint.Normalize(fingerprint);

    private static string LastErrorSuffix(string? lastError) => lastError is null ? "." : $". Last error: {lastError}";

    /// <summary>Trusts exactly one host key and remembers what the server showed.</summary>
    private sealed class HostKeyPin(string expected)
    {
        public string? Seen { get; private set; }

        public string? Mismatch { get; private set; }

        public void Check(object? sender, HostKeyEventArgs e)
        {
            Seen = e.FingerPrintSHA256;
            e.CanTrust = Qemu.HostKeyFingerprint.AreEqual(expected, e.FingerPrintSHA256);
            if (!e.CanTrust)
            {
                Mismatch = $"host key mismatch: the server showed {e.HostKeyName} SHA256:{e.FingerPrintSHA256}, "
                    + $"but SHA256:{expected} is pinned.";
            }
        }
    }
}

/// <summary>How an SSH server answered a password login.</summary>
public enum PasswordLoginOutcome
{
    /// <summary>The server does not offer password authentication at all (what a hardened image must say).</summary>
    NotOffered,

    /// <summary>The server offers password authentication but refused this password.</summary>
    Rejected,

    /// <summary>The password worked.</summary>
    Accepted,
}

/// <summary>The outcome of <see cref="PasswordLogin.TryAsync"/>, with the library's own words.</summary>
public sealed record PasswordLoginResult(PasswordLoginOutcome Outcome, string Detail);

/// <summary>Tries a password login, to prove that a server refuses passwords outright.</summary>
public static class PasswordLogin
{
    /// <summary>
    /// Connects with only a password method (host key still pinned) and classifies the answer. SSH.NET says
    /// "No suitable authentication method found ... (methods)" when the server offers no password method, and
    /// "Permission denied (password)" when it offered one and the password was wrong.
    /// </summary>
    public static async Task<PasswordLoginResult> TryAsync(
        string host, int port, string user, string password, string expectedHostKeySha256, CancellationToken cancellationToken = default)
    {
        var connectionInfo = new ConnectionInfo(host, port, user, new PasswordAuthenticationMethod(user, password))
        {
            Timeout = TimeSpan.FromSeconds(30),
        };
        using var client = new SshClient(connectionInfo);
        string? mismatch = null;
        client.HostKeyReceived += (_, e) =>
        {
            e.CanTrust = HostKeyFingerprint.AreEqual(expectedHostKeySha256, e.FingerPrintSHA256);
            mismatch = e.CanTrust ? null : $"host key mismatch: the server showed SHA256:{e.FingerPrintSHA256}";
        };
        try
        {
            await client.ConnectAsync(cancellationToken).ConfigureAwait(false);
            return new PasswordLoginResult(PasswordLoginOutcome.Accepted, "the password login succeeded");
        }
        catch (SshAuthenticationException e)
        {
            return e.Message.StartsWith("No suitable authentication method", StringComparison.Ordinal)
                ? new PasswordLoginResult(PasswordLoginOutcome.NotOffered, e.Message)
                : new PasswordLoginResult(PasswordLoginOutcome.Rejected, e.Message);
        }
        catch (SshConnectionException e) when (mismatch is not null)
        {
            throw new SshUnreachableException($"SSH {user}@{host}:{port}: {mismatch}", mismatch, 1, e);
        }
    }
}
