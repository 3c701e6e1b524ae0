using System.Globalization;
using NxTop.Build.Boot;
using NxTop.Build.Spec;
using NxTop.Build.Tools;

namespace NxTop.Build.Images;

/// <summary>
/// The hybrid installer ISO: grub-mkrescue lays out El Torito for BIOS and UEFI plus an MBR/GPT so the same file
/// boots from CD and from a USB stick. live-boot finds /live/*.squashfs and stacks them in filesystem.module order.
/// </summary>
public sealed class IsoWriter(ProcessRunner runner, Action<string> log) : IImageWriter
{
    public OutputFormat Format => OutputFormat.Iso;

    public static string FileName(ApplianceSpec spec) => $"{spec.ImageId}.iso";

    public static string VolumeId(ApplianceSpec spec) =>
        ("NXTOP_" + spec.Version.Replace('.', '_').Replace('-', '_').Replace('+', '_')).ToUpperInvariant() is var v && v.Length > 32 ? v[..32] : v;

    public async Task<IReadOnlyList<string>> WriteAsync(ImageInputs inputs, CancellationToken ct)
    {
        var spec = inputs.Spec.Spec;
        var tree = Path.Combine(inputs.StagingDir, "iso");
        if (Directory.Exists(tree))
        {
            Directory.Delete(tree, recursive: true);
        }

        // Small files are staged; the large ones are grafted straight from the cache and staging.
        Directory.CreateDirectory(Path.Combine(tree, "live"));
        foreach (var f in inputs.Configs.Files.Where(f => f.File.Target == ConfigTarget.IsoMedium))
        {
            var path = Path.Combine(tree, f.File.Path);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllText(path, f.Content);
        }

        File.WriteAllText(Path.Combine(tree, "live", "filesystem.module"), "filesystem.squashfs\nnxtop.squashfs\n");
        File.WriteAllText(Path.Combine(tree, "live", spec.ImageId + ".id"), inputs.Spec.Sha256 + "\n");

        var output = Path.Combine(inputs.OutputDir, FileName(spec));
        var temp = AtomicFile.TempNameFor(output);
        File.Delete(temp);
        string[] args =
        [
            "--output=" + temp,
            "--product-name=NxTop",
            "--product-version=" + spec.Version,
            tree,
            "boot/xen.gz=" + inputs.Base.Xen,
            "boot/vmlinuz=" + inputs.Base.Kernel,
            "boot/initrd.img=" + inputs.Base.Initrd,
            "live/filesystem.squashfs=" + inputs.BaseSquashfs,
            "live/nxtop.squashfs=" + inputs.TopSquashfs,
            "--",
            "-volid", VolumeId(spec),
        ];
        var env = new Dictionary<string, string> { ["SOURCE_DATE_EPOCH"] = inputs.SourceDateEpoch.ToString(CultureInfo.InvariantCulture) };
        try
        {
            await runner.RunAsync("grub-mkrescue", args, new ToolRun { Environment = env, Timeout = TimeSpan.FromMinutes(10) }, ct);
        }
        catch (ToolException ex)
        {
            File.Delete(temp);
            throw DiskSpace.Explain(ex, output);
        }

        AtomicFile.Commit(temp, output);
        log($"Wrote {Path.GetFileName(output)} ({new FileInfo(output).Length / 1048576} MiB).");
        return [output];
    }
}
