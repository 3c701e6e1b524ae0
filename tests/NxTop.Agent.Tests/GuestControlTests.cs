using Microsoft.Extensions.Time.Testing;
using NxTop.Agent.Lifecycle;
using NxTop.Contracts;

namespace NxTop.Agent.Tests;

/// <summary>The xl- and xenstore-backed implementations against fake tools (shell scripts).</summary>
[Collection(ScriptTests.Name)]
public sealed class GuestControlTests : IDisposable
{
    private readonly TempDirectory _temp = new();
    private readonly ProcessRunner _runner = new(TimeProvider.System);

    public void Dispose() => _temp.Dispose();

    /// <summary>A fake xl: the guest runs (if <paramref name="running"/>) until a shutdown or destroy, like the real one.</summary>
    private string FakeXl(bool running) => _temp.WriteScript("xl", $$"""
        echo "$*" >> '{{_temp.Combine("xl.log")}}'
        gone='{{_temp.Combine("gone")}}'
        case "$1" in
          list) {{(running ? "[ -e \"$gone\" ] && { echo 'libxl: error: domain desktop not found' >&2; exit 1; }; printf 'Name  ID   Mem VCPUs\\tState\\tTime(s)\\ndesktop  7   512     1     -b----       5.2\\n'" : "echo 'libxl: error: domain desktop not found' >&2; exit 1")}} ;;
          shutdown|destroy) touch "$gone" ;;
          *) exit 0 ;;
        esac
        """);

    private string FakeXenstoreRead(string body) => _temp.WriteScript("xenstore-read", $$"""
        echo "$*" >> '{{_temp.Combine("xenstore.log")}}'
        {{body}}
        """);

    [Fact]
    public async Task The_controller_drives_xl_with_argument_lists()
    {
        var xl = new XlGuestController(_runner, FakeXl(running: true));

        Assert.Equal(new GuestRuntime(GuestState.Running, 7), await xl.GetAsync("desktop", CancellationToken.None));
        await xl.StartAsync("/var/lib/nxtop/guests/desktop/guest.cfg", CancellationToken.None);
        await xl.StopAsync("desktop", TimeSpan.FromSeconds(10), CancellationToken.None);
        await xl.PauseAsync("desktop", CancellationToken.None);

        Assert.Equal(["list desktop", "create /var/lib/nxtop/guests/desktop/guest.cfg", "list desktop", "shutdown -w desktop", "list desktop", "pause desktop"],
            File.ReadAllLines(_temp.Combine("xl.log")));
    }

    [Fact]
    public async Task A_stop_without_grace_destroys_at_once()
    {
        var xl = new XlGuestController(_runner, FakeXl(running: true));

        await xl.StopAsync("desktop", TimeSpan.Zero, CancellationToken.None);

        Assert.Equal(["list desktop", "destroy desktop", "list desktop"], File.ReadAllLines(_temp.Combine("xl.log")));
    }

    [Fact]
    public async Task A_destroy_that_fails_because_the_guest_is_already_gone_is_not_an_error()
    {
        // A shut-down guest that xl still lists for a while (its watcher has not destroyed it yet), and whose xl
        // destroy fails as libxl's does for a dying domain: the stop waits until the name is free.
        var xl = new XlGuestController(_runner, _temp.WriteScript("xl", $$"""
            echo "$*" >> '{{_temp.Combine("xl.log")}}'
            case "$1" in
              list) n=$(grep -c '^list' '{{_temp.Combine("xl.log")}}'); [ "$n" -le 3 ] && printf 'Name  ID   Mem VCPUs\tState\tTime(s)\ndesktop  7   512     1     -b----       5.2\n' && exit 0; exit 1 ;;
              destroy) echo 'libxl: error: libxl_domain.c:1137:domain_destroy_callback: Domain 7:Unable to destroy guest' >&2; exit 1 ;;
              *) exit 0 ;;
            esac
            """));

        await xl.StopAsync("desktop", TimeSpan.Zero, CancellationToken.None);

        Assert.Equal(["list desktop", "destroy desktop", "list desktop", "list desktop", "list desktop"], File.ReadAllLines(_temp.Combine("xl.log")));
    }

    [Fact]
    public async Task A_guest_that_ignores_the_shutdown_past_the_grace_is_destroyed_not_an_error()
    {
        var gone = _temp.Combine("gone");
        var xl = new XlGuestController(_runner, _temp.WriteScript("xl", $$"""
            echo "$*" >> '{{_temp.Combine("xl.log")}}'
            case "$1" in
              list) [ -e '{{gone}}' ] && exit 1; printf 'Name  ID   Mem VCPUs\tState\tTime(s)\ndesktop  7   512     1     -b----       5.2\n' ;;
              shutdown) exec sleep 30 ;;
              destroy) touch '{{gone}}' ;;
            esac
            """));

        await xl.StopAsync("desktop", TimeSpan.FromSeconds(1), CancellationToken.None);

        Assert.Equal(["list desktop", "shutdown -w desktop", "destroy desktop", "list desktop"], File.ReadAllLines(_temp.Combine("xl.log")));
    }

