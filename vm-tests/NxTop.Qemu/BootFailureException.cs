using System.Text;

namespace NxTop.Qemu;

/// <summary>
/// A VM did not come up. The message is the whole diagnosis: the scenario, why, the exact QEMU command line,
/// and the end of the serial console.
/// </summary>
public sealed class BootFailureException : Exception
{
    /// <summary>How many serial lines a failure shows by default.</summary>
    public const int DefaultTailLines = 50;

    /// <summary>Creates the exception and renders its message.</summary>
    public BootFailureException(
        string scenario,
        string reason,
        IReadOnlyList<string> commandLine,
        string? serialLogPath,
        IReadOnlyList<string> serialTail,
        Exception? innerException = null)
        : base(Render(scenario, reason, commandLine, serialLogPath, serialTail), innerException)
    {
        Scenario = scenario;
        Reason = reason;
        CommandLine = commandLine;
        SerialLogPath = serialLogPath;
        SerialTail = serialTail;
    }

    /// <summary>The scenario (VM name) that failed.</summary>
    public string Scenario { get; }

    /// <summary>The one-line cause, e.g. a timeout with the last SSH error, or QEMU's exit code and stderr.</summary>
    public string Reason { get; }

    /// <summary>The QEMU argument list, binary first.</summary>
    public IReadOnlyList<string> CommandLine { get; }

    /// <summary>The serial log file, when there was one.</summary>
    public string? SerialLogPath { get; }

    /// <summary>The last lines of the serial log at the time of failure.</summary>
    public IReadOnlyList<string> SerialTail { get; }

    private static string Render(
        string scenario, string reason, IReadOnlyList<string> commandLine, string? serialLogPath, IReadOnlyList<string> serialTail)
    {
        var sb = new StringBuilder();
        sb.Append("Boot of scenario '").Append(scenario).Append("' failed: ").AppendLine(reason);
        sb.AppendLine("QEMU command line:");
        sb.Append("  ").AppendLine(QemuCommandLine.Display(commandLine));
        if (serialLogPath is null)
        {
            sb.AppendLine("Serial log: none configured.");
            return sb.ToString();
        }

        sb.Append("Serial log ").Append(serialLogPath).Append(" (last ").Append(serialTail.Count).AppendLine(" lines):");
        if (serialTail.Count == 0)
        {
            sb.AppendLine("  (empty: the firmware or boot loader wrote nothing to COM1)");
        }

        foreach (var line in serialTail)
        {
            sb.Append("  | ").AppendLine(line);
        }

        return sb.ToString();
    }
}
