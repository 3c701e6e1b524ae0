using System.Globalization;
using System.Security.Cryptography;

namespace NxTop.Qemu.TestContent;

/// <summary>Where the test guest's parts come from.</summary>
/// <param name="Kernel">A Xen PV-capable Linux kernel (the image's <c>guest/vmlinuz</c>: Debian's dom0 kernel).</param>
/// <param name="KernelRelease">Its release (<c>uname -r</c>), which names its module folder.</param>
/// <param name="SystemRoot">A Debian 12 root holding busybox and its libraries (<see cref="TestGuestScripts.BusyboxFiles"/>) and
/// <c>lib/modules/RELEASE/</c> with <see cref="TestGuestScripts.Modules"/>: "/" on a Debian host, or files copied from dom0.</param>
public sealed record TestGuestInputs(string Kernel, string KernelRelease, string SystemRoot);

/// <summary>One file to publish: its path, sha256 (lower-case hex) and size.</summary>
public sealed record TestBlob(string Path, string Sha256, long Size)
{
    public static TestBlob Of(string path)
    {
        using var stream = File.OpenRead(path);
        return new TestBlob(path, Convert.ToHexStringLower(SHA256.HashData(stream)), stream.Length);
    }
}

/// <summary>
/// The agent test content: a base image <c>desktop</c> v1 (a qcow2 of an ext4 root holding busybox and an init
/// that reports health), a good patch v2 and a bad patch v3 (qcow2 deltas, each over the version below it, whose
/// backing file is the bare sha256 of that blob, as the agent's store names it), a good patch v4 over v2 (for the
/// corrupted-download test), then, for the power-cut and full-disk tests, good patches v6 over v2 and v7 over v6, a
/// bad patch v8 over v7 and a good patch v9 over v7 (v5 is the unsigned-manifest test's, which reuses v2's blobs), the
/// kernel and initrd every version boots with, and an app layer <c>notes</c> v1 (a qcow2 of an ext4 disk with an env
/// file and a service script).
/// </summary>
public sealed record TestGuestSet(
    TestBlob Kernel,
    TestBlob Initrd,
    TestBlob BaseV1,
    TestBlob PatchV2,
    TestBlob PatchV3,
    TestBlob PatchV4,
    TestBlob PatchV6,
    TestBlob PatchV7,
    TestBlob PatchV8,
    TestBlob PatchV9,
    TestBlob App,
    long RootFileSystemBytes)
{
    public const string BaseName = "desktop";
    public const string AppName = "notes";
    public const long AppVersion = 1;

    /// <summary>The versions built as root file systems, and the one each is a delta over (0: none, the whole base).</summary>
    public static IReadOnlyList<(int Version, int Over)> Chain { get; } = [(1, 0), (2, 1), (3, 2), (4, 2), (6, 2), (7, 6), (8, 7), (9, 7)];

    /// <summary>The markers each version writes: the bad patches v3 and v8 stay silent, every other version reports ok.</summary>
    public static string HealthOf(long version) => version is 3 or 8 ? "silent" : "ok";

    /// <summary>The top blob of version <paramref name="version"/>.</summary>
    public TestBlob Top(long version) => version switch
    {
        1 => BaseV1, 2 => PatchV2, 3 => PatchV3, 4 => PatchV4, 6 => PatchV6, 7 => PatchV7, 8 => PatchV8, 9 => PatchV9,
        _ => throw new ArgumentOutOfRangeException(nameof(version), version, "No such test version."),
    };
}

