using System.Globalization;
using NxTop.Build.Boot;
using NxTop.Build.Spec;
using NxTop.Build.Tools;

namespace NxTop.Build.Images;

/// <summary>
/// The hybrid installer ISO: grub-mkrescue lays out El Torito for BIOS and UEFI plus an MBR/GPT so the same file
/// boots from CD and from a USB stick. live-boot finds /live/*.squashfs and stacks them in filesystem.module order.
/// </summary>
public sealed class IsoWriter(Action<string> log) : IImageWriter
{
    public OutputFormat Format => OutputFormat.Iso;

    public static string FileName(ApplianceSpec spec) => $"{spec.ImageId}.iso";

    public static string VolumeId(ApplianceSpec spec) =>
        ("NXTOP_" + spec.Version.Replace('.', '_').Replace('-', '_').Replace('+', '_')).ToUpperInvariant() is var v && v.Length > 32 ? v[..32] : v;

    /// <summary>
    /// xorriso commands that take every date in the ISO from SOURCE_DATE_EPOCH: each file's and folder's times (they
    /// would otherwise be the staging files' mtimes) and the volume UUID. Setting the variable alone does not do it.
    /// </summary>
    public static IReadOnlyList<string> ReproducibleDates(long sourceDateEpoch) =>
    [
        "-volume_date", "all_file_dates", "=" + sourceDateEpoch.ToString(CultureInfo.InvariantCulture),
        "-volume_date", "uuid", DateTimeOffset.FromUnixTimeSeconds(sourceDateEpoch).UtcDateTime.ToString("yyyyMMddHHmmss", CultureInfo.InvariantCulture) + "00",
    ];

    /// <summary>The FAT volume serial of the ISO's EFI image: the first 8 hex digits of the spec's sha256.</summary>
    public static string FatSerial(string specSha256) => specSha256[..8];

    /// <summary>Publishes the installer medium (built once per build, see <see cref="InstallerMedium"/>) as the ISO.</summary>
    public async Task<IReadOnlyList<string>> WriteAsync(ImageInputs inputs, CancellationToken ct)
    {
        var medium = await inputs.Medium.GetAsync(inputs, ct);
        var output = Path.Combine(inputs.OutputDir, FileName(inputs.Spec.Spec));
        AtomicFile.CopyFrom(medium.Iso, output);
        log($"Wrote {Path.GetFileName(output)} ({new FileInfo(output).Length / 1048576} MiB).");
        return [output];
    }

    /// <summary>
    /// Makes the ISO at <paramref name="output"/>: GRUB for BIOS and UEFI, Xen, the kernel and initrd, the live
    /// layers, and the installer's payload in install/.
    /// </summary>
    public static async Task MakeAsync(ProcessRunner runner, ImageInputs inputs, InstallPayload payload, string output, CancellationToken ct)
    {
        var spec = inputs.Spec.Spec;
        var tree = Path.Combine(inputs.StagingDir, "iso");
        if (Directory.Exists(tree))
        {
            Directory.Delete(tree, recursive: true);
        }

        // Small files are staged; the large ones are grafted straight from the cache and staging.
        Directory.CreateDirectory(Path.Combine(tree, "live"));
        Directory.CreateDirectory(Path.Combine(tree, InstallPayload.MediumFolder));
        foreach (var f in inputs.Configs.Files.Where(f => f.File.Target == ConfigTarget.IsoMedium))
        {
            var path = Path.Combine(tree, f.File.Path);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllText(path, f.Content);
        }

        foreach (var f in payload.MediumFiles)
        {
            File.Copy(f, Path.Combine(tree, InstallPayload.MediumFolder, Path.GetFileName(f)));
        }

        File.WriteAllText(Path.Combine(tree, "live", "filesystem.module"), "filesystem.squashfs\nnxtop.squashfs\n");
        File.WriteAllText(Path.Combine(tree, "live", spec.ImageId + ".id"), inputs.Spec.Sha256 + "\n");

        var temp = AtomicFile.TempNameFor(output);
        File.Delete(temp);
        string[] args =
        [
            "--output=" + temp,
            "--product-name=NxTop",
            "--product-version=" + spec.Version,
            // Every menu uses the serial and text console: no translations, fonts or themes (11 MiB of the ISO).
            "--locales=", "--fonts=", "--themes=",
            tree,
            "boot/xen.gz=" + inputs.Base.Xen,
            "boot/vmlinuz=" + inputs.Base.Kernel,
            "boot/initrd.img=" + inputs.Base.Initrd,
            "live/filesystem.squashfs=" + inputs.BaseSquashfs,
            "live/nxtop.squashfs=" + inputs.TopSquashfs,
            "--",
            "-volid", VolumeId(spec),
            .. ReproducibleDates(inputs.SourceDateEpoch),
            // The GPT disk GUID is derived from the volume UUID (itself from SOURCE_DATE_EPOCH), not random.
            "-boot_image", "any", "gpt_disk_guid=volume_date_uuid",
        ];
        // grub-mkrescue formats its EFI system image with mformat, which picks a random FAT serial and ignores
        // SOURCE_DATE_EPOCH. A wrapper first on PATH passes a serial derived from the spec hash instead.
        var tools = Path.Combine(inputs.StagingDir, "iso-tools");
        Directory.CreateDirectory(tools);
        var mformat = Path.Combine(tools, "mformat");
        File.WriteAllText(mformat, $"#!/bin/sh\n# Made by the NxTop build: a reproducible FAT serial for grub-mkrescue's efi.img.\nexec /usr/bin/mformat -N {FatSerial(inputs.Spec.Sha256)} \"$@\"\n");
        File.SetUnixFileMode(mformat, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var env = new Dictionary<string, string>
        {
            ["SOURCE_DATE_EPOCH"] = inputs.SourceDateEpoch.ToString(CultureInfo.InvariantCulture),
            ["PATH"] = tools + ":" + (Environment.GetEnvironmentVariable("PATH") ?? "/usr/local/bin:/usr/bin:/bin"),
        };
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
    }
}
