using System.Globalization;
using System.Text;
using System.Text.Json;
using NxTop.Build.Spec;

namespace NxTop.Build.Manifest;

/// <summary>One measured boot: QEMU start to SSH ready, as the VM tests record it in artifacts/vm-logs/*.timing.json.</summary>
public sealed record BootTimingRecord(string Scenario, string? Accel, double? SshReadySeconds, string? Error)
{
    /// <summary>QEMU start until the tests first saw the agent healthy.</summary>
    public double? AgentHealthySeconds { get; init; }

    /// <summary><c>xl create</c> of the PV smoke guest in dom0 until its marker.</summary>
    public double? GuestBootSeconds { get; init; }
}

/// <summary>Another number a VM test measured (artifacts/vm-logs/*.measures.json): the agent's RSS, a rollback's time, ...</summary>
public sealed record MeasureRecord(string Name, string Value, string Aim);

/// <summary>The Bench target's table: build times, sizes and boot times, with the aims next to them.</summary>
public static class BenchReport
{
    /// <summary>The file (in the artifacts root) where a build records the seconds each format's writer took.</summary>
    public const string FormatTimingsName = "last-build-format-seconds.json";

    public static IReadOnlyDictionary<string, double> ReadFormatTimings(string artifactsRoot)
    {
        var path = Path.Combine(artifactsRoot, FormatTimingsName);
        return File.Exists(path)
            ? JsonSerializer.Deserialize<Dictionary<string, double>>(File.ReadAllText(path)) ?? []
            : new Dictionary<string, double>();
    }

    /// <summary>The scenario whose timing is an install (to power-off), not a boot to SSH.</summary>
    public const string InstallScenario = "Install";

    private static readonly JsonSerializerOptions WebJson = new(JsonSerializerDefaults.Web);

    public static string Render(BuildManifest m, long isoBytes, double coldSeconds, double warmSeconds, IReadOnlyList<BootTimingRecord> boots, DateTimeOffset when,
        IReadOnlyDictionary<string, double>? formatSeconds = null, IReadOnlyList<MeasureRecord>? measures = null)
    {
        static string MiB(long b) => (b / 1048576.0).ToString("0.0", CultureInfo.InvariantCulture) + " MiB";
        static string S(double s) => s.ToString("0.0", CultureInfo.InvariantCulture) + " s";
        var sb = new StringBuilder();
        sb.AppendLine(CultureInfo.InvariantCulture, $"# NxTop bench: {m.Name}-{m.Version} (profile {m.Profile}), {when:yyyy-MM-dd HH:mm} UTC");
        sb.AppendLine();
        sb.AppendLine("| measure | value | aim |");
        sb.AppendLine("|---|---|---|");
        sb.AppendLine(CultureInfo.InvariantCulture, $"| cold build (empty cache: mmdebstrap, squashfs, ISO) | {S(coldSeconds)} | |");
        sb.AppendLine(CultureInfo.InvariantCulture, $"| warm rebuild after an agent-only change (agent publish + image) | {S(warmSeconds)} | ≤ 60 s |");
        sb.AppendLine(CultureInfo.InvariantCulture, $"| ISO size | {MiB(isoBytes)} | ≤ 160 MB |");
        sb.AppendLine(CultureInfo.InvariantCulture, $"| base squashfs (Debian dom0) | {MiB(m.BaseSquashfsBytes)} | |");
        sb.AppendLine(CultureInfo.InvariantCulture, $"| top squashfs (agent + configs) | {MiB(m.TopSquashfsBytes)} | |");
        sb.AppendLine(CultureInfo.InvariantCulture, $"| rootfs unpacked (without /boot) | {MiB(m.RootfsBytes)} | |");
        var pxe = m.Artifacts.Where(a => a.File.StartsWith("pxe/", StringComparison.Ordinal)).ToList();
        if (pxe.Count > 0)
        {
            var root = pxe.FirstOrDefault(a => a.File == "pxe/root.iso");
            sb.AppendLine(CultureInfo.InvariantCulture, $"| PXE tree ({pxe.Count} files; root.iso {MiB(root?.Size ?? 0)}) | {MiB(pxe.Sum(a => a.Size))} | |");
        }

        foreach (var name in new[] { m.Disk, m.DiskQcow2 }.OfType<string>())
        {
            var a = m.Artifacts.FirstOrDefault(x => x.File == name);
            if (a is not null)
            {
                sb.AppendLine(CultureInfo.InvariantCulture, $"| disk image {name} ({(name.EndsWith(".img", StringComparison.Ordinal) ? "raw, sparse: its virtual size" : "qcow2: its file size")}) | {MiB(a.Size)} | |");
            }
        }

        foreach (var (format, seconds) in (formatSeconds ?? new Dictionary<string, double>()).OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            sb.AppendLine(CultureInfo.InvariantCulture, $"| build time of the {format} format on top of the shared rootfs | {S(seconds)} | |");
        }

        foreach (var b in boots)
        {
            var value = b.SshReadySeconds is { } s ? S(s) : $"failed: {b.Error}";
            var row = b.Scenario == InstallScenario
                ? $"| install from the ISO to an empty disk: QEMU start → written, verified, powered off ({b.Accel ?? "?"}) | {value} | |"
                : $"| boot {b.Scenario}: QEMU start → SSH ready ({b.Accel ?? "?"}){Milestones(b)} | {value} | ≤ 90 s |";
            sb.AppendLine(row);
        }

        foreach (var measure in measures ?? [])
        {
            sb.AppendLine(CultureInfo.InvariantCulture, $"| {measure.Name} | {measure.Value} | {(measure.Aim.Length == 0 ? "" : measure.Aim + " ")}|");
        }

        return sb.ToString();
    }

    private static string Milestones(BootTimingRecord b)
    {
        var parts = new List<string>();
        if (b.AgentHealthySeconds is { } agent)
        {
            parts.Add(string.Create(CultureInfo.InvariantCulture, $"agent healthy at {agent:0.0} s"));
        }

        if (b.GuestBootSeconds is { } guest)
        {
            parts.Add(string.Create(CultureInfo.InvariantCulture, $"PV guest up {guest:0.0} s after xl create"));
        }

        return parts.Count == 0 ? "" : "; " + string.Join(", ", parts);
    }

    public static IReadOnlyList<BootTimingRecord> ReadBootTimings(string vmLogsDir) =>
        !Directory.Exists(vmLogsDir)
            ? []
            : Directory.GetFiles(vmLogsDir, "*.timing.json").Order(StringComparer.Ordinal)
                .Select(f => JsonSerializer.Deserialize<BootTimingRecord>(File.ReadAllText(f), WebJson)!)
                .ToList();

    /// <summary>Every scenario's measures, scenario by scenario, in the order each test recorded them.</summary>
    public static IReadOnlyList<MeasureRecord> ReadMeasures(string vmLogsDir) =>
        !Directory.Exists(vmLogsDir)
            ? []
            : Directory.GetFiles(vmLogsDir, "*.measures.json").Order(StringComparer.Ordinal)
                .SelectMany(f => JsonSerializer.Deserialize<List<MeasureRecord>>(File.ReadAllText(f), WebJson) ?? [])
                .ToList();

    public static BuildManifest ReadManifest(string imageDir) =>
        JsonSerializer.Deserialize<BuildManifest>(File.ReadAllText(Path.Combine(imageDir, BuildManifest.FileName)), SpecLoader.JsonOptions)
        ?? throw new NxTopBuildException($"{imageDir}/{BuildManifest.FileName} is empty.");
}