/// <summary>
/// Builds <see cref="TestGuestSet"/> on the host with Debian's tools only: <c>mkfs.ext4 -d</c> (no root, no loop
/// device), <c>cpio</c> and <c>qemu-img</c>. A patch is made the way a publisher would: the new root is built whole,
/// then <c>qemu-img rebase</c> (safe mode) of an empty overlay over it onto the old chain keeps only the clusters that
/// differ. Every file time, UUID and hash seed is fixed, so the versions differ only where their files do.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class TestGuestContent(Action<string>? log = null)
{
    /// <summary>The root file system's size; busybox and its libraries take about 4 MiB of it.</summary>
    public const long RootBytes = 24L << 20;

    public const long AppBytes = 4L << 20;

    /// <summary>
    /// A delta's cluster size. ext4 writes in 4 KiB blocks; with qcow2's default 64 KiB clusters a one-block change
    /// ships 64 KiB of data plus 64 KiB per metadata table (384 KiB here), with 4 KiB clusters 24 KiB.
    /// </summary>
    public const int DeltaClusterBytes = 4096;

    /// <summary>The same UUID, hash seed and times in every version keep ext4's layout identical; only changed files' blocks differ.</summary>
    private const string FixedUuid = "6e787470-0000-4000-8000-000000000001";
    private const string AppUuid = "6e787470-0000-4000-8000-000000000002";
    private const long FixedEpoch = 1_700_000_000;

    /// <summary>Features the Debian 6.1 guest mounts with only the modules in its initrd (no crc32c, no journal).</summary>
    private const string Ext4Features = "^has_journal,^metadata_csum,^metadata_csum_seed,^orphan_file";

    public async Task<TestGuestSet> BuildAsync(TestGuestInputs inputs, string outputDirectory, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        if (Directory.Exists(outputDirectory))
        {
            Directory.Delete(outputDirectory, recursive: true);
        }

        var work = Directory.CreateDirectory(Path.Combine(outputDirectory, "work")).FullName;
        var chain = Directory.CreateDirectory(Path.Combine(outputDirectory, "chain")).FullName;

        var kernel = Path.Combine(outputDirectory, "vmlinuz");
        File.Copy(inputs.Kernel, kernel);
        var initrd = await BuildInitrdAsync(inputs, work, Path.Combine(outputDirectory, "initrd.img"), cancellationToken).ConfigureAwait(false);

        var tops = new Dictionary<int, TestBlob>();
        foreach (var (version, over) in TestGuestSet.Chain)
        {
            var tree = Path.Combine(work, $"root-v{version}");
            StageRoot(inputs, tree, version);
            var raw = Path.Combine(work, $"root-v{version}.raw");
            await MakeExt4Async(tree, raw, RootBytes, FixedUuid, "nxtop-test-root", cancellationToken).ConfigureAwait(false);
            tops[version] = over == 0
                ? await ConvertToQcow2Async(raw, chain, cancellationToken).ConfigureAwait(false)
                : await DeltaAsync(raw, tops[over], chain, cancellationToken).ConfigureAwait(false);
        }

        var appTree = Path.Combine(work, "app");
        Directory.CreateDirectory(appTree);
        File.WriteAllText(Path.Combine(appTree, "app.env"), TestGuestScripts.AppEnv(TestGuestSet.AppName, TestGuestSet.AppVersion));
        File.WriteAllText(Path.Combine(appTree, "run.sh"), TestGuestScripts.AppRun);
        FixTimes(appTree);
        var appRaw = Path.Combine(work, "app.raw");
        await MakeExt4Async(appTree, appRaw, AppBytes, AppUuid, "nxtop-test-app", cancellationToken).ConfigureAwait(false);
        var app = await ConvertToQcow2Async(appRaw, Directory.CreateDirectory(Path.Combine(outputDirectory, "app")).FullName, cancellationToken).ConfigureAwait(false);

        var set = new TestGuestSet(TestBlob.Of(kernel), TestBlob.Of(initrd), tops[1], tops[2], tops[3], tops[4], tops[6], tops[7], tops[8], tops[9], app, RootBytes);
        log?.Invoke(string.Create(CultureInfo.InvariantCulture,
            $"test content in {outputDirectory}: kernel {set.Kernel.Size} B, initrd {set.Initrd.Size} B, base v1 {set.BaseV1.Size} B (root file system {RootBytes >> 20} MiB), "
            + $"patch v2 {set.PatchV2.Size} B, patch v3 {set.PatchV3.Size} B, patch v4 {set.PatchV4.Size} B, app {set.App.Size} B"));
        return set;
    }

    /// <summary>Copies the files of <paramref name="inputs"/>'s root that the guest needs; symlinks are followed.</summary>
    private static void CopyFromRoot(TestGuestInputs inputs, string source, string target)
    {
        var from = Path.Combine(inputs.SystemRoot, source);
        var resolved = new FileInfo(from).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? from;
        if (!File.Exists(resolved))
        {
            throw new FileNotFoundException($"The test guest needs {source} from {inputs.SystemRoot}, but {from} is missing.", from);
        }

        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        File.Copy(resolved, target, overwrite: true);
        File.SetUnixFileMode(target, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
            | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
    }

    private static void CopyBusybox(TestGuestInputs inputs, string tree)
    {
        foreach (var (source, target) in TestGuestScripts.BusyboxFiles)
        {
            CopyFromRoot(inputs, source, Path.Combine(tree, target));
        }
    }

    private static void WriteExecutable(string path, string text)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
            | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
    }

    private static void StageRoot(TestGuestInputs inputs, string tree, int version)
    {
        foreach (var d in new[] { "dev", "proc", "sys", "run", "tmp", "opt/app", "etc/nxtop", "sbin" })
        {
            Directory.CreateDirectory(Path.Combine(tree, d));
        }

        CopyBusybox(inputs, tree);
        WriteExecutable(Path.Combine(tree, "sbin", "init"), TestGuestScripts.RootInit);
        WriteExecutable(Path.Combine(tree, "sbin", "poweroff"), TestGuestScripts.Poweroff);
        File.WriteAllText(Path.Combine(tree, "etc", "nxtop", "name"), TestGuestSet.BaseName + "\n");
        File.WriteAllText(Path.Combine(tree, "etc", "nxtop", "version"), version.ToString(CultureInfo.InvariantCulture) + "\n");
        // The same length in every version, so the file keeps its block and only that block changes.
        File.WriteAllText(Path.Combine(tree, "etc", "nxtop", "health"), TestGuestSet.HealthOf(version).PadRight(8) + "\n");
        FixTimes(tree);
    }

    /// <summary>Every mtime and atime at one instant (mkfs.ext4 -d copies them); the test trees hold no symlinks.</summary>
    private static void FixTimes(string tree)
    {
        var at = DateTimeOffset.FromUnixTimeSeconds(FixedEpoch).UtcDateTime;
        foreach (var file in Directory.EnumerateFiles(tree, "*", SearchOption.AllDirectories))
        {
            File.SetLastWriteTimeUtc(file, at);
            File.SetLastAccessTimeUtc(file, at);
        }

        foreach (var dir in Directory.EnumerateDirectories(tree, "*", SearchOption.AllDirectories).Append(tree))
        {
            Directory.SetLastWriteTimeUtc(dir, at);
            Directory.SetLastAccessTimeUtc(dir, at);
        }
    }

    private async Task<string> BuildInitrdAsync(TestGuestInputs inputs, string work, string output, CancellationToken cancellationToken)
    {
        var tree = Path.Combine(work, "initrd");
        foreach (var d in new[] { "dev", "proc", "sys", "newroot", "modules" })
        {
            Directory.CreateDirectory(Path.Combine(tree, d));
        }

        CopyBusybox(inputs, tree);
        foreach (var module in TestGuestScripts.Modules)
        {
            CopyFromRoot(inputs, Path.Combine("lib", "modules", inputs.KernelRelease, module), Path.Combine(tree, "modules", Path.GetFileName(module)));
        }

        WriteExecutable(Path.Combine(tree, "init"), TestGuestScripts.InitrdInit);
        FixTimes(tree);
        var entries = Directory.GetFileSystemEntries(tree, "*", SearchOption.AllDirectories)
            .Select(p => Path.GetRelativePath(tree, p)).Order(StringComparer.Ordinal).ToList();
        await HostTool.RunAsync("cpio", ["--quiet", "-o", "-H", "newc", "--reproducible", "--owner=0:0", "-O", output],
            new HostToolRun { WorkingDirectory = tree, StandardInput = string.Join('\n', entries) + "\n" }, cancellationToken).ConfigureAwait(false);
        log?.Invoke($"initrd {output}: {entries.Count} entries, {new FileInfo(output).Length} bytes");
        return output;
    }

    private static Task<string> MakeExt4Async(string tree, string raw, long bytes, string uuid, string label, CancellationToken cancellationToken) =>
        HostTool.RunAsync("mkfs.ext4",
            ["-q", "-F", "-b", "4096", "-O", Ext4Features, "-U", uuid, "-E", $"hash_seed={uuid},root_owner=0:0", "-L", label, "-d", tree, raw,
                (bytes / 1024).ToString(CultureInfo.InvariantCulture) + "k"],
            new HostToolRun { Environment = new Dictionary<string, string> { ["E2FSPROGS_FAKE_TIME"] = FixedEpoch.ToString(CultureInfo.InvariantCulture) } },
            cancellationToken);

    /// <summary>A whole image as a standalone qcow2, stored in <paramref name="directory"/> under its sha256.</summary>
    private static async Task<TestBlob> ConvertToQcow2Async(string raw, string directory, CancellationToken cancellationToken)
    {
        var temp = Path.Combine(directory, "new.qcow2.tmp");
        await HostTool.RunAsync("qemu-img", ["convert", "-q", "-f", "raw", "-O", "qcow2", raw, temp], cancellationToken: cancellationToken).ConfigureAwait(false);
        return Named(temp, directory);
    }

    /// <summary>
    /// The clusters in which <paramref name="newRaw"/> differs from <paramref name="parent"/>'s chain, as a qcow2 whose
    /// backing file is the bare sha256 of the parent blob (relative, so it resolves in any directory of blobs named by hash).
    /// </summary>
    private static async Task<TestBlob> DeltaAsync(string newRaw, TestBlob parent, string chain, CancellationToken cancellationToken)
    {
        const string temp = "delta.qcow2.tmp";
        var run = new HostToolRun { WorkingDirectory = chain };
        await HostTool.RunAsync("qemu-img", ["create", "-q", "-f", "qcow2", "-o", "cluster_size=" + DeltaClusterBytes.ToString(CultureInfo.InvariantCulture),
            "-F", "raw", "-b", Path.GetFullPath(newRaw), temp], run, cancellationToken).ConfigureAwait(false);
        // Safe mode: every cluster where the old backing (the whole new root) and the new backing (the parent chain) differ is copied into the overlay.
        await HostTool.RunAsync("qemu-img", ["rebase", "-q", "-f", "qcow2", "-F", "qcow2", "-b", parent.Sha256, temp], run, cancellationToken).ConfigureAwait(false);
        return Named(Path.Combine(chain, temp), chain);
    }

    private static TestBlob Named(string temp, string directory)
    {
        var blob = TestBlob.Of(temp);
        var path = Path.Combine(directory, blob.Sha256);
        File.Move(temp, path, overwrite: true);
        return blob with { Path = path };
    }
}
