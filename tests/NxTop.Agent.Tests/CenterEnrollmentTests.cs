using System.Text.Json;

namespace NxTop.Agent.Tests;

/// <summary><c>nxtopctl enroll --center URL --token T</c> and how <c>run</c> applies it over agent.json.</summary>
[Collection(ScriptTests.Name)]
public sealed class CenterEnrollmentTests : IDisposable
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

    private string StateDirectory => _temp.Combine("state");

    private string Socket => _temp.Combine("run", "agent.sock");

    private string WriteConfig()
    {
        var path = _temp.Combine("agent.json");
        File.WriteAllText(path, $$"""
            {
              "centerUrl": "https://center.example.net",
              "enrollmentToken": "baked-token-from-the-spec",
              "pollIntervalSeconds": 300,
              "socketPath": "{{Socket}}",
              "stateDirectory": "{{StateDirectory}}",
              "xlPath": "{{_temp.WriteFakeXl()}}"
            }
            """);
        return path;
    }

    private string CenterFile => Path.Combine(StateDirectory, "state", "center.json");

    private string IdentityFile => Path.Combine(StateDirectory, "state", "identity.json");

    [Fact]
    public async Task Enroll_saves_the_center_and_token_and_forgets_the_old_credential()
    {
        var config = WriteConfig();
        Directory.CreateDirectory(Path.GetDirectoryName(IdentityFile)!);
        File.WriteAllText(IdentityFile, """{"deviceId":"old","credential":"nxd_old","enrolledAt":"2026-01-01T00:00:00+00:00"}""");

        var (exitCode, stdout, stderr) = await Cli(["ctl", "enroll", "--center", "http://10.0.2.2:41234/", "--token", "nxe_one-time", "--config", config]);

        Assert.Equal(0, exitCode);
        Assert.Equal("", stderr);
        Assert.Contains("systemctl restart nxtop-agent", stdout, StringComparison.Ordinal);
        using var saved = JsonDocument.Parse(File.ReadAllText(CenterFile));
        Assert.Equal("http://10.0.2.2:41234/", saved.RootElement.GetProperty("centerUrl").GetString());
        Assert.Equal("nxe_one-time", saved.RootElement.GetProperty("enrollmentToken").GetString());
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(CenterFile));
        Assert.False(File.Exists(IdentityFile));
    }

    [Fact]
    public async Task Run_uses_the_enrolled_center_over_the_configuration_file()
    {
        var config = WriteConfig();
        Assert.Equal(0, (await Cli(["ctl", "enroll", "--center", "http://127.0.0.1:9/", "--token", "nxe_one-time", "--config", config])).ExitCode);
        using var stop = new CancellationTokenSource();

        var run = Cli(["run", "--config", config], stop.Token);
        var started = TimeProvider.System.GetTimestamp();
        (int ExitCode, string Stdout, string Stderr) status;
        do
        {
            await Task.Delay(50);
            status = await Cli(["ctl", "status", "--socket", Socket, "--json"]);
        }
        while (status.ExitCode == 2 && !run.IsCompleted && TimeProvider.System.GetElapsedTime(started) < TimeSpan.FromSeconds(15));

        Assert.Equal(0, status.ExitCode);
        Assert.Contains("\"centerUrl\":\"http://127.0.0.1:9/\"", status.Stdout, StringComparison.Ordinal);
        await stop.CancelAsync();
        Assert.Equal(0, (await run).ExitCode);
    }

    [Theory]
    [InlineData("ftp://center.example.net/", "nxe_token")]
    [InlineData("not a url", "nxe_token")]
    [InlineData("https://center.example.net/", "two words")]
    public async Task A_bad_center_or_token_is_refused_and_nothing_is_written(string center, string token)
    {
        var config = WriteConfig();

        var (exitCode, _, stderr) = await Cli(["ctl", "enroll", "--center", center, "--token", token, "--config", config]);

        Assert.Equal(1, exitCode);
        Assert.StartsWith("nxtop-agent ctl enroll: ", stderr, StringComparison.Ordinal);
        Assert.False(File.Exists(CenterFile));
    }

    [Theory]
    [InlineData("ctl enroll")]
    [InlineData("ctl enroll --center https://c/")]
    [InlineData("ctl enroll --token t")]
    [InlineData("ctl enroll --center https://c/ --token t --json")]
    public async Task A_bad_enroll_command_line_exits_64(string commandLine)
    {
        var (exitCode, _, stderr) = await Cli(commandLine.Split(' '));

        Assert.Equal(64, exitCode);
        Assert.Contains("usage: nxtop-agent", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Apply_leaves_the_configuration_alone_without_an_enrollment()
    {
        var config = new AgentConfig("https://center.example.net", StateDirectory: StateDirectory, EnrollmentToken: "baked-token-from-the-spec");

        Assert.Same(config, CenterEnrollment.Apply(config));
    }

    [Fact]
    public void Apply_refuses_a_damaged_enrollment_file_naming_it()
    {
        var config = new AgentConfig("https://center.example.net", StateDirectory: StateDirectory);
        Directory.CreateDirectory(Path.GetDirectoryName(CenterFile)!);
        File.WriteAllText(CenterFile, """{"centerUrl":"https://c/","enrollmentToken":"t","setAt":"2026-01-01T00:00:00+00:00","extra":1}""");

        var ex = Assert.Throws<AgentConfigException>(() => CenterEnrollment.Apply(config));

        Assert.Equal(CenterFile, ex.ConfigPath);
    }

    [Fact]
    public async Task Run_with_a_damaged_enrollment_file_exits_non_zero()
    {
        var config = WriteConfig();
        Directory.CreateDirectory(Path.GetDirectoryName(CenterFile)!);
        File.WriteAllText(CenterFile, "{");

        Assert.Equal(1, (await Cli(["run", "--config", config])).ExitCode);
    }
}
