using NxTop.Build.Boot;
using NxTop.Build.Spec;
using NxTop.Build.Tools;

namespace NxTop.Build.Images;

/// <summary>
/// The A/B disk image, <c>&lt;id&gt;.img</c> (raw, sparse) and <c>&lt;id&gt;.qcow2</c>: sfdisk writes the GPT from
/// the rendered layout, then the parts are placed at their offsets (GRUB's boot code and core.img, the ESP, the
/// installer ISO as slot A, the empty data file system). No loop device, no root needed. The installer writes the
/// same parts the same way.
/// </summary>
public sealed class DiskWriter(ProcessRunner runner, Action<string> log) : IImageWriter
{
    public OutputFormat Format => OutputFormat.Disk;

    public static string RawName(ApplianceSpec spec) => $"{spec.ImageId}.img";

    public static string Qcow2Name(ApplianceSpec spec) => $"{spec.ImageId}.qcow2";

    private const int Chunk = 1024 * 1024;

    public async Task<IReadOnlyList<string>> WriteAsync(ImageInputs inputs, CancellationToken ct)
    {
        var spec = inputs.Spec.Spec;
        var disk = inputs.Configs.Disk;
        var medium = await inputs.Medium.GetAsync(inputs, ct);
        var isoBytes = new FileInfo(medium.Iso).Length;
        if (isoBytes > disk.SlotA.SizeBytes)
        {
            throw new NxTopBuildException(
                $"{inputs.Spec.SourceFiles[^1]}: $.disk.slotMiB: got {spec.Disk.SlotMiB}; the installer ISO is {(isoBytes + DiskLayout.MiB - 1) / DiskLayout.MiB} MiB and must fit a root slot. Expected at least that.");
        }

        var raw = Path.Combine(inputs.OutputDir, RawName(spec));
        var rawTemp = AtomicFile.TempNameFor(raw);
        var qcow2 = Path.Combine(inputs.OutputDir, Qcow2Name(spec));
        var qcow2Temp = AtomicFile.TempNameFor(qcow2);
        try
        {
            await using (var fs = new FileStream(rawTemp, FileMode.Create, FileAccess.Write))
            {
                fs.SetLength(disk.TotalBytes);
            }

            var layout = inputs.Configs.Files.Single(f => f.File.Path == "layout.sfdisk").Content;
            await runner.RunAsync("sfdisk", ["--quiet", "--no-reread", "--no-tell-kernel", rawTemp],
                new ToolRun { StandardInput = layout, Timeout = TimeSpan.FromMinutes(1) }, ct);

            await using (var fs = new FileStream(rawTemp, FileMode.Open, FileAccess.ReadWrite))
            {
                var bootCode = await File.ReadAllBytesAsync(medium.Payload.BootCode, ct);
                fs.Position = 0;
                await fs.WriteAsync(bootCode, ct);
                await PlaceAsync(fs, medium.Payload.CoreImage, disk.BiosBoot, ct);
                await PlaceAsync(fs, medium.Payload.EspImage, disk.Esp, ct);
                await PlaceAsync(fs, medium.Iso, disk.SlotA, ct);
                await PlaceAsync(fs, medium.Payload.DataImage, disk.Data, ct);
                fs.Flush(flushToDisk: true);
            }

            await runner.RunAsync("qemu-img", ["convert", "-q", "-f", "raw", "-O", "qcow2", rawTemp, qcow2Temp],
                new ToolRun { Timeout = TimeSpan.FromMinutes(10) }, ct);
            AtomicFile.Commit(rawTemp, raw);
            AtomicFile.Commit(qcow2Temp, qcow2);
        }
        catch (Exception ex) when (ex is ToolException or IOException)
        {
            File.Delete(rawTemp);
            File.Delete(qcow2Temp);
            throw ex is ToolException tool ? DiskSpace.Explain(tool, raw) : new NxTopBuildException($"Writing the disk image {raw} failed: {ex.Message}", ex);
        }

        log($"Wrote {Path.GetFileName(raw)} ({disk.TotalBytes / DiskLayout.MiB} MiB, sparse) and {Path.GetFileName(qcow2)} ({new FileInfo(qcow2).Length / DiskLayout.MiB} MiB).");
        return [raw, qcow2];
    }

    /// <summary>Copies a part into its partition, skipping all-zero chunks so the raw image stays sparse.</summary>
    private static async Task PlaceAsync(FileStream disk, string part, DiskPartition partition, CancellationToken ct)
    {
        var length = new FileInfo(part).Length;
        if (length > partition.SizeBytes)
        {
            throw new NxTopBuildException($"{Path.GetFileName(part)} is {length} bytes and does not fit partition {partition.Number} ({partition.Name}, {partition.SizeBytes} bytes).");
        }

        var buffer = new byte[Chunk];
        await using var input = File.OpenRead(part);
        long offset = 0;
        int read;
        while ((read = await input.ReadAtLeastAsync(buffer, Chunk, throwOnEndOfStream: false, ct)) > 0)
        {
            if (buffer.AsSpan(0, read).ContainsAnyExcept((byte)0))
            {
                disk.Position = partition.StartBytes + offset;
                await disk.WriteAsync(buffer.AsMemory(0, read), ct);
            }

            offset += read;
        }
    }
}
