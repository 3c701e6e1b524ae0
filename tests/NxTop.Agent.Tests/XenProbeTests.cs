using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace NxTop.Agent.Tests;

[Collection(ScriptTests.Name)]
public sealed class XenProbeTests : IDisposable
{
    private static readonly DateTimeOffset Now = new(2026, 11, 24, 16, 0, 0, TimeSpan.Zero);

    private readonly TempDirectory _temp = new();
    private readonly FakeTimeProvider _time = new(Now);
    private readonly XenProbeState _state = new();

    public void Dispose() => _temp.Dispose();

    private async Task<XenProbeSnapshot> ProbeWith(string xlPath)
    {
        var config = new AgentConfig("https://c", XlPath: xlPath);
        using var service = new XenProbeService(config, new ProcessRunner(TimeProvider.System), _state, _time, NullLogger<XenProbeService>.Instance);
        await service.ProbeAsync(CancellationToken.None);
        return _state.Current;
    }

    [Fact]
    public async Task A_working_xl_records_the_facts()
    {
        var snapshot = await ProbeWith(_temp.WriteFakeXl());

        Assert.Null(snapshot.LastFailure);
        Assert.Equal("4.17.5-pre", snapshot.LastFacts?.XenVersion);
        Assert.Equal(Now, snapshot.LastFacts?.ProbedAt);
    }

    [Fact]
    public async Task A_failing_xl_records_its_exit_code_and_stderr()
    {
        var xl = _temp.WriteScript("xl", "echo 'libxl: error: libxl.c:102: cannot open /dev/xen/privcmd' >&2; exit 3");

        var snapshot = await ProbeWith(xl);

        Assert.Equal($"'{xl} info' exited with code 3: libxl: error: libxl.c:102: cannot open /dev/xen/privcmd", snapshot.LastFailure);
        Assert.Equal(Now, snapshot.LastProbeAt);
        Assert.Null(snapshot.LastFacts);
    }

    [Fact]
    public async Task A_missing_xl_records_that_it_cannot_start()
    {
        var snapshot = await ProbeWith(_temp.Combine("no-such-xl"));

        Assert.StartsWith($"cannot start '{_temp.Combine("no-such-xl")}'", snapshot.LastFailure, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Output_that_is_not_xl_info_is_a_failure()
    {
        var snapshot = await ProbeWith(_temp.WriteScript("xl", "echo 'host : x'"));

        Assert.Equal("xl info: the output has no 'xen_version' field", snapshot.LastFailure);
    }

    [Fact]
    public async Task The_runner_passes_arguments_verbatim_without_a_shell()
    {
        var echo = _temp.WriteScript("args", """printf '[%s]\n' "$@" """);
        var runner = new ProcessRunner(TimeProvider.System);

        var result = await runner.RunCheckedAsync(echo, ["a b", "'q'", "$HOME", "*", ""], TimeSpan.FromSeconds(10), CancellationToken.None);

        Assert.Equal("[a b]\n['q']\n[$HOME]\n[*]\n[]\n", result.StandardOutput);
    }

    [Fact]
    public async Task The_runner_runs_tools_in_the_C_locale()
    {
        var env = _temp.WriteScript("env", "echo \"$LC_ALL\"");

        var result = await new ProcessRunner(TimeProvider.System).RunCheckedAsync(env, [], TimeSpan.FromSeconds(10), CancellationToken.None);

        Assert.Equal("C\n", result.StandardOutput);
    }

    [Fact]
    public async Task The_runner_kills_a_tool_that_hangs()
    {
        var hang = _temp.WriteScript("hang", "exec sleep 30");
        var started = TimeProvider.System.GetTimestamp();

        var ex = await Assert.ThrowsAsync<ProcessFailedException>(() =>
            new ProcessRunner(TimeProvider.System).RunAsync(hang, [], TimeSpan.FromMilliseconds(300), CancellationToken.None));

        Assert.Equal($"'{hang}' did not finish within 0.3 s and was killed", ex.Message);
        Assert.True(TimeProvider.System.GetElapsedTime(started) < TimeSpan.FromSeconds(10));
    }
}
