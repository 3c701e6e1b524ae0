using NxTop.Agent.Storage;
using NxTop.Contracts;

namespace NxTop.Agent.Lifecycle;

/// <summary>The guest's fixed settings, from the agent configuration.</summary>
internal sealed record GuestSettings(string Name, int MemoryMiB, int Vcpus, string Bridge, string DefaultKernel, string? DefaultExtra, string MacSeed);

/// <summary>
/// Builds the guest's disks from the store. The layering:
/// <code>
/// xvda: blobs/sha256/&lt;base layer 1&gt; &lt;- ... &lt;- &lt;base layer n&gt; &lt;- guests/&lt;g&gt;/os-top.qcow2 (rw)
/// xvdb..: blobs/sha256/&lt;app disk&gt; (ro), one per app, in desired-state order
/// </code>
/// A base patch is a qcow2 delta whose backing name is its parent's hash, so it is downloaded
/// alone and the chain resolves in the blob directory. Apps are separate read-only disks rather
/// than deltas in the chain: a qcow2 delta is only meaningful over the exact bytes it was made
/// on, so app deltas would have to be rebuilt for every base patch and could not be combined
/// freely; as their own disks they survive base patches and the guest mounts them (overlayfs).
/// <para>
/// "shared": os-top.qcow2 is recreated empty before every guest start, so a shutdown discards the
/// user's changes and a new base takes effect at the next start. "custom": os-top.qcow2 persists;
/// a base switch copies it to os-top.rollback.qcow2 and rebases it with <c>qemu-img rebase -u</c>
/// (header only) onto the new base top. The user's written clusters win over the patch; the copy
/// is what a rollback restores.
/// </para>
/// </summary>
internal sealed class GuestLayering(StoreLayout layout, QemuImg qemuImg, GuestSettings settings)
{
    public string GuestDirectory => layout.GuestDirectory(settings.Name);

    public string OsTop => Path.Combine(GuestDirectory, "os-top.qcow2");

    public string OsTopRollback => Path.Combine(GuestDirectory, "os-top.rollback.qcow2");

    public string ConfigPath => Path.Combine(GuestDirectory, "guest.cfg");

    public string BlobPath(ManifestBlob blob) => layout.Blob(blob.Sha256);

    /// <summary>
    /// Checks that a base's disk blobs form the chain the manifest lists: the first has no backing
    /// file, every other one is qcow2 backed by its predecessor's hash.
    /// </summary>
    public async Task VerifyChainAsync(ContentManifest manifest, CancellationToken cancellationToken)
    {
        var disks = manifest.Blobs.Where(b => b.Role == BlobRole.Disk).ToList();
        for (var i = 0; i < disks.Count; i++)
        {
            var info = await qemuImg.InfoAsync(BlobPath(disks[i]), cancellationToken).ConfigureAwait(false);
            var expectedFormat = disks[i].MediaType == MediaTypes.Qcow2 ? "qcow2" : "raw";
            if (info.Format != expectedFormat)
            {
                throw new ContentRefusedException(RefusalKind.BrokenChain, $"{manifest.Name}/{manifest.Version}: blob {disks[i].Sha256} is {info.Format}, the manifest says {expectedFormat}");
            }

            var expectedBacking = i == 0 ? null : disks[i - 1].Sha256;
            if (info.BackingFilename != expectedBacking)
            {
                throw new ContentRefusedException(RefusalKind.BrokenChain,
                    $"{manifest.Name}/{manifest.Version}: layer {i + 1} ({disks[i].Sha256}) has backing file '{info.BackingFilename ?? "none"}', expected '{expectedBacking ?? "none"}'");
            }
        }
    }

