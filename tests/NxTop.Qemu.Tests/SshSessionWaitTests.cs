using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace NxTop.Qemu.Tests;

/// <summary>The failure paths of the SSH readiness poll, against sockets on loopback (no VM, no sshd).</summary>
public sealed class SshSessionWaitTests : IDisposable
{
    private const string AnyFingerprint = "SHA256:6r6kaVh7N4kwowPe1wpDAXL9uKBl+XI5bqijnbnbV1I";
    private readonly TempDir _dir = new();
    private readonly string _key;

    public SshSessionWaitTests() => _key = _dir.NewKey();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Closed_port_fails_at_the_deadline_naming_the_last_error()
    {
        var port = FreePort.Pick();
        var clock = Stopwatch.StartNew();

        // 6 s, not 2: on a loaded machine (CI runs the test projects side by side) the first attempt alone, SSH.NET's
        // start-up included, took over 2 s, ended by the attempt limit rather than a refusal, so no socket error was seen.
        var e = await Assert.ThrowsAsync<SshUnreachableException>(() => SshSession.WaitForSshAsync(
            "127.0.0.1", port, "root", _key, AnyFingerprint, TimeSpan.FromSeconds(6), CancellationToken.None));

        Assert.InRange(clock.Elapsed, TimeSpan.FromSeconds(5.5), TimeSpan.FromSeconds(10));
        Assert.Contains("not ready within 6 s", e.Message, StringComparison.Ordinal);
        Assert.Contains("Last error: SocketException", e.Message, StringComparison.Ordinal);
        Assert.True(e.Attempts >= 2, $"polled only {e.Attempts} times");
    }

    [Fact]
    public async Task A_dead_machine_fails_at_once_with_its_reason()
    {
        var clock = Stopwatch.StartNew();
        var options = new SshWaitOptions { DeathCheck = () => "QEMU exited with code 1; stderr: boom" };

        var e = await Assert.ThrowsAsync<SshUnreachableException>(() => SshSession.WaitForSshAsync(
            "127.0.0.1", FreePort.Pick(), "root", _key, AnyFingerprint, TimeSpan.FromMinutes(5), options, CancellationToken.None));

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5));
        Assert.Contains("died", e.Message, StringComparison.Ordinal);
        Assert.Contains("QEMU exited with code 1; stderr: boom", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Death_during_the_wait_ends_it_early()
    {
        var clock = Stopwatch.StartNew();
        var options = new SshWaitOptions
        {
            DeathCheck = () => clock.Elapsed > TimeSpan.FromSeconds(1.5) ? "gone" : null,
            PollInterval = TimeSpan.FromMilliseconds(200),
        };

        var e = await Assert.ThrowsAsync<SshUnreachableException>(() => SshSession.WaitForSshAsync(
            "127.0.0.1", FreePort.Pick(), "root", _key, AnyFingerprint, TimeSpan.FromMinutes(5), options, CancellationToken.None));

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(6));
        Assert.Contains("gone", e.Message, StringComparison.Ordinal);
        Assert.Contains("Last error", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_silent_server_is_bounded_by_the_response_timeout_and_the_deadline()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var clock = Stopwatch.StartNew();
        var options = new SshWaitOptions { ResponseTimeout = TimeSpan.FromSeconds(1) };

        var e = await Assert.ThrowsAsync<SshUnreachableException>(() => SshSession.WaitForSshAsync(
            "127.0.0.1", port, "root", _key, AnyFingerprint, TimeSpan.FromSeconds(3), options, CancellationToken.None));

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(8), $"took {clock.Elapsed}");
        Assert.NotNull(e.LastError);
    }

    [Fact]
    public async Task A_server_that_does_not_speak_ssh_is_retried_and_reported()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        using var stop = new CancellationTokenSource();
        var server = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                using var client = await listener.AcceptTcpClientAsync(stop.Token);
                await client.GetStream().WriteAsync("HTTP/1.0 400 Bad Request\r\n\r\n"u8.ToArray(), stop.Token);
            }
        });

        var e = await Assert.ThrowsAsync<SshUnreachableException>(() => SshSession.WaitForSshAsync(
            "127.0.0.1", port, "root", _key, AnyFingerprint, TimeSpan.FromSeconds(3), CancellationToken.None));

        await stop.CancelAsync();
        Assert.True(e.Attempts >= 2, $"polled only {e.Attempts} times");
        Assert.Contains("Last error", e.Message, StringComparison.Ordinal);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => server);
    }

    [Fact]
    public async Task Cancellation_is_not_reported_as_a_timeout()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(500));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => SshSession.WaitForSshAsync(
            "127.0.0.1", FreePort.Pick(), "root", _key, AnyFingerprint, TimeSpan.FromMinutes(5), cts.Token));
    }

    [Fact]
    public async Task A_missing_private_key_fails_at_once()
    {
        await Assert.ThrowsAsync<FileNotFoundException>(() => SshSession.WaitForSshAsync(
            "127.0.0.1", FreePort.Pick(), "root", _dir.File("nope"), AnyFingerprint, TimeSpan.FromMinutes(5), CancellationToken.None));
    }
}
