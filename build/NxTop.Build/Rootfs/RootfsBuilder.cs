using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using NxTop.Build.Spec;
using NxTop.Build.Tools;

namespace NxTop.Build.Rootfs;

/// <summary>
/// Builds the Debian dom0 base with mmdebstrap, or reuses it from the cache. The cache key hashes the suite, the
/// resolved mirrors, the package list, the recipe version and the hook script, so a change to the agent or to any
/// config never downloads Debian again.
/// </summary>
public sealed class RootfsBuilder(Workspace workspace, ProcessRunner runner, Action<string> log, TimeProvider time)
{
    /// <summary>Bump when the recipe changes in a way the hashed inputs do not show.</summary>
    public const string RecipeVersion = "5";

    /// <summary>
    /// The one timestamp of the Debian base: mmdebstrap gets it as SOURCE_DATE_EPOCH (so the files that maintainer
    /// scripts make, /etc/shadow's dates and the like do not depend on when the cache was filled) and the base squashfs
    /// takes every time from it. It is part of the recipe, not of the build's SOURCE_DATE_EPOCH, so one cached base
    /// serves every commit and a cold cache gives the same bytes as a warm one. 2023-06-10, Debian 12's release day.
    /// </summary>
    public const long BaseEpoch = 1686355200;

    /// <summary>What the image machinery itself needs, whatever the spec lists.</summary>
    public static IReadOnlyList<string> RecipePackages { get; } =
    [
        "systemd-sysv", "udev", "kmod", "iproute2", "openssh-server", "linux-image-amd64", "xen-system-amd64",
        "initramfs-tools", "live-boot", "live-boot-initramfs-tools", "zstd",
        // sfdisk and partx: the installer writes the disk layout, and the data partition grows on first boot.
        "fdisk",
        // The agent's guests run from qcow2 backing chains (base, patches, layers, the user's overlay) through Xen's
        // qdisk backend, which is QEMU in dom0; qemu-img makes the chains. xen-utils only recommends these.
        "qemu-system-xen", "qemu-utils",
    ];

    /// <summary>
    /// Files of qemu-system-xen's dependencies that a dom0 never reads: firmware for other architectures in
    /// qemu-system-data, and iso-codes' tables (pulled in by GStreamer through libspice-server1; 20 MiB).
    /// </summary>
    public static IReadOnlyList<string> QemuExcludes { get; } =
    [
        "/usr/share/iso-codes/*", "/usr/share/xml/iso-codes/*",
        "/usr/share/qemu/openbios-*", "/usr/share/qemu/skiboot.lid", "/usr/share/qemu/slof.bin",
        "/usr/share/qemu/s390-*", "/usr/share/qemu/hppa-firmware.img", "/usr/share/qemu/palcode-clipper",
        "/usr/share/qemu/opensbi-*", "/usr/share/qemu/u-boot*", "/usr/share/qemu/qemu_vga.ndrv",
    ];

    /// <summary>Free space the cache needs for a cold build (download, unpacked root, squashfs).</summary>
    public const long CacheSpaceNeeded = 3L * 1024 * 1024 * 1024;

    /// <summary>Bump when the squashfs options change: it names the cached base squashfs.</summary>
    public const string SquashfsRecipe = "b128k";

    public static string BaseSquashfsPath(string baseDir, SquashfsCompression compression) =>
        Path.Combine(baseDir, $"base-{compression.ToString().ToLowerInvariant()}-{SquashfsRecipe}.squashfs");

    public string HookScript => Path.Combine(workspace.RecipeDir, "customize.sh");

    public static IReadOnlyList<string> PackagesFor(ApplianceSpec spec) =>
        RecipePackages.Concat(spec.Debian.Packages).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();

