using System.Text.Json;

namespace NxTop.Qemu;

/// <summary>One number a VM test measured, with the aim it is held to (empty when there is none).</summary>
public sealed record Measure(string Name, string Value, string Aim);

/// <summary>
/// The numbers a scenario's tests measured beyond its boot time (the agent's RSS, a rollback's duration, ...), in
/// <c>artifacts/vm-logs/&lt;scenario&gt;.measures.json</c>, which the Bench target's table includes. Recording a
/// measure of the same name again replaces it; the file is replaced atomically.
/// </summary>
public static class Measures
{
    public static string PathFor(string vmLogsDirectory, string scenario) => Path.Combine(vmLogsDirectory, scenario + ".measures.json");

    public static IReadOnlyList<Measure> Read(string path) =>
        File.Exists(path)
            ? JsonSerializer.Deserialize(File.ReadAllText(path), ManifestJsonContext.Default.ListMeasure) ?? []
            : [];

    public static void Record(string path, Measure measure)
    {
        ArgumentNullException.ThrowIfNull(measure);
        var all = Read(path).Where(m => m.Name != measure.Name).Append(measure).ToList();
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        var temp = path + ".tmp";
        File.WriteAllText(temp, JsonSerializer.Serialize(all, ManifestJsonContext.Default.ListMeasure));
        File.Move(temp, path, overwrite: true);
    }
}