    /// <summary>Makes the writable top right for <paramref name="selection"/> and writes the xl config; returns its path.</summary>
    public async Task<string> PrepareForStartAsync(GuestSelection selection, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(GuestDirectory);
        var baseTop = BlobPath(selection.BaseTop);
        if (selection.Mode == ImageMode.Shared || !File.Exists(OsTop))
        {
            await CreateTopAsync(baseTop, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            var info = await qemuImg.InfoAsync(OsTop, cancellationToken).ConfigureAwait(false);
            if (info.BackingFilename != baseTop)
            {
                // Only reachable if the top was changed outside a transaction; follow the selection.
                await qemuImg.RebaseUnsafeAsync(OsTop, baseTop, cancellationToken).ConfigureAwait(false);
            }
        }

        // QEMU 7.2's xen-block marks only the file layer of an access=ro disk read-only and opens the format layer
        // read-write, which fails ("failed to create drive: Block node is read-only"). So each app layer is attached
        // read-write through a throwaway overlay made anew at every start: the blob is only ever a backing file, which
        // QEMU opens read-only, and whatever the guest writes there is gone at its next start.
        for (var i = 0; i < selection.Apps.Count; i++)
        {
            var disk = AppDisk(selection.Apps[i]);
            await CreateOverlayFileAsync(AppTop(i), BlobPath(disk), FormatOf(disk), cancellationToken).ConfigureAwait(false);
        }

        AtomicFile.WriteAllText(ConfigPath, BuildConfig(selection).Render());
        return ConfigPath;
    }

    /// <summary>The throwaway overlay the <paramref name="index"/>-th app layer is attached through (xvdb, xvdc, ...).</summary>
    public string AppTop(int index) => Path.Combine(GuestDirectory, $"app-{index}.qcow2");

    private static ManifestBlob AppDisk(ContentManifest app) => app.Blobs.Single(b => b.Role == BlobRole.Disk);

    private static string FormatOf(ManifestBlob disk) => disk.MediaType == MediaTypes.Qcow2 ? "qcow2" : "raw";

    /// <summary>
    /// Points a custom top at the new base, keeping a copy for rollback; nothing to do for shared
    /// (its top is recreated at start). The guest must be stopped.
    /// </summary>
    public async Task SwitchBaseAsync(GuestSelection? from, GuestSelection to, CancellationToken cancellationToken, Action<string>? step = null)
    {
        if (to.Mode != ImageMode.Custom || from is null || !File.Exists(OsTop) || from.BaseTop.Sha256 == to.BaseTop.Sha256)
        {
            // Shared tops are recreated at start; an app-only change leaves the base (and the top) as it is.
            return;
        }

        if (!File.Exists(OsTopRollback))
        {
            var copy = OsTopRollback + AtomicFile.TemporarySuffix;
            File.Copy(OsTop, copy, overwrite: true);
            using (var stream = new FileStream(copy, FileMode.Open, FileAccess.ReadWrite))
            {
                stream.Flush(flushToDisk: true);
            }

            AtomicFile.Rename(copy, OsTopRollback);
        }

        step?.Invoke("top-backed-up");
        var baseTop = BlobPath(to.BaseTop);
        await qemuImg.RebaseUnsafeAsync(OsTop, baseTop, cancellationToken).ConfigureAwait(false);
        step?.Invoke("top-rebased");
    }

    /// <summary>Puts the pre-switch custom top back (a rename, so idempotent across power cuts).</summary>
    public void RestoreRollbackTop()
    {
        if (File.Exists(OsTopRollback))
        {
            AtomicFile.Rename(OsTopRollback, OsTop);
        }
    }

    public void DropRollbackTop() => AtomicFile.Delete(OsTopRollback);

    public XlGuestConfig BuildConfig(GuestSelection selection)
    {
        var disks = new List<GuestDisk> { new(OsTop, XlGuestConfig.Vdev(0), ReadOnly: false, "qcow2") };
        for (var i = 0; i < selection.Apps.Count; i++)
        {
            disks.Add(new GuestDisk(AppTop(i), XlGuestConfig.Vdev(disks.Count), ReadOnly: false, "qcow2"));
        }

        var kernel = selection.Base.Blobs.FirstOrDefault(b => b.Role == BlobRole.Kernel);
        var ramdisk = selection.Base.Blobs.FirstOrDefault(b => b.Role == BlobRole.Ramdisk);
        return new XlGuestConfig(
            settings.Name,
            settings.MemoryMiB,
            settings.Vcpus,
            kernel is null ? settings.DefaultKernel : BlobPath(kernel),
            ramdisk is null ? null : BlobPath(ramdisk),
            selection.Base.KernelCommandLine ?? settings.DefaultExtra,
            disks,
            settings.Bridge,
            XlGuestConfig.MacFor(settings.MacSeed + "/" + settings.Name));
    }

    private Task CreateTopAsync(string baseTop, CancellationToken cancellationToken) =>
        CreateOverlayFileAsync(OsTop, baseTop, "qcow2", cancellationToken);

    private async Task CreateOverlayFileAsync(string path, string backing, string backingFormat, CancellationToken cancellationToken)
    {
        var temporary = path + AtomicFile.TemporarySuffix;
        File.Delete(temporary);
        await qemuImg.CreateOverlayAsync(temporary, backing, cancellationToken, backingFormat).ConfigureAwait(false);
        using (var stream = new FileStream(temporary, FileMode.Open, FileAccess.ReadWrite))
        {
            stream.Flush(flushToDisk: true);
        }

        AtomicFile.Rename(temporary, path);
    }
}
