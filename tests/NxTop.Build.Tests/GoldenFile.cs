using System.Text;

namespace NxTop.Build.Tests;

/// <summary>
/// Compares rendered text with a committed golden file under <c>tests/NxTop.Build.Tests/golden/</c>.
/// To accept an intended change, run <c>NXTOP_UPDATE_GOLDEN=1 dotnet test tests/NxTop.Build.Tests</c>: the tests then
/// rewrite the golden files (and delete stale ones) instead of comparing. Review the result with <c>git diff</c>.
/// </summary>
internal static class GoldenFile
{
    public const string UpdateVariable = "NXTOP_UPDATE_GOLDEN";

    private const int Context = 3;
    private const int Shown = 6;

    public static bool Updating => Environment.GetEnvironmentVariable(UpdateVariable) == "1";

    public static void Check(string goldenPath, string actual)
    {
        var name = Path.GetRelativePath(Repo.Root, goldenPath);
        if (Updating)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(goldenPath)!);
            File.WriteAllText(goldenPath, actual);
            return;
        }

        if (!File.Exists(goldenPath))
        {
            Assert.Fail($"{name} does not exist. {HowToUpdate}");
        }

        if (Diff(File.ReadAllText(goldenPath), actual, name) is { } diff)
        {
            Assert.Fail(diff);
        }
    }

    public static string HowToUpdate => $"If the change is intended, run {UpdateVariable}=1 dotnet test tests/NxTop.Build.Tests and review the git diff.";

    /// <summary>Null when equal; otherwise a unified-style diff of the first differing lines.</summary>
    public static string? Diff(string expected, string actual, string name)
    {
        if (expected == actual)
        {
            return null;
        }

        var e = expected.Split('\n');
        var a = actual.Split('\n');
        var first = 0;
        while (first < e.Length && first < a.Length && e[first] == a[first])
        {
            first++;
        }

        var sb = new StringBuilder();
        sb.Append("The rendered text differs from ").Append(name).Append(" at line ").Append(first + 1).Append(":\n");
        sb.Append("--- ").Append(name).Append(" (golden)\n");
        sb.Append("+++ rendered\n");
        sb.Append("@@ line ").Append(first + 1).Append(" @@\n");
        for (var i = Math.Max(0, first - Context); i < first; i++)
        {
            sb.Append(' ').Append(e[i]).Append('\n');
        }

        // Lines that differ only in invisible characters are shown escaped.
        var escape = first < e.Length && first < a.Length && e[first].Trim() == a[first].Trim();
        AppendSide(sb, '-', e, first, escape);
        AppendSide(sb, '+', a, first, escape);
        sb.Append(HowToUpdate);
        return sb.ToString();
    }

    private static void AppendSide(StringBuilder sb, char sign, string[] lines, int first, bool escape)
    {
        if (first >= lines.Length)
        {
            sb.Append(sign).Append("(end of file)\n");
            return;
        }

        for (var i = first; i < Math.Min(lines.Length, first + Shown); i++)
        {
            var line = escape ? lines[i].Replace("\t", "\\t", StringComparison.Ordinal).Replace("\r", "\\r", StringComparison.Ordinal) + "$" : lines[i];
            sb.Append(sign).Append(line).Append('\n');
        }
    }
}
