using System.Globalization;

namespace NxTop.Qemu;

/// <summary>One row of <c>xl list</c>.</summary>
public sealed record XlDomain(string Name, int Id, int MemMiB, int Vcpus, string State, double TimeSeconds);

/// <summary>
/// Reads the text that Xen's <c>xl</c> prints. Written here, apart from the agent's own parser, so the VM tests
/// check the appliance with an independent reading.
/// </summary>
public static class XlOutput
{
    /// <summary>
    /// <c>xl info</c>: one <c>key : value</c> per line. The value is everything after the first colon, trimmed
    /// (values such as <c>xen_commandline</c> may contain colons).
    /// </summary>
    public static IReadOnlyDictionary<string, string> ParseInfo(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var info = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in text.Split('\n'))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0)
            {
                continue;
            }

            var key = line[..colon].Trim();
            if (key.Length > 0 && !key.Contains(' ', StringComparison.Ordinal))
            {
                info[key] = line[(colon + 1)..].Trim();
            }
        }

        return info;
    }

    /// <summary>
    /// <c>xl list</c>: a header, then <c>Name ID Mem VCPUs State Time(s)</c> rows. Columns are read from the right,
    /// so a name with spaces survives.
    /// </summary>
    /// <exception cref="FormatException">A row does not have the six columns.</exception>
    public static IReadOnlyList<XlDomain> ParseList(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var domains = new List<XlDomain>();
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line.StartsWith("Name ", StringComparison.Ordinal))
            {
                continue;
            }

            var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (f.Length < 6)
            {
                throw new FormatException($"Not an xl list row: '{line}'.");
            }

            var n = f.Length;
            try
            {
                domains.Add(new XlDomain(
                    string.Join(' ', f[..(n - 5)]),
                    int.Parse(f[n - 5], CultureInfo.InvariantCulture),
                    int.Parse(f[n - 4], CultureInfo.InvariantCulture),
                    int.Parse(f[n - 3], CultureInfo.InvariantCulture),
                    f[n - 2],
                    double.Parse(f[n - 1], CultureInfo.InvariantCulture)));
            }
            catch (FormatException e)
            {
                throw new FormatException($"Not an xl list row: '{line}'.", e);
            }
        }

        return domains;
    }

    /// <summary>The text with every run of whitespace made one space and the ends trimmed.</summary>
    public static string NormalizeWhitespace(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return string.Join(' ', text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));
    }
}
