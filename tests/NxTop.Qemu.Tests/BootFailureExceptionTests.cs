namespace NxTop.Qemu.Tests;

public class BootFailureExceptionTests
{
    private static readonly string[] CommandLine =
        ["qemu-system-x86_64", "-name", "IsoUefi", "-bios", "/usr/share/ovmf/OVMF.fd", "-chardev", "file,id=serial0,path=/logs/my log.txt"];

    [Fact]
    public void Message_names_scenario_reason_command_line_and_serial_tail()
    {
        var e = new BootFailureException("IsoUefi", "SSH was not ready within 300 s", CommandLine, "/logs/IsoUefi.log",
            ["Xen 4.17 booting", "(XEN) Panic on CPU 0:"]);

        Assert.Contains("IsoUefi", e.Message, StringComparison.Ordinal);
        Assert.Contains("SSH was not ready within 300 s", e.Message, StringComparison.Ordinal);
        Assert.Contains("qemu-system-x86_64 -name IsoUefi -bios /usr/share/ovmf/OVMF.fd -chardev 'file,id=serial0,path=/logs/my log.txt'", e.Message, StringComparison.Ordinal);
        Assert.Contains("/logs/IsoUefi.log", e.Message, StringComparison.Ordinal);
        Assert.Contains("  | (XEN) Panic on CPU 0:", e.Message, StringComparison.Ordinal);
        Assert.True(
            e.Message.IndexOf("Xen 4.17 booting", StringComparison.Ordinal) < e.Message.IndexOf("Panic", StringComparison.Ordinal),
            "serial lines keep their order");
    }

    [Fact]
    public void Empty_serial_log_is_called_out()
    {
        var e = new BootFailureException("IsoBios", "died", CommandLine, "/logs/IsoBios.log", []);

        Assert.Contains("(empty", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_serial_log_is_said_plainly()
    {
        var e = new BootFailureException("IsoBios", "died", CommandLine, null, []);

        Assert.Contains("Serial log: none configured.", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Properties_and_inner_exception_are_kept()
    {
        var inner = new TimeoutException("late");
        var e = new BootFailureException("S", "why", CommandLine, "/l", ["x"], inner);

        Assert.Same(inner, e.InnerException);
        Assert.Equal("S", e.Scenario);
        Assert.Equal("why", e.Reason);
        Assert.Equal(CommandLine, e.CommandLine);
        Assert.Equal(["x"], e.SerialTail);
        Assert.Equal("/l", e.SerialLogPath);
    }

    [Fact]
    public void Machine_failure_carries_the_last_fifty_serial_lines()
    {
        var dir = Directory.CreateTempSubdirectory("nxtop-bf-");
        try
        {
            var log = Path.Combine(dir.FullName, "serial.log");
            File.WriteAllLines(log, Enumerable.Range(1, 120).Select(i => $"line {i}"));
            var e = new BootFailureException("S", "why", CommandLine, log, SerialLog.Tail(log, BootFailureException.DefaultTailLines));

            Assert.Equal(50, e.SerialTail.Count);
            Assert.Contains("| line 120", e.Message, StringComparison.Ordinal);
            Assert.Contains("| line 71" + Environment.NewLine, e.Message, StringComparison.Ordinal);
            Assert.DoesNotContain("| line 70" + Environment.NewLine, e.Message, StringComparison.Ordinal);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}
