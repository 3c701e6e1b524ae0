using NxTop.Agent.Lifecycle;

namespace NxTop.Agent.Tests;

/// <summary>
/// The guest outlives the agent: <c>xl create</c> in a systemd scope of its own, and <c>nxtop-agent stop-guest</c>
/// (the ExecStop of nxtop-guest-stop.service) for the clean shutdown at a dom0 reboot. Against fake tools.
/// </summary>
[Collection(ScriptTests.Name)]
public sealed class GuestScopeTests : IDisposable
{
    private readonly TempDirectory _temp = new();
    private readonly ProcessRunner _runner = new(TimeProvider.System);

    public void Dispose() => _temp.Dispose();

    private string Log(string name) => _temp.Combine(name + ".log");

    /// <summary>A fake xl whose guest runs until a shutdown or destroy.</summary>
    private string FakeXl(bool running = true) => _temp.WriteScript("xl", $$"""
        echo "$*" >> '{{Log("xl")}}'
        gone='{{_temp.Combine("gone")}}'
        {{(running ? "" : "touch \"$gone\"")}}
        case "$1" in
          list) [ -e "$gone" ] && { echo 'libxl: error: domain desktop not found' >&2; exit 1; }; printf 'Name  ID   Mem VCPUs\tState\tTime(s)\ndesktop  7   512     1     -b----       5.2\n' ;;
          shutdown|destroy) touch "$gone" ;;
          *) exit 0 ;;
        esac
        """);

    /// <summary>A fake systemd-run: logs its arguments one per line, then runs what follows "--", as the real one does.</summary>
    private string FakeSystemdRun(string exitWith = "") => _temp.WriteScript("systemd-run", $$"""
        for a in "$@"; do echo "$a" >> '{{Log("systemd-run")}}'; done
        {{exitWith}}
        while [ "$1" != -- ]; do shift; done
        shift
        exec "$@"
        """);

    private string WriteConfig(string xl, string extra = "")
    {
        var path = _temp.Combine("agent.json");
        File.WriteAllText(path, $$"""{ "centerUrl": "https://c", "xlPath": "{{xl}}"{{extra}} }""");
        return path;
    }

    private static async Task<(int ExitCode, string Stdout, string Stderr)> Cli(params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var exitCode = await AgentCli.RunAsync(args, stdout, stderr, TimeProvider.System, CancellationToken.None);
        return (exitCode, stdout.ToString(), stderr.ToString());
    }

    [Fact]
    public async Task With_a_scope_runner_xl_create_runs_in_a_transient_scope_ordered_before_the_guest_stop_unit()
    {
        var xl = new XlGuestController(_runner, FakeXl(), scopeRunPath: FakeSystemdRun());

        await xl.StartAsync("/var/lib/nxtop/guests/desktop/guest.cfg", CancellationToken.None);

        var args = File.ReadAllLines(Log("systemd-run"));
        Assert.Equal(["--scope", "--quiet", "--collect"], args[..3]);
        Assert.Matches("^--unit=nxtop-guest-desktop-[0-9a-f]{12}\\.scope$", args[3]);
        Assert.Equal(["--slice=nxtop-guests.slice", "--property=Before=nxtop-guest-stop.service"], args[4..6]);
        Assert.Equal(["--", _temp.Combine("xl"), "create", "/var/lib/nxtop/guests/desktop/guest.cfg"], args[^4..]);
        Assert.Equal(["create /var/lib/nxtop/guests/desktop/guest.cfg"], File.ReadAllLines(Log("xl")));
    }

