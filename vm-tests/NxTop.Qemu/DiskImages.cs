using System.Diagnostics;

namespace NxTop.Qemu;

/// <summary>Disks for the disk scenarios: qcow2 overlays over a built or installed disk, and empty install targets.</summary>
public static class DiskImages
{
    /// <summary>
    /// Makes <paramref name="overlay"/>, a qcow2 whose reads fall through to <paramref name="backing"/> and whose
    /// writes stay in it. A <paramref name="sizeBytes"/> larger than the backing disk makes a bigger disk.
    /// </summary>
    /// <exception cref="InvalidOperationException">qemu-img failed; the message holds its output.</exception>
    public static async Task CreateOverlayAsync(string backing, DiskFormat backingFormat, string overlay, long? sizeBytes, CancellationToken cancellationToken = default)
    {
        // The folder first: File.Delete throws for a path whose folder is missing (a clean clone has no vm-logs yet).
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(overlay))!);
        File.Delete(overlay);
        List<string> args = ["create", "-q", "-f", "qcow2", "-F", backingFormat == DiskFormat.Qcow2 ? "qcow2" : "raw", "-b", Path.GetFullPath(backing), overlay];
        if (sizeBytes is { } size)
        {
            args.Add(size.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        await RunAsync("qemu-img", args, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>An empty (sparse, all zero) raw disk of <paramref name="bytes"/>.</summary>
    public static void CreateEmpty(string path, long bytes)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        File.Delete(path);
        using var fs = new FileStream(path, FileMode.CreateNew, FileAccess.Write);
        fs.SetLength(bytes);
    }

    /// <summary>The virtual size of a disk image, as qemu-img reports it.</summary>
    public static async Task<long> VirtualSizeAsync(string path, CancellationToken cancellationToken = default)
    {
        var json = await RunAsync("qemu-img", ["info", "--output=json", "-U", path], cancellationToken).ConfigureAwait(false);
        using var doc = System.Text.Json.JsonDocument.Parse(json);
        return doc.RootElement.GetProperty("virtual-size").GetInt64();
    }

    private static async Task<string> RunAsync(string tool, IReadOnlyList<string> args, CancellationToken cancellationToken)
    {
        var psi = new ProcessStartInfo(tool) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using var process = Process.Start(psi) ?? throw new InvalidOperationException($"Could not start {tool}.");
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{tool} {string.Join(' ', args)} failed with exit code {process.ExitCode}: {(await stderr.ConfigureAwait(false)).Trim()}");
        }

        return await stdout.ConfigureAwait(false);
    }
}
