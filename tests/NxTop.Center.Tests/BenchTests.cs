using NxTop.Center.Cli;

namespace NxTop.Center.Tests;

/// <summary><c>nxtop-center-admin bench</c> starts real Center processes (the build beside the tests) and writes the table.</summary>
public sealed class BenchTests : IDisposable
{
    private readonly string work = TempDirectory.Create("nxtop-bench-");

    public void Dispose() => TempDirectory.Delete(work);

    private static string CenterDll => Path.Combine(AppContext.BaseDirectory, "nxtop-center.dll");

    [Fact]
    public async Task Bench_starts_a_center_per_fleet_size_and_writes_a_markdown_table()
    {
        var output = Path.Combine(work, "bench", "center.md");
        using var log = new StringWriter();
        var exit = await AdminCli.BenchAsync(
            ["--devices", "3,5", "--interval", "1", "--duration", "2", "--out", output, "--center-dll", CenterDll, "--no-pin"], log);

        Assert.True(exit == 0, log.ToString());
        var markdown = await File.ReadAllTextAsync(output);
        Assert.Contains("| devices | check-in p50 / p99, steady | first check-in p50 / p99 | report p50 / p99 | errors | Center CPU (one core) |", markdown, StringComparison.Ordinal);
        var rows = markdown.Split('\n').Where(l => l.StartsWith("| 3 |", StringComparison.Ordinal) || l.StartsWith("| 5 |", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, rows.Count);
        Assert.All(rows, row =>
        {
            var cells = row.Split('|', StringSplitOptions.TrimEntries);
            Assert.Equal("0", cells[5]);
            Assert.EndsWith("%", cells[6], StringComparison.Ordinal);
            Assert.Matches(@"^\d+\.\d ms / \d+\.\d ms$", cells[3]);
        });
        Assert.Contains("downloads cut off half way: 5; finished with a Range resume (206): 5", markdown, StringComparison.Ordinal);
        Assert.Contains("not pinned", markdown, StringComparison.Ordinal);

        // Each run had its own Center, on its own temporary data directory, and cleaned up after itself.
        Assert.Equal(2, System.Text.RegularExpressions.Regex.Count(log.ToString(), "Center pid"));
        var dataDirectories = System.Text.RegularExpressions.Regex.Matches(log.ToString(), @"data in (\S+)").Select(m => m.Groups[1].Value).ToList();
        Assert.Equal(2, dataDirectories.Distinct(StringComparer.Ordinal).Count());
        Assert.All(dataDirectories, d => Assert.False(Directory.Exists(d), d));
    }

    [Fact]
    public async Task A_missing_center_or_bad_arguments_is_a_usage_error()
    {
        using var log = new StringWriter();
        Assert.Equal(AdminCli.Usage, await AdminCli.BenchAsync(["--devices", "2", "--center-dll", Path.Combine(work, "none.dll"), "--no-pin"], log));
        Assert.Contains("no Center at", log.ToString(), StringComparison.Ordinal);
        Assert.Equal(AdminCli.Usage, await AdminCli.BenchAsync(["--devices", "0"], log));
        Assert.Equal(AdminCli.Usage, await AdminCli.BenchAsync(["--devices", "2", "--bogus"], log));
    }

    [Fact]
    public void Any_failed_call_makes_the_bench_fail()
    {
        static LatencySummary Ok(string name) => new(name, 10, 0, 1, 2, 3);
        var clean = new SimulationResult(10, TimeSpan.FromSeconds(60), TimeSpan.FromSeconds(180), Ok("enroll"), Ok("first"), Ok("steady"), Ok("report"), Ok("download"), 5.0,
            new Dictionary<string, int>());
        Assert.Equal(0, CenterBench.Errors(clean));
        var failed = clean with { Report = Ok("report") with { Errors = 2 } };
        Assert.Equal(2, CenterBench.Errors(failed));
        var markdown = CenterBench.Markdown([new BenchRun(failed, "pinned to core 0 with taskset")], DateTimeOffset.UnixEpoch, 2, "0.1 0.2 0.3", TimeSpan.FromSeconds(200));
        Assert.Contains("| 10 | 1.0 ms / 2.0 ms | 1.0 ms / 2.0 ms | 1.0 ms / 2.0 ms | 2 | 5.0 % |", markdown, StringComparison.Ordinal);
    }
}
