using System.Globalization;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using NxTop.Build.Boot;
using NxTop.Build.Spec;
using NxTop.Build.Tools;

namespace NxTop.Build.Images;

/// <summary>
/// The PXE tree for lab PCs, in <c>&lt;output&gt;/pxe/</c>: pxelinux + mboot.c32 for legacy BIOS, a GRUB EFI network
/// image for UEFI, an iPXE script for HTTP boot, and the files they all load. The root image is the installer ISO;
/// live-boot's <c>fetch=</c> downloads it into RAM and loop-mounts it.
/// </summary>
public sealed class PxeWriter(ProcessRunner runner, Action<string> log) : IImageWriter
{
    /// <summary>The folder inside the image directory.</summary>
    public const string TreeName = "pxe";

    /// <summary>The root image the initramfs fetches.</summary>
    public const string RootImageName = "root.iso";

    /// <summary>The UEFI boot file.</summary>
    public const string EfiBootFile = "bootx64.efi";

    /// <summary>Where pxelinux and its modules come from (packages pxelinux and syslinux-common).</summary>
    public static IReadOnlyList<(string Source, string Name)> SyslinuxFiles { get; } =
    [
        ("/usr/lib/PXELINUX/pxelinux.0", "pxelinux.0"),
        ("/usr/lib/syslinux/modules/bios/ldlinux.c32", "ldlinux.c32"),
        ("/usr/lib/syslinux/modules/bios/libcom32.c32", "libcom32.c32"),
        ("/usr/lib/syslinux/modules/bios/mboot.c32", "mboot.c32"),
    ];

    /// <summary>
    /// The GRUB modules built into <c>bootx64.efi</c>, so the network image needs no module folder on the server.
    /// </summary>
    public static IReadOnlyList<string> GrubEfiModules { get; } =
    [
        "normal", "configfile", "echo", "test", "true", "sleep", "serial", "terminal", "efinet", "net", "tftp", "http",
        "multiboot2", "gzio", "all_video", "efi_gop", "boot", "halt", "reboot", "search", "ls", "cat",
    ];

    public OutputFormat Format => OutputFormat.Pxe;

    public async Task<IReadOnlyList<string>> WriteAsync(ImageInputs inputs, CancellationToken ct)
    {
        var spec = inputs.Spec.Spec;
        var tree = Path.Combine(inputs.OutputDir, TreeName);
        if (Directory.Exists(tree))
        {
            Directory.Delete(tree, recursive: true);
        }

        Directory.CreateDirectory(tree);
        foreach (var (source, name) in SyslinuxFiles)
        {
            if (!File.Exists(source))
            {
                throw new NxTopBuildException($"{source} is missing, so the BIOS PXE tree cannot be made. Install the host tools: ./build.sh --target=CheckHost (packages pxelinux, syslinux-common).");
            }

            File.Copy(source, Path.Combine(tree, name));
        }

        foreach (var f in inputs.Configs.Files.Where(f => f.File.Target == ConfigTarget.PxeTree))
        {
            var path = Path.Combine(tree, f.File.Path);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllText(path, f.Content);
        }

        // Unpacked, because iPXE's multiboot loader cannot read the gzip that GRUB and mboot.c32 accept.
        await using (var gz = new GZipStream(File.OpenRead(inputs.Base.Xen), CompressionMode.Decompress))
        await using (var xen = File.Create(Path.Combine(tree, "xen")))
        {
            await gz.CopyToAsync(xen, ct);
        }

        File.Copy(inputs.Base.Kernel, Path.Combine(tree, "vmlinuz"));
        File.Copy(inputs.Base.Initrd, Path.Combine(tree, "initrd.img"));

        var env = new Dictionary<string, string> { ["SOURCE_DATE_EPOCH"] = inputs.SourceDateEpoch.ToString(CultureInfo.InvariantCulture) };
        try
        {
            await runner.RunAsync("grub-mkimage",
                [
                    "--format=x86_64-efi",
                    "--output=" + Path.Combine(tree, EfiBootFile),
                    "--prefix=(tftp)/grub",
                    "--directory=/usr/lib/grub/x86_64-efi",
                    .. GrubEfiModules,
                ],
                new ToolRun { Environment = env, Timeout = TimeSpan.FromMinutes(2) }, ct);

            // The root image is the installer ISO itself: live-boot stacks the same layers, and its install entry
            // finds the install payload and slot A's bytes there, as it does when booted from the ISO.
            var medium = await inputs.Medium.GetAsync(inputs, ct);
            AtomicFile.CopyFrom(medium.Iso, Path.Combine(tree, RootImageName));
        }
        catch (ToolException ex)
        {
            throw DiskSpace.Explain(ex, tree);
        }

        var files = Directory.GetFiles(tree, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToList();
        var sums = new StringBuilder();
        foreach (var file in files)
        {
            await using var stream = File.OpenRead(file);
            var hash = Convert.ToHexStringLower(await SHA256.HashDataAsync(stream, ct));
            sums.Append(hash).Append("  ").Append(Path.GetRelativePath(tree, file).Replace('\\', '/')).Append('\n');
        }

        var sumsPath = Path.Combine(tree, "SHA256SUMS");
        AtomicFile.WriteAllText(sumsPath, sums.ToString());
        files.Add(sumsPath);
        log($"Wrote {TreeName}/ ({files.Count} files, {files.Sum(f => new FileInfo(f).Length) / 1048576} MiB; root image {new FileInfo(Path.Combine(tree, RootImageName)).Length / 1048576} MiB).");
        return files;
    }
}
