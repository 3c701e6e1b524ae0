using System.Buffers;

namespace NxTop.Qemu;

/// <summary>POSIX shell quoting for commands sent over SSH (the same rule as Python's <c>shlex.quote</c>).</summary>
public static class ShellQuote
{
    private static readonly SearchValues<char> Safe =
        SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789@%+=:,./_-");

    /// <summary>
    /// One shell word that stands for exactly <paramref name="value"/>: left bare when it holds only safe
    /// characters, otherwise single-quoted with each <c>'</c> written as <c>'\''</c>.
    /// </summary>
    public static string Quote(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (value.Length == 0)
        {
            return "''";
        }

        if (!value.AsSpan().ContainsAnyExcept(Safe))
        {
            return value;
        }

        return "'" + value.Replace("'", @"'\''", StringComparison.Ordinal) + "'";
    }

    /// <summary>The words quoted and joined with spaces: <c>Join(["ls", "-l", path])</c>.</summary>
    public static string Join(IEnumerable<string> words)
    {
        ArgumentNullException.ThrowIfNull(words);
        return string.Join(' ', words.Select(Quote));
    }

    /// <inheritdoc cref="Join(IEnumerable{string})"/>
    public static string Join(params string[] words) => Join((IEnumerable<string>)words);
}
