using System.Text.Json;

namespace NxTop.Qemu;

/// <summary>
/// How long one scenario took from QEMU start to a working SSH login, written to
/// <c>artifacts/vm-logs/&lt;scenario&gt;.timing.json</c> for the Bench target.
/// </summary>
/// <param name="Scenario">The scenario name.</param>
/// <param name="Accel">tcg or kvm.</param>
/// <param name="SshReadySeconds">Seconds from QEMU start to SSH ready; null when the boot failed.</param>
/// <param name="Error">Why the boot failed; null when it worked.</param>
public sealed record BootTiming(string Scenario, string Accel, double? SshReadySeconds, string? Error = null)
{
    /// <summary>Seconds from QEMU start until the tests first saw the agent report healthy; null if not (yet) seen.</summary>
    public double? AgentHealthySeconds { get; init; }

    /// <summary>Seconds from <c>xl create</c> of the PV smoke guest in dom0 to its marker on the console; null if no guest ran.</summary>
    public double? GuestBootSeconds { get; init; }

    /// <summary>Writes the timing as JSON (camelCase) to <paramref name="path"/>, replacing it atomically.</summary>
    public void WriteTo(string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        var temp = path + ".tmp";
        File.WriteAllText(temp, JsonSerializer.Serialize(this, ManifestJsonContext.Default.BootTiming));
        File.Move(temp, path, overwrite: true);
    }

    /// <summary>Reads a timing file.</summary>
    public static BootTiming Read(string path) =>
        JsonSerializer.Deserialize(File.ReadAllText(path), ManifestJsonContext.Default.BootTiming)
        ?? throw new JsonException($"{path} holds null.");
}
