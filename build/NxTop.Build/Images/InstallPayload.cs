using System.Globalization;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using NxTop.Build.Boot;
using NxTop.Build.Tools;

namespace NxTop.Build.Images;

/// <summary>
/// Everything of the A/B disk except root slot A, which is the installer ISO itself. The disk image is assembled from
/// these parts, and the ISO carries them in <c>install/</c> so the installer writes the very same bytes.
/// </summary>
public sealed record InstallPayload(
    string Directory,
    string BootCode,
    string CoreImage,
    string EspImage,
    string DataImage)
{
    /// <summary>The folder on the ISO.</summary>
    public const string MediumFolder = "install";

    /// <summary>The files that go to the ISO's install/ folder (the two large images compressed), SHA256SUMS last.</summary>
    public IReadOnlyList<string> MediumFiles { get; init; } = [];
}

/// <summary>Builds the <see cref="InstallPayload"/>: GRUB for BIOS and UEFI, the EFI system partition, the empty data file system.</summary>
public sealed class InstallPayloadBuilder(ProcessRunner runner, Action<string> log)
{
    /// <summary>Modules built into both GRUB core images: enough to read the ESP's menu and boot Xen from an ISO 9660 slot.</summary>
    public static IReadOnlyList<string> CommonGrubModules { get; } =
    [
        "part_gpt", "fat", "iso9660", "normal", "configfile", "search", "search_fs_uuid", "search_label", "regexp",
        "loadenv", "test", "true", "echo", "sleep", "serial", "terminal", "multiboot2", "gzio", "boot", "halt",
        "reboot", "ls", "cat",
    ];

    /// <summary>GRUB's prefix in both core images: partition 2 (the ESP) of whichever disk the firmware booted.</summary>
    public static string GrubPrefix(DiskLayout disk) => $"(,{disk.Esp.GrubName})/grub";

    public const string GrubI386Dir = "/usr/lib/grub/i386-pc";
    public const string GrubEfiDir = "/usr/lib/grub/x86_64-efi";

