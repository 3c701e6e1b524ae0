using System.Text;
using System.Text.RegularExpressions;

namespace NxTop.Qemu;

/// <summary>Reads the end of a serial console log that QEMU may still be writing.</summary>
public static partial class SerialLog
{
    private const int MaxTailBytes = 256 * 1024;

    /// <summary>
    /// The last <paramref name="lines"/> non-blank lines of <paramref name="path"/>, with terminal escape sequences
    /// and control characters removed (OVMF and GRUB paint the console with them). Empty when there is no file yet.
    /// </summary>
    public static IReadOnlyList<string> Tail(string path, int lines)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentOutOfRangeException.ThrowIfNegative(lines);
        if (lines == 0 || !File.Exists(path))
        {
            return [];
        }

        string text;
        using (var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete))
        {
            var start = Math.Max(0, stream.Length - MaxTailBytes);
            stream.Seek(start, SeekOrigin.Begin);
            using var reader = new StreamReader(stream, Encoding.UTF8);
            text = reader.ReadToEnd();
        }

        return Clean(text)
            .Split(['\n', '\r'], StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.TrimEnd())
            .Where(l => l.Length > 0)
            .TakeLast(lines)
            .ToArray();
    }

    /// <summary>The text without ANSI/VT escape sequences and without control characters other than tab and newlines.</summary>
    public static string Clean(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var withoutEscapes = EscapeSequence().Replace(text, string.Empty);
        var sb = new StringBuilder(withoutEscapes.Length);
        foreach (var c in withoutEscapes)
        {
            if (c is '\n' or '\r' or '\t' || !char.IsControl(c))
            {
                sb.Append(c);
            }
        }

        return sb.ToString();
    }

    // CSI sequences (ESC [ params intermediates final), then any other two-character ESC sequence.
    [GeneratedRegex(@"\x1B\[[0-?]*[ -/]*[@-~]|\x1B[@-Z\\-_]")]
    private static partial Regex EscapeSequence();
}
