using System.Globalization;
using System.Text;

namespace NxTop.Build.Manifest;

/// <summary>One file that differs between two trees, and where.</summary>
/// <param name="File">The path relative to both roots.</param>
/// <param name="Offset">The first differing byte; null when the file is on one side only.</param>
/// <param name="Detail">What differs, in words.</param>
public sealed record FileDifference(string File, long? Offset, string Detail);

/// <summary>The outcome of comparing two build outputs byte for byte.</summary>
public sealed record TreeComparison(int FilesCompared, IReadOnlyList<FileDifference> Differences)
{
    public bool Identical => Differences.Count == 0;

    /// <summary>The first differing file in path order.</summary>
    public FileDifference? FirstDifference => Differences.Count > 0 ? Differences[0] : null;

    /// <summary>
    /// Compares every file under <paramref name="a"/> and <paramref name="b"/> (sorted by path). Files that are
    /// meant to differ between two builds are not skipped: a private key or a timestamp that differs is a finding.
    /// </summary>
    public static TreeComparison Compare(string a, string b)
    {
        var left = Files(a);
        var right = Files(b);
        var differences = new List<FileDifference>();
        var compared = 0;
        foreach (var file in left.Union(right, StringComparer.Ordinal).Order(StringComparer.Ordinal))
        {
            if (!left.Contains(file) || !right.Contains(file))
            {
                differences.Add(new(file, null, left.Contains(file) ? "only in the first tree" : "only in the second tree"));
                continue;
            }

            compared++;
            if (FirstDifferingByte(Path.Combine(a, file), Path.Combine(b, file)) is { } offset)
            {
                var sizes = (new FileInfo(Path.Combine(a, file)).Length, new FileInfo(Path.Combine(b, file)).Length);
                differences.Add(new(file, offset, sizes.Item1 == sizes.Item2
                    ? $"differs from byte {offset} (both {sizes.Item1} bytes)"
                    : $"differs from byte {offset} ({sizes.Item1} vs {sizes.Item2} bytes)"));
            }
        }

        return new TreeComparison(compared, differences);
    }

    /// <summary>The offset of the first byte that differs, or null when the files are identical.</summary>
    public static long? FirstDifferingByte(string a, string b)
    {
        using var x = File.OpenRead(a);
        using var y = File.OpenRead(b);
        var bx = new byte[1 << 20];
        var by = new byte[1 << 20];
        long offset = 0;
        while (true)
        {
            var nx = x.ReadAtLeast(bx, bx.Length, throwOnEndOfStream: false);
            var ny = y.ReadAtLeast(by, by.Length, throwOnEndOfStream: false);
            var n = Math.Min(nx, ny);
            var i = bx.AsSpan(0, n).CommonPrefixLength(by.AsSpan(0, n));
            if (i < n)
            {
                return offset + i;
            }

            if (nx != ny)
            {
                return offset + n;
            }

            if (nx == 0)
            {
                return null;
            }

            offset += n;
        }
    }

    public string Report(string a, string b)
    {
        var sb = new StringBuilder();
        if (Identical)
        {
            sb.Append(CultureInfo.InvariantCulture, $"Reproducible: {FilesCompared} files are byte-identical in {a} and {b}.");
            return sb.ToString();
        }

        sb.AppendLine(CultureInfo.InvariantCulture, $"NOT reproducible: {Differences.Count} of {FilesCompared} files differ between {a} and {b}.");
        sb.AppendLine(CultureInfo.InvariantCulture, $"First difference: {FirstDifference!.File}: {FirstDifference.Detail}.");
        foreach (var d in Differences.Skip(1).Take(30))
        {
            sb.AppendLine(CultureInfo.InvariantCulture, $"  also {d.File}: {d.Detail}");
        }

        return sb.ToString().TrimEnd();
    }

    private static HashSet<string> Files(string root)
    {
        if (!Directory.Exists(root))
        {
            throw new NxTopBuildException($"{root} does not exist; nothing to compare.");
        }

        return Directory.GetFiles(root, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(root, f))
            .ToHashSet(StringComparer.Ordinal);
    }
}
