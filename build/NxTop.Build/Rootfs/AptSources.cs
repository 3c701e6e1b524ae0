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

            // Debian archives carry "main"; a third-party repo that also names the suite (e.g. "bookworm stable") does not.
            var hit = entries.FirstOrDefault(e => e.Suites.Contains(wantedSuite) && e.Components.Contains("main"));
            return hit?.Uri.TrimEnd('/') ?? throw new NxTopBuildException(
                $"appliance spec: $.debian.{field} is \"host\", but no apt source on this machine serves suite '{wantedSuite}' "
                + $"(read {aptDir}/sources.list and {aptDir}/sources.list.d/). Set $.debian.{field} to a Debian mirror URL.");
        }

        return new Mirrors(Pick(mirror, suite, "mirror"), Pick(securityMirror, suite + "-security", "securityMirror"));
    }

    internal sealed record Entry(string Uri, IReadOnlyList<string> Suites, IReadOnlyList<string> Components);

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
                yield return new Entry(m.Groups["uri"].Value, [m.Groups["suite"].Value], m.Groups["components"].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries));
            }
        }
    }

    internal static IEnumerable<Entry> ParseDeb822(string text)
    {
        foreach (var stanza in Regex.Split(text.Replace("\r", "", StringComparison.Ordinal), @"\n\s*\n"))
        {
            // Field lines start in column 0; continuation lines (e.g. an inline Signed-By key) start with space.
            var fields = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var l in stanza.Split('\n').Where(l => l.Length > 0 && !char.IsWhiteSpace(l[0]) && !l.StartsWith('#') && l.Contains(':', StringComparison.Ordinal)))
            {
                var p = l.Split(':', 2);
                fields[p[0].Trim().ToLowerInvariant()] = p[1].Trim();
            }

            if (!fields.TryGetValue("types", out var types) || !types.Split(' ').Contains("deb")
                || (fields.TryGetValue("enabled", out var en) && en == "no")
                || !fields.TryGetValue("uris", out var uris) || !fields.TryGetValue("suites", out var suites))
            {
                continue;
            }

            var suiteList = suites.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            var componentList = (fields.TryGetValue("components", out var c) ? c : "").Split(' ', StringSplitOptions.RemoveEmptyEntries);
            foreach (var uri in uris.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            {
                yield return new Entry(uri, suiteList, componentList);
            }
        }
    }

    [GeneratedRegex(@"^deb\s+(\[[^\]]*\]\s+)?(?<uri>\S+)\s+(?<suite>\S+)(?<components>.*)$")]
    private static partial Regex OneLineRe();
}
