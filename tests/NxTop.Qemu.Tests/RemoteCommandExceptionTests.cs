namespace NxTop.Qemu.Tests;

public class RemoteCommandExceptionTests
{
    [Fact]
    public void Message_carries_command_status_stdout_and_stderr()
    {
        var e = new RemoteCommandException(new CommandResult("xl info", 2, "partial\n", "xl: cannot connect\n"));

        Assert.Contains("exit status 2", e.Message, StringComparison.Ordinal);
        Assert.Contains("xl info", e.Message, StringComparison.Ordinal);
        Assert.Contains("partial", e.Message, StringComparison.Ordinal);
        Assert.Contains("xl: cannot connect", e.Message, StringComparison.Ordinal);
        Assert.Equal(2, e.ExitStatus);
        Assert.Equal("xl info", e.Command);
        Assert.Equal("partial\n", e.Stdout);
        Assert.Equal("xl: cannot connect\n", e.Stderr);
    }

    [Fact]
    public void A_signal_is_named()
    {
        var e = new RemoteCommandException(new CommandResult("sleep 9", -1, "", "", "KILL"));

        Assert.Contains("signal KILL", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Huge_output_is_cut_to_its_end()
    {
        var e = new RemoteCommandException(new CommandResult("journalctl", 1, new string('x', 100_000) + "THE END", ""));

        Assert.True(e.Message.Length < 20_000);
        Assert.Contains("THE END", e.Message, StringComparison.Ordinal);
        Assert.Equal(100_007, e.Stdout.Length);
    }

    [Theory]
    [InlineData(0, null, true)]
    [InlineData(1, null, false)]
    [InlineData(-1, "TERM", false)]
    public void Succeeded_means_status_zero_and_no_signal(int status, string? signal, bool expected)
    {
        Assert.Equal(expected, new CommandResult("x", status, "", "", signal).Succeeded);
    }
}
