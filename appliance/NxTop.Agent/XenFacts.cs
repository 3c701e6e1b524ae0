using System.Globalization;

namespace NxTop.Agent;

/// <summary>What <c>xl info</c> says about the hypervisor; memory is in MiB as xl reports it.</summary>
internal sealed record XenFacts(
    string XenVersion,
    int XenMajor,
    int XenMinor,
    long TotalMemoryMiB,
    long FreeMemoryMiB,
    int NrCpus,
    string XenCommandline,
    string VirtCaps,
    string XenCaps,
    DateTimeOffset ProbedAt);

/// <summary><c>xl info</c> output that lacks a field or holds one that does not parse.</summary>
internal sealed class XlInfoFormatException(string message) : FormatException(message);

/// <summary>Parses the <c>key : value</c> lines that <c>xl info</c> prints.</summary>
internal static class XlInfo
{
    /// <summary>
    /// Splits each line at its first colon: keys never hold one, but values do
    /// (<c>dom0_mem=4096M,max:4096M</c> in xen_commandline, the words of hw_caps).
    /// Lines without a colon are ignored; a repeated key keeps its last value.
    /// </summary>
    public static IReadOnlyDictionary<string, string> ParseFields(string output)
    {
        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var rawLine in output.Split('\n'))
        {
            var line = rawLine.TrimEnd('\r');
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0)
            {
                continue;
            }

            var key = line[..colon].Trim();
            if (key.Length == 0 || key.Contains(' ', StringComparison.Ordinal))
            {
                continue;
            }

            fields[key] = line[(colon + 1)..].Trim();
        }

        return fields;
    }

    public static XenFacts ParseFacts(string output, DateTimeOffset probedAt)
    {
        var fields = ParseFields(output);
        var version = Required(fields, "xen_version");
        var (major, minor) = ParseVersion(version);
        return new XenFacts(
            XenVersion: version,
            XenMajor: major,
            XenMinor: minor,
            TotalMemoryMiB: ParseNumber(fields, "total_memory"),
            FreeMemoryMiB: ParseNumber(fields, "free_memory"),
            NrCpus: checked((int)ParseNumber(fields, "nr_cpus")),
            XenCommandline: fields.GetValueOrDefault("xen_commandline", ""),
            VirtCaps: fields.GetValueOrDefault("virt_caps", ""),
            XenCaps: fields.GetValueOrDefault("xen_caps", ""),
            ProbedAt: probedAt);
    }

    /// <summary>"4.17.5-pre" gives (4, 17); the extra part after the minor number is kept only in the version string.</summary>
    public static (int Major, int Minor) ParseVersion(string version)
    {
        var parts = version.Split('.');
        if (parts.Length >= 2
            && int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var major)
            && int.TryParse(LeadingDigits(parts[1]), NumberStyles.None, CultureInfo.InvariantCulture, out var minor))
        {
            return (major, minor);
        }

        throw new XlInfoFormatException($"xl info: xen_version '{version}' is not MAJOR.MINOR[...]");
    }

    private static string LeadingDigits(string text)
    {
        var end = 0;
        while (end < text.Length && char.IsAsciiDigit(text[end]))
        {
            end++;
        }

        return text[..end];
    }

    private static string Required(IReadOnlyDictionary<string, string> fields, string key) =>
        fields.TryGetValue(key, out var value) && value.Length > 0
            ? value
            : throw new XlInfoFormatException($"xl info: the output has no '{key}' field");

    private static long ParseNumber(IReadOnlyDictionary<string, string> fields, string key)
    {
        var value = Required(fields, key);
        return long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var number)
            ? number
            : throw new XlInfoFormatException($"xl info: {key} '{value}' is not a whole number");
    }
}
