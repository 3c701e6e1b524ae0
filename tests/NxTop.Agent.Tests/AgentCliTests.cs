namespace NxTop.Agent.Tests;

[Collection(ScriptTests.Name)]
public sealed class AgentCliTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    private static async Task<(int ExitCode, string Stdout, string Stderr)> Cli(string[] args, CancellationToken cancellationToken = default)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var exitCode = await AgentCli.RunAsync(args, stdout, stderr, TimeProvider.System, cancellationToken);
        return (exitCode, stdout.ToString(), stderr.ToString());
    }

    private string WriteConfig(string json)
    {
        var path = _temp.Combine("agent.json");
        File.WriteAllText(path, json);
        return path;
    }

    [Fact]
    public async Task Version_prints_the_version_that_the_status_reports()
    {
        var (exitCode, stdout, _) = await Cli(["--version"]);

        Assert.Equal(0, exitCode);
        Assert.Equal(AgentVersion.Short + Environment.NewLine, stdout);
        Assert.Matches(@"^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$", AgentVersion.Short);
    }

    [Theory]
    [InlineData("")]
    [InlineData("frobnicate")]
    [InlineData("--version extra")]
    [InlineData("run --verbose")]
    [InlineData("run --config")]
    [InlineData("ctl")]
    [InlineData("ctl restart")]
    [InlineData("ctl status --socket")]
    [InlineData("ctl status --yaml")]
    public async Task A_bad_command_line_exits_64_with_the_usage(string commandLine)
    {
        var (exitCode, _, stderr) = await Cli(commandLine.Split(' ', StringSplitOptions.RemoveEmptyEntries));

        Assert.Equal(64, exitCode);
        Assert.Contains("usage: nxtop-agent", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_with_a_bad_config_exits_non_zero()
    {
        var config = WriteConfig("""{ "centerUrl": "https://c", "pollIntervalSeconds": 1 }""");

        var (exitCode, _, _) = await Cli(["run", "--config", config]);

        Assert.Equal(1, exitCode);
    }

    [Fact]
    public async Task Run_with_a_missing_config_exits_non_zero()
    {
        var (exitCode, _, _) = await Cli(["run", $"--config={_temp.Combine("missing.json")}"]);

        Assert.Equal(1, exitCode);
    }

    [Fact]
    public async Task Run_serves_until_stopped_then_exits_zero()
    {
        var socket = _temp.Combine("run", "agent.sock");
        var config = WriteConfig($$"""
            {
              "centerUrl": "https://center.example.net",
              "pollIntervalSeconds": 300,
              "socketPath": "{{socket}}",
              "stateDirectory": "{{_temp.Combine("state")}}",
              "xlPath": "{{_temp.WriteFakeXl()}}"
            }
            """);
        using var stop = new CancellationTokenSource();

        var run = Cli(["run", "--config", config], stop.Token);
        var started = TimeProvider.System.GetTimestamp();
        (int ExitCode, string Stdout, string Stderr) status;
        do
        {
            await Task.Delay(50);
            status = await Cli(["ctl", "status", "--socket", socket, "--json"]);
        }
        while (status.ExitCode == 2 && !run.IsCompleted && TimeProvider.System.GetElapsedTime(started) < TimeSpan.FromSeconds(15));

        Assert.Equal(0, status.ExitCode);
        Assert.Contains("\"centerUrl\":\"https://center.example.net\"", status.Stdout, StringComparison.Ordinal);

        await stop.CancelAsync();
        Assert.Equal(0, (await run).ExitCode);
        Assert.False(File.Exists(socket));
    }
}
