using NxTop.Build.Tools;

namespace NxTop.Build.Rootfs;

/// <summary>
/// An mmdebstrap run that is killed (power cut, Ctrl-C, a CI timeout) leaves /proc, /sys and /dev mounted inside its
/// unfinished root. Deleting that folder recursively would walk into the host's /proc, /sys and /dev, so every mount
/// below it is lazily unmounted first, deepest first.
/// </summary>
public static class StaleMounts
{
    /// <summary>The mount points in <paramref name="procMounts"/> (the text of /proc/mounts) at or below <paramref name="path"/>, deepest first.</summary>
    public static IReadOnlyList<string> Below(string procMounts, string path)
    {
        ArgumentNullException.ThrowIfNull(procMounts);
        var root = Path.GetFullPath(path).TrimEnd('/');
        return procMounts.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => line.Split(' '))
            .Where(fields => fields.Length > 1)
            // /proc/mounts escapes space, tab, newline and backslash as octal.
            .Select(fields => fields[1].Replace("\\040", " ", StringComparison.Ordinal).Replace("\\011", "\t", StringComparison.Ordinal)
                .Replace("\\012", "\n", StringComparison.Ordinal).Replace("\\134", "\\", StringComparison.Ordinal))
            .Where(m => m == root || m.StartsWith(root + "/", StringComparison.Ordinal))
            .Distinct(StringComparer.Ordinal)
            .OrderByDescending(m => m.Count(c => c == '/'))
            .ThenByDescending(m => m, StringComparer.Ordinal)
            .ToList();
    }

    /// <summary>Unmounts (lazily) everything mounted at or below <paramref name="path"/>.</summary>
    public static async Task ReleaseAsync(ProcessRunner runner, string path, Action<string> log, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(runner);
        ArgumentNullException.ThrowIfNull(log);
        if (!File.Exists("/proc/mounts"))
        {
            return;
        }

        foreach (var mount in Below(await File.ReadAllTextAsync("/proc/mounts", ct), path))
        {
            log($"Unmounting {mount}, left behind by an interrupted build.");
            await runner.RunAsync("umount", ["-l", mount], null, ct);
        }
    }
}
