using System.Text.RegularExpressions;

namespace NxTop.Build.Rootfs;

/// <summary>The two Debian archives the dom0 root is built from.</summary>
public sealed record Mirrors(string Main, string Security);

/// <summary>
/// Resolves <c>"host"</c> mirrors to the URIs this machine's apt already uses (deb822 <c>.sources</c> files and the
/// one-line <c>sources.list</c> format), so a lab with its own mirror or proxy needs no spec change.
/// </summary>
public static partial class AptSources
{
    public static Mirrors Resolve(string mirror, string securityMirror, string suite, string aptDir = "/etc/apt")
    {
        var entries = mirror == "host" || securityMirror == "host" ? Read(aptDir) : [];
        string Pick(string configured, string wantedSuite, string field)
        {
            if (configured != "host")
            {
                return configured.TrimEnd('/');
            }

            var hit = entries.FirstOrDefault(e => e.Suites.Contains(wantedSuite));
            return hit?.Uri.TrimEnd('/') ?? throw new NxTopBuildException(
                $"appliance spec: $.debian.{field} is \"host\", but no apt source on this machine serves suite '{wantedSuite}' "
                + $"(read {aptDir}/sources.list and {aptDir}/sources.list.d/). Set $.debian.{field} to a Debian mirror URL.");
        }

        return new Mirrors(Pick(mirror, suite, "mirror"), Pick(securityMirror, suite + "-security", "securityMirror"));
    }

    internal sealed record Entry(string Uri, IReadOnlyList<string> Suites);

    internal static List<Entry> Read(string aptDir)
    {
        var result = new List<Entry>();
        var list = Path.Combine(aptDir, "sources.list");
        if (File.Exists(list))
        {
            result.AddRange(ParseOneLine(File.ReadAllText(list)));
        }

        var dir = Path.Combine(aptDir, "sources.list.d");
        if (Directory.Exists(dir))
        {
            foreach (var f in Directory.GetFiles(dir).Order(StringComparer.Ordinal))
            {
                if (f.EndsWith(".sources", StringComparison.Ordinal))
                {
                    result.AddRange(ParseDeb822(File.ReadAllText(f)));
                }
                else if (f.EndsWith(".list", StringComparison.Ordinal))
                {
                    result.AddRange(ParseOneLine(File.ReadAllText(f)));
                }
            }
        }

        return result;
    }

    internal static IEnumerable<Entry> ParseOneLine(string text)
    {
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.Split('#')[0].Trim();
            var m = OneLineRe().Match(line);
            if (m.Success)
            {
                yield return new Entry(m.Groups["uri"].Value, [m.Groups["suite"].Value]);
            }
        }
    }

    internal static IEnumerable<Entry> ParseDeb822(string text)
    {
        foreach (var stanza in Regex.Split(text.Replace("\r", "", StringComparison.Ordinal), @"\n\s*\n"))
        {
            var fields = stanza.Split('\n')
                .Where(l => !l.TrimStart().StartsWith('#') && l.Contains(':', StringComparison.Ordinal))
                .Select(l => l.Split(':', 2))
                .ToDictionary(p => p[0].Trim().ToLowerInvariant(), p => p[1].Trim(), StringComparer.Ordinal);
            if (!fields.TryGetValue("types", out var types) || !types.Split(' ').Contains("deb")
                || (fields.TryGetValue("enabled", out var en) && en == "no")
                || !fields.TryGetValue("uris", out var uris) || !fields.TryGetValue("suites", out var suites))
            {
                continue;
            }

            var suiteList = suites.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            foreach (var uri in uris.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            {
                yield return new Entry(uri, suiteList);
            }
        }
    }

    [GeneratedRegex(@"^deb\s+(\[[^\]]*\]\s+)?(?<uri>\S+)\s+(?<suite>\S+)")]
    private static partial Regex OneLineRe();
}