    [Fact]
    public void Each_start_gets_its_own_scope_name()
    {
        var first = XlGuestController.ScopeArguments("xl", "/var/lib/nxtop/guests/desktop/guest.cfg", Guid.NewGuid());
        var second = XlGuestController.ScopeArguments("xl", "/var/lib/nxtop/guests/desktop/guest.cfg", Guid.NewGuid());

        Assert.NotEqual(first[3], second[3]);
        Assert.StartsWith("--unit=nxtop-guest-guest-", XlGuestController.ScopeArguments("xl", "/guest cfg/x y/g.cfg", Guid.Empty)[3], StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_scope_that_cannot_be_made_fails_the_start_with_systemd_runs_error()
    {
        var xl = new XlGuestController(_runner, FakeXl(), scopeRunPath: FakeSystemdRun("echo 'Failed to start transient scope unit: Unit nxtop-guest-desktop-x.scope already exists.' >&2; exit 1"));

        var e = await Assert.ThrowsAsync<ProcessFailedException>(() => xl.StartAsync("/var/lib/nxtop/guests/desktop/guest.cfg", CancellationToken.None));

        Assert.Contains("already exists", e.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(Log("xl")));
    }

    [Fact]
    public async Task Without_a_scope_runner_xl_create_runs_directly()
    {
        var xl = new XlGuestController(_runner, FakeXl());

        await xl.StartAsync("/var/lib/nxtop/guests/desktop/guest.cfg", CancellationToken.None);

        Assert.Equal(["create /var/lib/nxtop/guests/desktop/guest.cfg"], File.ReadAllLines(Log("xl")));
    }

    [Fact]
    public async Task Stop_guest_shuts_the_configured_guest_down_and_waits_until_it_is_gone()
    {
        var (exitCode, stdout, stderr) = await Cli("stop-guest", $"--config={WriteConfig(FakeXl())}", "--grace", "5");

        Assert.True(exitCode == 0, stderr);
        // One list to report the domain, then the controller's own stop.
        Assert.Equal(["list desktop", "list desktop", "shutdown -w desktop", "list desktop"], File.ReadAllLines(Log("xl")));
        Assert.Contains("guest desktop (domain 7) stopped in", stdout, StringComparison.Ordinal);
        Assert.Contains("(grace 5 s)", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Stop_guest_destroys_a_guest_that_ignores_the_shutdown_past_the_grace()
    {
        var gone = _temp.Combine("gone");
        var xlPath = _temp.WriteScript("xl", $$"""
            echo "$*" >> '{{Log("xl")}}'
            case "$1" in
              list) [ -e '{{gone}}' ] && exit 1; printf 'Name  ID   Mem VCPUs\tState\tTime(s)\ndesktop  7   512     1     -b----       5.2\n' ;;
              shutdown) exec sleep 30 ;;
              destroy) touch '{{gone}}' ;;
            esac
            """);

        var (exitCode, _, stderr) = await Cli("stop-guest", "--config", WriteConfig(xlPath), "--grace", "1");

        Assert.True(exitCode == 0, stderr);
        Assert.Equal(["list desktop", "list desktop", "shutdown -w desktop", "destroy desktop", "list desktop"], File.ReadAllLines(Log("xl")));
    }

    [Fact]
    public async Task Stop_guest_with_no_guest_running_succeeds_and_says_so()
    {
        var (exitCode, stdout, _) = await Cli("stop-guest", "--config", WriteConfig(FakeXl(running: false)));

        Assert.Equal(0, exitCode);
        Assert.Contains("guest desktop is not running", stdout, StringComparison.Ordinal);
        Assert.Equal(["list desktop"], File.ReadAllLines(Log("xl")));
    }

    [Fact]
    public async Task Stop_guest_fails_when_the_guest_survives_its_destroy()
    {
        var xlPath = _temp.WriteScript("xl", """
            case "$1" in
              list) printf 'Name  ID   Mem VCPUs\tState\tTime(s)\ndesktop  7   512     1     -b----       5.2\n' ;;
              destroy) echo 'libxl: error: cannot destroy' >&2; exit 1 ;;
            esac
            """);

        var (exitCode, _, stderr) = await Cli("stop-guest", "--config", WriteConfig(xlPath), "--grace", "0");

        Assert.Equal(1, exitCode);
        Assert.Contains("guest desktop could not be stopped", stderr, StringComparison.Ordinal);
        Assert.Contains("cannot destroy", stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--grace")]
    [InlineData("--grace -1")]
    [InlineData("--grace 3601")]
    [InlineData("--grace 1.5")]
    [InlineData("--frobnicate")]
    public async Task Stop_guest_with_a_bad_command_line_exits_64(string commandLine)
    {
        var (exitCode, _, stderr) = await Cli(["stop-guest", .. commandLine.Split(' ')]);

        Assert.Equal(64, exitCode);
        Assert.Contains("stop-guest", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Stop_guest_with_a_bad_config_exits_1_naming_the_file_and_the_field()
    {
        var config = WriteConfig("xl", """, "guestScopeRunPath": "bin/systemd-run" """);

        var (exitCode, _, stderr) = await Cli("stop-guest", "--config", config);

        Assert.Equal(1, exitCode);
        Assert.Contains(config, stderr, StringComparison.Ordinal);
        Assert.Contains("guestScopeRunPath: must be a command name found on PATH or an absolute path, got 'bin/systemd-run'", stderr, StringComparison.Ordinal);
    }
}