    public async Task<InstallPayload> BuildAsync(RenderedConfigs configs, string stagingDir, long sourceDateEpoch, CancellationToken ct)
    {
        var disk = configs.Disk;
        var dir = Path.Combine(stagingDir, "disk-parts");
        if (Directory.Exists(dir))
        {
            Directory.Delete(dir, recursive: true);
        }

        var medium = Path.Combine(dir, InstallPayload.MediumFolder);
        Directory.CreateDirectory(medium);
        var sde = sourceDateEpoch.ToString(CultureInfo.InvariantCulture);
        var env = new Dictionary<string, string> { ["SOURCE_DATE_EPOCH"] = sde, ["E2FSPROGS_FAKE_TIME"] = sde };
        var run = new ToolRun { Environment = env, Timeout = TimeSpan.FromMinutes(5) };

        // BIOS: boot.img's code for the MBR and core.img for the BIOS boot partition, patched as grub-bios-setup would.
        var rawCore = Path.Combine(dir, "core.raw.img");
        await runner.RunAsync("grub-mkimage",
            ["--format=i386-pc", "--output=" + rawCore, "--prefix=" + GrubPrefix(disk), "--directory=" + GrubI386Dir, "biosdisk", .. CommonGrubModules],
            run, ct);
        var core = Path.Combine(medium, "core.img");
        File.WriteAllBytes(core, GrubBiosSetup.Core(File.ReadAllBytes(rawCore), disk.BiosBoot.StartSector, disk.BiosBoot.SizeSectors));
        var bootCode = Path.Combine(medium, "boot.bin");
        File.WriteAllBytes(bootCode, GrubBiosSetup.BootCode(File.ReadAllBytes(Path.Combine(GrubI386Dir, "boot.img")), disk.BiosBoot.StartSector));

        // UEFI: GRUB at the removable-media path, so firmware boots it with no NVRAM entry.
        var espTree = Path.Combine(dir, "esp");
        Directory.CreateDirectory(Path.Combine(espTree, "EFI/BOOT"));
        Directory.CreateDirectory(Path.Combine(espTree, "grub"));
        await runner.RunAsync("grub-mkimage",
            ["--format=x86_64-efi", "--output=" + Path.Combine(espTree, "EFI/BOOT/BOOTX64.EFI"), "--prefix=" + GrubPrefix(disk), "--directory=" + GrubEfiDir, "efi_gop", "all_video", .. CommonGrubModules],
            run, ct);
        foreach (var f in configs.Files.Where(f => f.File.Target == ConfigTarget.DiskEsp))
        {
            File.WriteAllText(Path.Combine(espTree, f.File.Path), f.Content);
        }

        var grubenv = Path.Combine(espTree, "grub/grubenv");
        await runner.RunAsync("grub-editenv", [grubenv, "create"], run, ct);
        await runner.RunAsync("grub-editenv", [grubenv, "set", "nxtop_slot=a", "nxtop_upgrade=0", "nxtop_bootcount=0"], run, ct);

        var esp = Path.Combine(dir, "esp.img");
        await runner.RunAsync("mkfs.vfat",
            ["-C", esp, (disk.Esp.SizeBytes / 1024).ToString(CultureInfo.InvariantCulture), "-i", disk.EspSerial, "-n", "NXTOP-ESP", "--invariant"],
            run, ct);
        // mtools takes directory dates from SOURCE_DATE_EPOCH and, with -m, file dates from the files: set them first.
        var files = Directory.GetFiles(espTree, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToList();
        foreach (var f in files)
        {
            File.SetLastWriteTimeUtc(f, DateTimeOffset.FromUnixTimeSeconds(sourceDateEpoch).UtcDateTime);
        }

        await runner.RunAsync("mmd", ["-i", esp, "::/EFI", "::/EFI/BOOT", "::/grub"], run, ct);
        foreach (var f in files)
        {
            await runner.RunAsync("mcopy", ["-m", "-i", esp, f, "::/" + Path.GetRelativePath(espTree, f).Replace('\\', '/')], run, ct);
        }

        // The data partition: an empty ext4 whose UUID, hash seed and times are derived from the spec and SOURCE_DATE_EPOCH.
        var data = Path.Combine(dir, "data.img");
        await runner.RunAsync("mke2fs",
            [
                "-q", "-t", "ext4", "-L", "nxtop-data", "-U", disk.DataUuid, "-m", "0",
                "-E", $"hash_seed={disk.DataUuid},root_owner=0:0,lazy_itable_init=0,nodiscard",
                data, (disk.Data.SizeBytes / 1024).ToString(CultureInfo.InvariantCulture) + "k",
            ],
            run, ct);

        foreach (var f in configs.Files.Where(f => f.File.Target == ConfigTarget.InstallPayload))
        {
            File.WriteAllText(Path.Combine(medium, f.File.Path), f.Content);
        }

        await GzipAsync(esp, Path.Combine(medium, "esp.img.gz"), ct);
        await GzipAsync(data, Path.Combine(medium, "data.img.gz"), ct);
        var mediumFiles = Directory.GetFiles(medium).Order(StringComparer.Ordinal).ToList();
        var sums = new StringBuilder();
        foreach (var f in mediumFiles)
        {
            await using var s = File.OpenRead(f);
            sums.Append(Convert.ToHexStringLower(await SHA256.HashDataAsync(s, ct))).Append("  ").Append(Path.GetFileName(f)).Append('\n');
        }

        var sumsPath = Path.Combine(medium, "SHA256SUMS");
        File.WriteAllText(sumsPath, sums.ToString());
        mediumFiles.Add(sumsPath);
        log($"Made the disk parts: GRUB core.img {new FileInfo(core).Length / 1024} KiB, ESP {disk.Esp.SizeBytes / DiskLayout.MiB} MiB, data {disk.Data.SizeBytes / DiskLayout.MiB} MiB (install payload {mediumFiles.Sum(f => new FileInfo(f).Length) / 1024} KiB).");
        return new InstallPayload(dir, bootCode, core, esp, data) { MediumFiles = mediumFiles };
    }

    /// <summary>gzip with no name and no time in its header, so the bytes depend only on the input.</summary>
    private static async Task GzipAsync(string source, string target, CancellationToken ct)
    {
        await using var input = File.OpenRead(source);
        await using var output = File.Create(target);
        await using var gz = new GZipStream(output, CompressionLevel.SmallestSize);
        await input.CopyToAsync(gz, ct);
    }
}
