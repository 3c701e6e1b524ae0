using System.Diagnostics;
using NxTop.Build.Tools;

namespace NxTop.Build.Tests;

public class ProcessRunnerTests
{
    private readonly ProcessRunner _runner = new();

    [Fact]
    public async Task Arguments_with_spaces_quotes_and_shell_characters_arrive_intact()
    {
        string[] args = ["two words", "it's \"quoted\"", "$HOME `id` ; | *", "", "tab\there"];

        var result = await _runner.RunAsync("printf", ["%s\n", .. args]);

        Assert.Equal(0, result.ExitCode);
        Assert.Equal(string.Concat(args.Select(a => a + "\n")), result.StandardOutput);
        Assert.Equal("", result.StandardError);
        Assert.Equal(["%s\n", .. args], result.Arguments);
    }

    [Fact]
    public async Task A_non_zero_exit_throws_with_stderr_and_the_exit_code()
    {
        var ex = await Assert.ThrowsAsync<ToolException>(() =>
            _runner.RunAsync("sh", ["-c", "echo some output; echo 'mirror unreachable: 503' >&2; exit 3"]));

        Assert.Contains("mirror unreachable: 503", ex.Message, StringComparison.Ordinal);
        Assert.Contains("exit code 3", ex.Message, StringComparison.Ordinal);
        Assert.IsAssignableFrom<NxTopBuildException>(ex); // so nxtop-build prints it as "error: ..." and exits 1
        Assert.Contains("sh -c 'echo some output;", ex.Message, StringComparison.Ordinal);
        Assert.NotNull(ex.Result);
        Assert.Equal(3, ex.Result.ExitCode);
        Assert.Equal("some output\n", ex.Result.StandardOutput);
    }

    [Fact]
    public async Task A_non_zero_exit_with_no_stderr_shows_the_end_of_stdout()
    {
        var ex = await Assert.ThrowsAsync<ToolException>(() => _runner.RunAsync("sh", ["-c", "seq 1 100; exit 1"]));

        Assert.Contains("\n100", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("\n60\n", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_non_zero_exit_is_returned_when_the_caller_checks_it()
    {
        var result = await _runner.RunAsync("sh", ["-c", "exit 7"], new ToolRun { CheckExitCode = false });

        Assert.Equal(7, result.ExitCode);
    }

    [Fact]
    public async Task A_tool_that_runs_too_long_is_killed_and_throws()
    {
        var clock = Stopwatch.StartNew();

        var ex = await Assert.ThrowsAsync<ToolException>(() =>
            _runner.RunAsync("sleep", ["30"], new ToolRun { Timeout = TimeSpan.FromMilliseconds(300) }));

        Assert.Contains("did not finish within", ex.Message, StringComparison.Ordinal);
        Assert.Contains("sleep 30", ex.Message, StringComparison.Ordinal);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"took {clock.Elapsed}");
    }

    [Fact]
    public async Task Cancellation_by_the_caller_is_not_reported_as_a_timeout()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => _runner.RunAsync("sleep", ["30"], cancellationToken: cts.Token));
    }

    [Fact]
    public async Task A_missing_tool_gives_a_clear_tool_exception()
    {
        var ex = await Assert.ThrowsAsync<ToolException>(() => _runner.RunAsync("nxtop-no-such-tool", ["--version"]));

        Assert.Contains("Could not start 'nxtop-no-such-tool'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("--target=CheckHost", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Standard_input_environment_and_working_directory_are_passed_to_the_tool()
    {
        using var dir = new TempDir();
        var lines = new List<string>();

        var result = await _runner.RunAsync(
            "sh",
            ["-c", "pwd; printf '%s\\n' \"$NXTOP_TEST_VALUE\"; cat"],
            new ToolRun
            {
                WorkingDirectory = dir.Path,
                Environment = new Dictionary<string, string> { ["NXTOP_TEST_VALUE"] = "from env" },
                StandardInput = "from stdin\n",
                OnLine = l => { lock (lines) { lines.Add(l); } },
            });

        Assert.Equal($"{dir.Path}\nfrom env\nfrom stdin\n", result.StandardOutput);
        Assert.Equal([dir.Path, "from env", "from stdin"], lines);
    }

    [Theory]
    [InlineData("plain", "plain")]
    [InlineData("/usr/bin/xorriso", "/usr/bin/xorriso")]
    [InlineData("-as=mkisofs,x:y+z@w%v", "-as=mkisofs,x:y+z@w%v")]
    [InlineData("", "''")]
    [InlineData("two words", "'two words'")]
    [InlineData("it's", @"'it'\''s'")]
    [InlineData("$HOME", "'$HOME'")]
    [InlineData("a;b", "'a;b'")]
    [InlineData("*", "'*'")]
    [InlineData("ünï", "'ünï'")]
    public void Quote_leaves_safe_words_alone_and_single_quotes_the_rest(string word, string expected)
    {
        Assert.Equal(expected, ProcessRunner.Quote(word));
    }

    [Theory]
    [InlineData("it's a \"test\"")]
    [InlineData("$(id) `id` ${x} \\ ; | & < > * ? [ ] ~ # !")]
    [InlineData("'''")]
    [InlineData("line\nbreak")]
    public async Task A_posix_shell_reads_a_quoted_word_back_unchanged(string word)
    {
        var result = await _runner.RunAsync("sh", ["-c", "printf '%s' " + ProcessRunner.Quote(word)]);

        Assert.Equal(word, result.StandardOutput.TrimEnd('\n'));
    }

    [Fact]
    public void Render_quotes_each_word()
    {
        Assert.Equal("mksquashfs /tmp/root '/tmp/my image.sqfs' -comp zstd", ProcessRunner.Render("mksquashfs", ["/tmp/root", "/tmp/my image.sqfs", "-comp", "zstd"]));
    }
}
