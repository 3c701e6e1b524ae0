using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Time.Testing;

namespace NxTop.Agent.Tests;

/// <summary>The real host, socket server and ctl client in this process, with a fake xl in a temp directory.</summary>
[Collection(ScriptTests.Name)]
public sealed class ControlSocketEndToEndTests : IDisposable
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(15);

    private readonly TempDirectory _temp = new();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 24, 16, 0, 0, TimeSpan.Zero));
    private readonly string _socketPath;
    private readonly string _xlPath;

    public ControlSocketEndToEndTests()
    {
        _socketPath = _temp.Combine("run", "agent.sock");
        _xlPath = _temp.WriteFakeXl();
    }

    public void Dispose() => _temp.Dispose();

    private AgentConfig Config => new(
        CenterUrl: "https://center.example.net",
        PollIntervalSeconds: 60,
        SocketPath: _socketPath,
        StateDirectory: _temp.Combine("state"),
        XlPath: _xlPath);

    private IHost BuildHost()
    {
        var builder = AgentHost.CreateBuilder(_time);
        builder.Services.AddAgent(Config, _time);
        return builder.Build();
    }

    private static async Task<(int ExitCode, string Stdout, string Stderr)> Ctl(params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var exitCode = await AgentCli.RunAsync(["ctl", .. args], stdout, stderr, TimeProvider.System, CancellationToken.None);
        return (exitCode, stdout.ToString(), stderr.ToString());
    }

    private static async Task<string> SendRaw(string socketPath, string request)
    {
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath));
        await socket.SendAsync(Encoding.UTF8.GetBytes(request));
        var buffer = new byte[64 * 1024];
        var length = 0;
        int read;
        while ((read = await socket.ReceiveAsync(buffer.AsMemory(length))) > 0)
        {
            length += read;
        }

        return Encoding.UTF8.GetString(buffer, 0, length);
    }

    /// <summary>Polls ctl until it exits with the wanted code; a deadline, never a fixed sleep.</summary>
    private static async Task<(int ExitCode, string Stdout, string Stderr)> CtlUntil(int exitCode, params string[] args)
    {
        var started = TimeProvider.System.GetTimestamp();
        while (true)
        {
            var result = await Ctl(args);
            if (result.ExitCode == exitCode || TimeProvider.System.GetElapsedTime(started) > Deadline)
            {
                return result;
            }

            await Task.Delay(50);
        }
    }

    [Fact]
    public async Task Ctl_status_reports_a_healthy_agent_with_the_xen_facts()
    {
        using var host = BuildHost();
        await host.StartAsync();
        try
        {
            var (exitCode, stdout, stderr) = await Ctl("status", "--socket", _socketPath);

            Assert.Equal("", stderr);
            Assert.Equal(0, exitCode);
            Assert.Contains("health:         healthy\n", stdout, StringComparison.Ordinal);
            Assert.Contains("xen:            4.17.5-pre (4.17)\n", stdout, StringComparison.Ordinal);

            var json = await Ctl("status", "--json", $"--socket={_socketPath}");
            Assert.Equal(0, json.ExitCode);
            Assert.EndsWith("}\n", json.Stdout, StringComparison.Ordinal);
            var status = JsonDocument.Parse(json.Stdout).RootElement;
            Assert.True(status.GetProperty("healthy").GetBoolean());
            Assert.Equal(Environment.ProcessId, status.GetProperty("pid").GetInt32());
            Assert.Equal(AgentVersion.Short, status.GetProperty("agentVersion").GetString());
            Assert.Equal(8, status.GetProperty("xen").GetProperty("nrCpus").GetInt32());
        }
        finally
        {
            await host.StopAsync();
        }
    }

    [Fact]
    public async Task Only_root_can_open_the_socket_and_it_is_removed_on_stop()
    {
        using var host = BuildHost();
        await host.StartAsync();

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(_socketPath));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute,
            File.GetUnixFileMode(Path.GetDirectoryName(_socketPath)!));
        Assert.True(Directory.Exists(_temp.Combine("state")));
        Assert.False(File.Exists(_socketPath + ".new"));

        await host.StopAsync();

        Assert.False(File.Exists(_socketPath));
        var (exitCode, _, stderr) = await Ctl("status", "--socket", _socketPath);
        Assert.Equal(2, exitCode);
        Assert.Equal($"nxtop-agent ctl: cannot reach the agent at {_socketPath}: the socket does not exist (is nxtop-agent running?)\n", stderr);
    }

    [Fact]
    public async Task Ctl_says_why_a_socket_that_nobody_serves_cannot_be_reached()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(_socketPath)!);
        using (var dead = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified))
        {
            dead.Bind(new UnixDomainSocketEndPoint(_socketPath));
        }

        if (!File.Exists(_socketPath))
        {
            await File.WriteAllTextAsync(_socketPath, "");
        }

        var (exitCode, stdout, stderr) = await Ctl("status", "--socket", _socketPath);

        Assert.Equal(2, exitCode);
        Assert.Equal("", stdout);
        Assert.Equal(
            $"nxtop-agent ctl: cannot reach the agent at {_socketPath}: connection refused: nothing listens on the socket (is nxtop-agent running?)\n",
            stderr.ReplaceLineEndings("\n"));
    }

    [Fact]
    public async Task An_unknown_command_gets_an_error_line()
    {
        using var host = BuildHost();
        await host.StartAsync();
        try
        {
            Assert.Equal("{\"error\":\"unknown command 'reboot'\"}\n", await SendRaw(_socketPath, "reboot\n"));
            Assert.Equal("{\"error\":\"request longer than 1024 bytes\"}\n", await SendRaw(_socketPath, new string('x', 5000)));
        }
        finally
        {
            await host.StopAsync();
        }
    }

    [Fact]
    public async Task A_stale_socket_is_replaced_and_a_live_one_is_left_alone()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(_socketPath)!);
        await File.WriteAllTextAsync(_socketPath, "left over from a crash");

        using (var host = BuildHost())
        {
            await host.StartAsync();
            Assert.Equal(0, (await Ctl("status", "--socket", _socketPath)).ExitCode);

            // A second agent on the same socket must not steal it from the first.
            using var second = BuildHost();
            var ex = await Assert.ThrowsAsync<IOException>(() => second.StartAsync());
            Assert.Equal($"another process already listens on the control socket {_socketPath}", ex.Message);
            Assert.Equal(0, (await Ctl("status", "--socket", _socketPath)).ExitCode);

            await host.StopAsync();
        }
    }

    [Fact]
    public async Task The_probe_loop_turns_unhealthy_when_xl_fails_and_recovers()
    {
        using var host = BuildHost();
        await host.StartAsync();
        try
        {
            Assert.Equal(0, (await Ctl("status", "--socket", _socketPath)).ExitCode);

            _temp.WriteScript("xl", "echo 'xl: cannot init xl context' >&2; exit 1");
            _time.Advance(AgentStatusReporter.ProbePeriod);
            var failed = await CtlUntil(1, "status", "--socket", _socketPath);
            Assert.Equal(1, failed.ExitCode);
            Assert.Contains($"UNHEALTHY: xl info failed: '{_xlPath} info' exited with code 1: xl: cannot init xl context", failed.Stdout, StringComparison.Ordinal);
            Assert.Contains("xen:            4.17.5-pre (4.17)", failed.Stdout, StringComparison.Ordinal);

            _temp.WriteFakeXl();
            _time.Advance(AgentStatusReporter.ProbePeriod);
            Assert.Equal(0, (await CtlUntil(0, "status", "--socket", _socketPath)).ExitCode);
        }
        finally
        {
            await host.StopAsync();
        }
    }

    [Fact]
    public async Task An_agent_whose_xl_is_broken_starts_unhealthy()
    {
        _temp.WriteScript("xl", "exit 127");
        using var host = BuildHost();
        await host.StartAsync();
        try
        {
            var (exitCode, stdout, _) = await Ctl("status", "--socket", _socketPath);

            Assert.Equal(1, exitCode);
            Assert.Contains($"UNHEALTHY: xl info failed: '{_xlPath} info' exited with code 127", stdout, StringComparison.Ordinal);
            Assert.Contains("xen:            unknown", stdout, StringComparison.Ordinal);
        }
        finally
        {
            await host.StopAsync();
        }
    }
}
