using System.Text;

namespace NxTop.Qemu;

/// <summary>What a remote command did.</summary>
/// <param name="Command">The command line as sent to the remote shell.</param>
/// <param name="ExitStatus">The exit status, or -1 when the command was killed by a signal.</param>
/// <param name="Stdout">Standard output.</param>
/// <param name="Stderr">Standard error.</param>
/// <param name="ExitSignal">The signal that killed the command, if one did.</param>
public sealed record CommandResult(string Command, int ExitStatus, string Stdout, string Stderr, string? ExitSignal = null)
{
    /// <summary>Whether the command exited with status 0.</summary>
    public bool Succeeded => ExitStatus == 0 && ExitSignal is null;
}

/// <summary>A remote command exited non-zero. Carries everything needed to see why.</summary>
public sealed class RemoteCommandException : Exception
{
    private const int MaxShownChars = 8000;

    /// <summary>Creates the exception from the command's result.</summary>
    public RemoteCommandException(CommandResult result)
        : base(Render(result ?? throw new ArgumentNullException(nameof(result))))
    {
        Result = result;
    }

    /// <summary>The full result.</summary>
    public CommandResult Result { get; }

    /// <summary>The command as sent.</summary>
    public string Command => Result.Command;

    /// <summary>The exit status (-1 when killed by a signal).</summary>
    public int ExitStatus => Result.ExitStatus;

    /// <summary>Standard output.</summary>
    public string Stdout => Result.Stdout;

    /// <summary>Standard error.</summary>
    public string Stderr => Result.Stderr;

    private static string Render(CommandResult r)
    {
        var sb = new StringBuilder();
        sb.Append("Remote command failed with exit status ").Append(r.ExitStatus);
        if (r.ExitSignal is not null)
        {
            sb.Append(" (signal ").Append(r.ExitSignal).Append(')');
        }

        sb.Append(": ").AppendLine(r.Command);
        sb.AppendLine("--- stdout ---").AppendLine(Shorten(r.Stdout));
        sb.AppendLine("--- stderr ---").Append(Shorten(r.Stderr));
        return sb.ToString();
    }

    private static string Shorten(string text) =>
        text.Length <= MaxShownChars ? text.TrimEnd() : "[...]" + text[^MaxShownChars..].TrimEnd();
}

/// <summary>SSH did not become usable before the deadline, the machine died first, or the host key was wrong.</summary>
public sealed class SshUnreachableException : TimeoutException
{
    /// <summary>Creates the exception.</summary>
    public SshUnreachableException(string message, string? lastError, int attempts, Exception? innerException = null)
        : base(message, innerException)
    {
        LastError = lastError;
        Attempts = attempts;
    }

    /// <summary>The error of the last connection attempt, if any.</summary>
    public string? LastError { get; }

    /// <summary>How many connection attempts were made.</summary>
    public int Attempts { get; }
}