    public string CacheKey(ApplianceSpec spec, Mirrors mirrors)
    {
        var sb = new StringBuilder();
        sb.Append("recipe=").AppendLine(RecipeVersion);
        sb.Append("suite=").AppendLine(spec.Debian.Suite);
        sb.Append("mirror=").AppendLine(mirrors.Main);
        sb.Append("security=").AppendLine(mirrors.Security);
        sb.Append("components=").AppendLine(string.Join(',', spec.Debian.Components));
        sb.Append("packages=").AppendLine(string.Join(',', PackagesFor(spec)));
        sb.Append("hook=").AppendLine(Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(HookScript))));
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(sb.ToString())))[..20];
    }

    public async Task<BaseImage> BuildOrReuseAsync(ApplianceSpec spec, SquashfsCompression compression, CancellationToken ct)
    {
        var mirrors = AptSources.Resolve(spec.Debian.Mirror, spec.Debian.SecurityMirror, spec.Debian.Suite);
        var key = CacheKey(spec, mirrors);
        var dir = Path.Combine(workspace.CacheRoot, "rootfs", key);
        var squashfs = BaseSquashfsPath(dir, compression);
        var meta = Path.Combine(dir, BaseImage.MetadataName);

        BaseImage image;
        if (File.Exists(meta))
        {
            image = JsonSerializer.Deserialize<BaseImage>(File.ReadAllText(meta), SpecLoader.JsonOptions)! with { Directory = dir };
            log($"Reusing the cached Debian base {key} ({dir}): nothing is downloaded or unpacked.");
        }
        else
        {
            DiskSpace.Require(workspace.CacheRoot, CacheSpaceNeeded, "the Debian base cache (set NXTOP_CACHE to use another disk)");
            image = await BuildAsync(spec, mirrors, key, dir, ct);
        }

        if (!File.Exists(squashfs))
        {
            await MakeSquashfsAsync(Path.Combine(dir, "root"), squashfs, compression, BaseEpoch, ["boot"], ct);
        }
        else
        {
            log($"Reusing the cached base squashfs {Path.GetFileName(squashfs)}.");
        }

        return image with { Directory = dir };
    }

    private async Task<BaseImage> BuildAsync(ApplianceSpec spec, Mirrors mirrors, string key, string dir, CancellationToken ct)
    {
        var stage = dir + ".building";
        if (Directory.Exists(stage))
        {
            log($"Removing an unfinished earlier build at {stage}.");
            await StaleMounts.ReleaseAsync(runner, stage, log, ct);
            Directory.Delete(stage, recursive: true);
        }

        Directory.CreateDirectory(stage);
        var root = Path.Combine(stage, "root");
        var components = string.Join(' ', spec.Debian.Components);
        var packages = PackagesFor(spec);
        log($"Building the Debian base {key} with mmdebstrap ({spec.Debian.Suite}, {packages.Count} packages from {mirrors.Main}); this downloads about 200 MB.");
        var started = time.GetTimestamp();
        string[] args =
        [
            "--variant=minbase",
            "--mode=root",
            "--format=directory",
            "--aptopt=APT::Install-Recommends \"false\"",
            "--aptopt=Acquire::Retries \"3\"",
            "--dpkgopt=path-exclude=/usr/share/man/*",
            "--dpkgopt=path-exclude=/usr/share/doc/*",
            "--dpkgopt=path-include=/usr/share/doc/*/copyright",
            "--dpkgopt=path-exclude=/usr/share/locale/*",
            "--dpkgopt=path-exclude=/usr/share/info/*",
            .. QemuExcludes.Select(e => "--dpkgopt=path-exclude=" + e),
            "--include=" + string.Join(',', packages),
            "--customize-hook=" + HookScript,
            spec.Debian.Suite,
            root,
            $"deb {mirrors.Main} {spec.Debian.Suite} {components}",
            $"deb {mirrors.Main} {spec.Debian.Suite}-updates {components}",
            $"deb {mirrors.Security} {spec.Debian.Suite}-security {components}",
        ];
        try
        {
            await runner.RunAsync("mmdebstrap", args, new ToolRun
            {
                Timeout = TimeSpan.FromMinutes(40),
                Environment = new Dictionary<string, string> { ["SOURCE_DATE_EPOCH"] = BaseEpoch.ToString(CultureInfo.InvariantCulture) },
            }, ct);
        }
        catch (ToolException ex)
        {
            Directory.Delete(stage, recursive: true);
            throw Explain(ex, spec, mirrors);
        }

        var kernel = Directory.GetDirectories(Path.Combine(root, "usr/lib/modules")).Select(Path.GetFileName).Single()!;
        var bootDir = Path.Combine(root, "boot");
        File.Copy(Path.Combine(bootDir, $"vmlinuz-{kernel}"), Path.Combine(stage, BaseImage.KernelName));
        File.Copy(Path.Combine(bootDir, $"initrd.img-{kernel}"), Path.Combine(stage, BaseImage.InitrdName));
        var xenGz = Directory.GetFiles(bootDir, "xen-*-amd64.gz").Single();
        File.Copy(xenGz, Path.Combine(stage, BaseImage.XenName));

        var query = await runner.RunAsync("dpkg-query", ["--admindir=" + Path.Combine(root, "var/lib/dpkg"), "-W", "-f=${Package}\t${Version}\t${Architecture}\n"], null, ct);
        var pkgs = query.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Split('\t'))
            .Select(p => new PackageVersion(p[0], p[1], p[2]))
            .OrderBy(p => p.Name, StringComparer.Ordinal)
            .ToList();
        var xen = pkgs.FirstOrDefault(p => p.Name.StartsWith("xen-hypervisor-", StringComparison.Ordinal))?.Version ?? "unknown";
        var du = await runner.RunAsync("du", ["-sb", "--exclude=./boot", "."], new ToolRun { WorkingDirectory = root }, ct);
        var bytes = long.Parse(du.StandardOutput.Split('\t')[0], CultureInfo.InvariantCulture);

        var image = new BaseImage(key, dir, kernel, xen, bytes, pkgs);
        File.WriteAllText(Path.Combine(stage, BaseImage.MetadataName), JsonSerializer.Serialize(image with { Directory = "" }, SpecLoader.JsonOptions));
        if (Directory.Exists(dir))
        {
            Directory.Delete(dir, recursive: true);
        }

        Directory.Move(stage, dir);
        log($"Built the Debian base {key} in {time.GetElapsedTime(started).TotalSeconds:0} s: kernel {kernel}, Xen {xen}, {bytes / 1048576} MiB unpacked.");
        return image;
    }

    /// <summary>Makes a squashfs of <paramref name="tree"/>, reproducibly (fixed times), published atomically.</summary>
    public async Task MakeSquashfsAsync(string tree, string output, SquashfsCompression compression, long sourceDateEpoch, IReadOnlyList<string> exclude, CancellationToken ct, bool allRoot = false)
    {
        var temp = AtomicFile.TempNameFor(output);
        File.Delete(temp);
        var epoch = sourceDateEpoch.ToString(CultureInfo.InvariantCulture);
        var args = new List<string>
        {
            tree, temp, "-noappend", "-no-progress", "-quiet",
            "-mkfs-time", epoch, "-all-time", epoch,
            // The default 128 KiB blocks: with 1 MiB blocks every small file read at boot decompresses a whole MiB,
            // and dom0 under TCG spent over a minute just starting systemd.
            "-b", "128K",
        };
        args.AddRange(compression == SquashfsCompression.Xz
            ? ["-comp", "xz", "-Xbcj", "x86"]
            : ["-comp", "zstd", "-Xcompression-level", "19"]);
        if (allRoot)
        {
            args.Add("-all-root");
        }

        if (exclude.Count > 0)
        {
            args.Add("-wildcards");
            args.Add("-e");
            args.AddRange(exclude.Select(e => e + "/*"));
        }

        var started = time.GetTimestamp();
        try
        {
            await runner.RunAsync("mksquashfs", args, new ToolRun { Timeout = TimeSpan.FromMinutes(30) }, ct);
        }
        catch (ToolException ex)
        {
            File.Delete(temp);
            throw DiskSpace.Explain(ex, output);
        }

        AtomicFile.Commit(temp, output);
        log($"Wrote {Path.GetFileName(output)} ({new FileInfo(output).Length / 1048576} MiB, {compression.ToString().ToLowerInvariant()}) in {time.GetElapsedTime(started).TotalSeconds:0} s.");
    }

    internal static Exception Explain(ToolException ex, ApplianceSpec spec, Mirrors mirrors)
    {
        var err = (ex.Result?.StandardError ?? "") + (ex.Result?.StandardOutput ?? "");
        var missing = System.Text.RegularExpressions.Regex.Matches(err, @"Unable to locate package (\S+)|Package '?(\S+?)'? has no installation candidate")
            .Select(m => m.Groups[1].Success ? m.Groups[1].Value : m.Groups[2].Value)
            .Distinct(StringComparer.Ordinal)
            .ToList();
        if (missing.Count > 0)
        {
            var inSpec = missing.Where(spec.Debian.Packages.Contains).ToList();
            return new NxTopBuildException(
                $"Debian package{(missing.Count == 1 ? "" : "s")} {string.Join(", ", missing.Select(m => $"'{m}'"))} do{(missing.Count == 1 ? "es" : "")} not exist in {spec.Debian.Suite} on {mirrors.Main}. "
                + (inSpec.Count > 0 ? "Remove or correct it in $.debian.packages of the spec. " : "It is part of the build recipe (build/NxTop.Build/Rootfs). ")
                + "Check a name with 'apt-cache policy NAME'. Nothing was built.", ex);
        }

        if (err.Contains("No space left on device", StringComparison.Ordinal))
        {
            return DiskSpace.Explain(ex, "the Debian base cache");
        }

        if (System.Text.RegularExpressions.Regex.IsMatch(err, "Failed to fetch|Could not resolve|Could not connect|Connection refused|Unable to connect|Temporary failure resolving|does not have a Release file|Cannot initiate the connection"))
        {
            return new NxTopBuildException(
                $"Cannot reach the Debian mirror {mirrors.Main} (or {mirrors.Security}). Check the network and the URL in $.debian.mirror / $.debian.securityMirror "
                + "(\"host\" uses this machine's apt sources). Nothing was built.\n" + ProcessRunner.Tail(err), ex);
        }

        return new NxTopBuildException($"mmdebstrap failed; nothing was cached.\n{ex.Message}", ex);
    }
}