    [Fact]
    public async Task A_destroy_that_fails_with_the_guest_still_there_is_an_error()
    {
        var xl = new XlGuestController(_runner, goneTimeout: TimeSpan.FromSeconds(1), xlPath: _temp.WriteScript("xl", $$"""
            echo "$*" >> '{{_temp.Combine("xl.log")}}'
            case "$1" in
              list) printf 'Name  ID   Mem VCPUs\tState\tTime(s)\ndesktop  7   512     1     -b----       5.2\n' ;;
              destroy) echo 'libxl: error: cannot destroy' >&2; exit 1 ;;
            esac
            """));

        var e = await Assert.ThrowsAsync<ProcessFailedException>(() => xl.StopAsync("desktop", TimeSpan.Zero, CancellationToken.None));

        Assert.Contains("cannot destroy", e.Message, StringComparison.Ordinal);
        Assert.Contains("guest desktop is still there 1 s after 'xl destroy desktop'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_guest_that_writes_ok_is_healthy()
    {
        var probe = new XenstoreHealthProbe(_runner, new XlGuestController(_runner, FakeXl(running: true)), FakeXenstoreRead("echo ok"), TimeProvider.System);

        var result = await probe.WaitAsync("desktop", TimeSpan.FromSeconds(60), CancellationToken.None);

        Assert.True(result.Healthy);
        Assert.Equal("/local/domain/7/data/nxtop/health", File.ReadAllText(_temp.Combine("xenstore.log")).Trim());
    }

    [Fact]
    public async Task A_console_marker_printed_after_the_check_began_counts_and_an_old_one_does_not()
    {
        var logs = _temp.Combine("console");
        Directory.CreateDirectory(logs);
        var log = Path.Combine(logs, "guest-desktop.log");
        File.WriteAllText(log, "NXTOP_HEALTH=ok\n"); // from the previous boot
        var probe = new XenstoreHealthProbe(_runner, new XlGuestController(_runner, FakeXl(running: true)), FakeXenstoreRead("exit 1"), TimeProvider.System, logs);

        var check = probe.WaitAsync("desktop", TimeSpan.FromSeconds(60), CancellationToken.None);
        await Task.Delay(300);
        Assert.False(check.IsCompleted);
        File.AppendAllText(log, "[    1.234] booting\nNXTOP_HEALTH=failed: app missing\n");
        var result = await check.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.False(result.Healthy);
        Assert.Equal("the guest reported 'failed: app missing' (console)", result.Reason);
    }

    [Fact]
    public void Only_complete_console_lines_are_read_and_the_offset_moves_past_them()
    {
        var log = _temp.Combine("guest-x.log");
        File.WriteAllText(log, "a\nNXTOP_HEALTH=ok\nNXTOP_HEALTH=fai");
        long offset = 0;

        Assert.Equal("ok", XenstoreHealthProbe.ReadConsoleMarker(log, ref offset));
        Assert.Equal(new FileInfo(log).Length - "NXTOP_HEALTH=fai".Length, offset);
        Assert.Null(XenstoreHealthProbe.ReadConsoleMarker(log, ref offset));
    }

    [Fact]
    public async Task A_guest_that_reports_failure_is_unhealthy_at_once()
    {
        var probe = new XenstoreHealthProbe(_runner, new XlGuestController(_runner, FakeXl(running: true)), FakeXenstoreRead("echo 'failed: app missing'"), TimeProvider.System);

        var result = await probe.WaitAsync("desktop", TimeSpan.FromSeconds(60), CancellationToken.None);

        Assert.False(result.Healthy);
        Assert.Contains("failed: app missing", result.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_guest_that_is_gone_is_unhealthy()
    {
        var probe = new XenstoreHealthProbe(_runner, new XlGuestController(_runner, FakeXl(running: false)), FakeXenstoreRead("echo ok"), TimeProvider.System);

        var result = await probe.WaitAsync("desktop", TimeSpan.FromSeconds(60), CancellationToken.None);

        Assert.False(result.Healthy);
        Assert.Contains("stopped before it reported healthy", result.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_silent_guest_fails_at_the_deadline_on_the_fake_clock()
    {
        var time = new FakeTimeProvider();
        var probe = new XenstoreHealthProbe(_runner, new XlGuestController(_runner, FakeXl(running: true)), FakeXenstoreRead("exit 1"), time);

        var check = probe.WaitAsync("desktop", TimeSpan.FromSeconds(30), CancellationToken.None);
        var advanced = TimeSpan.Zero;
        while (!check.IsCompleted && advanced < TimeSpan.FromMinutes(5))
        {
            await Task.Delay(30);
            time.Advance(XenstoreHealthProbe.PollInterval);
            advanced += XenstoreHealthProbe.PollInterval;
        }

        var result = await check.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.False(result.Healthy);
        Assert.Contains("no healthy signal within 30 s", result.Reason, StringComparison.Ordinal);
        Assert.InRange(advanced, TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(40));
    }
}
