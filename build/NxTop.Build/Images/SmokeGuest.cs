using System.Globalization;
using NxTop.Build.Boot;
using NxTop.Build.Rootfs;
using NxTop.Build.Tools;

namespace NxTop.Build.Images;

/// <summary>
/// A tiny Linux PV guest for the VM tests, made from the dom0 base itself: Debian's kernel (it runs as a PV domU
/// too) and an initrd holding busybox with its two libraries and a rendered /init that prints a marker. Written to
/// <c>&lt;output&gt;/guest/</c>; the tests copy it into dom0 and start it with <c>xl create</c>.
/// </summary>
public sealed class SmokeGuest(ProcessRunner runner, Action<string> log)
{
    /// <summary>Where the guest lives in dom0 during a test.</summary>
    public const string Dom0Directory = ConfigModel.SmokeGuestDom0Directory;

    /// <summary>The folder inside the image directory.</summary>
    public const string FolderName = "guest";

    /// <summary>What the guest prints on its console when it is up.</summary>
    public const string Marker = "NXTOP-GUEST-UP";

    /// <summary>Files copied from the dom0 root into the initrd (busybox is dynamically linked in Debian).</summary>
    public static IReadOnlyList<string> RootFiles { get; } =
    [
        "usr/bin/busybox",
        "usr/lib/x86_64-linux-gnu/libc.so.6",
        "usr/lib/x86_64-linux-gnu/libresolv.so.2",
        "usr/lib64/ld-linux-x86-64.so.2",
    ];

    public async Task<IReadOnlyList<string>> WriteAsync(BaseImage baseImage, RenderedConfigs configs, string stagingDir, string outputDir, long sourceDateEpoch, CancellationToken ct)
    {
        var dir = Path.Combine(outputDir, FolderName);
        Directory.CreateDirectory(dir);
        var tree = Path.Combine(stagingDir, "guest-initrd");
        if (Directory.Exists(tree))
        {
            Directory.Delete(tree, recursive: true);
        }

        foreach (var d in new[] { "bin", "dev", "proc", "sys", "usr/bin", "usr/lib/x86_64-linux-gnu", "usr/lib64" })
        {
            Directory.CreateDirectory(Path.Combine(tree, d));
        }

        var root = Path.Combine(baseImage.Directory, "root");
        foreach (var file in RootFiles)
        {
            var source = Path.Combine(root, file);
            // Follow symlinks (ld-linux and libc are links in Debian): the initrd holds the files themselves.
            var resolved = new FileInfo(source).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? source;
            if (!File.Exists(resolved))
            {
                throw new NxTopBuildException($"The smoke-test guest needs {file} from the dom0 base, but {source} is missing. Rebuild the base (delete {baseImage.Directory}).");
            }

            File.Copy(resolved, Path.Combine(tree, file));
        }

        File.CreateSymbolicLink(Path.Combine(tree, "bin", "sh"), "../usr/bin/busybox");
        File.CreateSymbolicLink(Path.Combine(tree, "bin", "busybox"), "../usr/bin/busybox");
        File.CreateSymbolicLink(Path.Combine(tree, "lib"), "usr/lib");
        File.CreateSymbolicLink(Path.Combine(tree, "lib64"), "usr/lib64");
        foreach (var f in configs.Files.Where(f => f.File.Target == ConfigTarget.Guest))
        {
            var target = f.File.Path == "init" ? Path.Combine(tree, "init") : Path.Combine(dir, f.File.Path);
            File.WriteAllText(target, f.Content);
            File.SetUnixFileMode(target, f.File.Mode);
        }

        // cpio newc, uncompressed, sorted, every mtime at SOURCE_DATE_EPOCH: the same bytes from every build.
        var entries = Directory.GetFileSystemEntries(tree, "*", SearchOption.AllDirectories)
            .Select(p => Path.GetRelativePath(tree, p)).Order(StringComparer.Ordinal).ToList();
        // touch -h sets symlinks' own times too, which .NET cannot.
        await runner.RunAsync("touch", ["-h", "--date=@" + sourceDateEpoch.ToString(CultureInfo.InvariantCulture), .. entries.Append(".")],
            new ToolRun { WorkingDirectory = tree }, ct);

        var initrd = Path.Combine(dir, "initrd.img");
        var temp = AtomicFile.TempNameFor(initrd);
        await runner.RunAsync("cpio", ["--quiet", "-o", "-H", "newc", "--reproducible", "--owner=0:0", "-O", temp],
            new ToolRun { WorkingDirectory = tree, StandardInput = string.Join('\n', entries) + "\n", Timeout = TimeSpan.FromMinutes(2) }, ct);
        AtomicFile.Commit(temp, initrd);
        File.Copy(baseImage.Kernel, Path.Combine(dir, "vmlinuz"), overwrite: true);
        log($"Wrote {FolderName}/ (smoke-test PV guest: kernel {baseImage.KernelVersion}, initrd {new FileInfo(initrd).Length / 1024} KiB).");
        return [Path.Combine(dir, "smoke-guest.cfg"), initrd, Path.Combine(dir, "vmlinuz")];
    }
}
