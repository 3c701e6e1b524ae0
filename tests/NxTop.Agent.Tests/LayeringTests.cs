using NxTop.Agent.Lifecycle;
using NxTop.Agent.Storage;
using NxTop.Contracts;

namespace NxTop.Agent.Tests;

/// <summary>qcow2 chains with the real qemu-img and qemu-io.</summary>
public sealed class LayeringTests : IDisposable
{
    private readonly EngineRig _rig = new();

    public void Dispose() => _rig.Dispose();

    private GuestSelection Import(long version, ImageMode mode, IReadOnlyList<ContentManifest>? apps = null)
    {
        var envelope = _rig.Fetcher.Manifests[("desktop", version)];
        var manifest = _rig.Publisher.Verifier().Verify(envelope).Manifest!;
        foreach (var blob in manifest.Blobs.Concat((apps ?? []).SelectMany(a => a.Blobs)))
        {
            _rig.Store.ImportFile(_rig.Publisher.BlobPath(blob), blob);
        }

        return new GuestSelection(manifest, apps ?? [], mode);
    }

    [Fact]
    public async Task A_published_delta_chain_resolves_in_the_blob_directory_and_verifies()
    {
        _rig.PublishBase(3);
        var selection = Import(3, ImageMode.Shared);

        await _rig.Layering.VerifyChainAsync(selection.Base, CancellationToken.None);

        // Every version's pattern is visible through the chain: the deltas stack.
        var top = _rig.Layout.Blob(selection.BaseTop.Sha256);
        Assert.True(Publisher.Reads(top, 0x10, 64 * 1024));
        Assert.True(Publisher.Reads(top, 0x20, 2 * 64 * 1024));
        Assert.True(Publisher.Reads(top, 0x30, 3 * 64 * 1024));
    }

    [Fact]
    public async Task A_chain_listed_in_the_wrong_order_is_refused()
    {
        var chain = _rig.PublishBase(2);
        var selection = Import(2, ImageMode.Shared);
        var swapped = selection.Base with { Blobs = [chain[1], chain[0]] };

        var ex = await Assert.ThrowsAsync<ContentRefusedException>(() => _rig.Layering.VerifyChainAsync(swapped, CancellationToken.None));

        Assert.Equal(RefusalKind.BrokenChain, ex.Kind);
        Assert.Contains($"layer 1 ({chain[1].Sha256}) has backing file '{chain[0].Sha256}', expected 'none'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Shared_mode_gives_every_start_a_fresh_top_over_the_base()
    {
        _rig.PublishBase(1);
        var selection = Import(1, ImageMode.Shared);
        await _rig.Layering.PrepareForStartAsync(selection, CancellationToken.None);
        Publisher.Run("qemu-io", "-f", "qcow2", "-c", "write -P 0x77 0 64k", _rig.Layering.OsTop); // the user writes
        Assert.True(Publisher.Reads(_rig.Layering.OsTop, 0x77));

        await _rig.Layering.PrepareForStartAsync(selection, CancellationToken.None);

        Assert.False(Publisher.Reads(_rig.Layering.OsTop, 0x77));
        Assert.True(Publisher.Reads(_rig.Layering.OsTop, 0x10, 64 * 1024));
        Assert.Equal(_rig.Layout.Blob(selection.BaseTop.Sha256), Qcow2.BackingOf(_rig.Layering.OsTop));
    }

    [Fact]
    public async Task Custom_mode_keeps_the_users_writes_across_a_patch_and_a_rollback_restores_the_old_top()
    {
        _rig.PublishBase(2);
        var v1 = Import(1, ImageMode.Custom);
        var v2 = Import(2, ImageMode.Custom);
        await _rig.Layering.PrepareForStartAsync(v1, CancellationToken.None);
        Publisher.Run("qemu-io", "-f", "qcow2", "-c", "write -P 0x77 0 64k", _rig.Layering.OsTop);

        await _rig.Layering.PrepareForStartAsync(v1, CancellationToken.None);
        Assert.True(Publisher.Reads(_rig.Layering.OsTop, 0x77)); // custom: a restart keeps it

        await _rig.Layering.SwitchBaseAsync(v1, v2, CancellationToken.None);
        Assert.True(Publisher.Reads(_rig.Layering.OsTop, 0x77)); // the user's change
        Assert.True(Publisher.Reads(_rig.Layering.OsTop, 0x20, 2 * 64 * 1024)); // the patch
        Assert.True(File.Exists(_rig.Layering.OsTopRollback));

        _rig.Layering.RestoreRollbackTop();
        Assert.Equal(_rig.Layout.Blob(v1.BaseTop.Sha256), Qcow2.BackingOf(_rig.Layering.OsTop));
        Assert.True(Publisher.Reads(_rig.Layering.OsTop, 0x77));
        Assert.False(Publisher.Reads(_rig.Layering.OsTop, 0x20, 2 * 64 * 1024));
        Assert.False(File.Exists(_rig.Layering.OsTopRollback));
    }

    [Fact]
    public async Task The_xl_config_is_a_pv_guest_on_qdisk_with_apps_through_throwaway_overlays()
    {
        _rig.PublishBase(1);
        var app = _rig.Publisher.Raw([1, 2, 3, 4]);
        var appManifest = new ContentManifest(ContentKind.App, "office", 1, [app], DateTimeOffset.UnixEpoch);
        var selection = Import(1, ImageMode.Shared, [appManifest]);

        var path = await _rig.Layering.PrepareForStartAsync(selection, CancellationToken.None);
        var config = File.ReadAllText(path);

        Assert.Equal(_rig.Layering.ConfigPath, path);
        Assert.Contains("name = \"desktop\"\n", config, StringComparison.Ordinal);
        Assert.Contains("type = \"pv\"\n", config, StringComparison.Ordinal);
        Assert.Contains("memory = 512\n", config, StringComparison.Ordinal);
        Assert.Contains("kernel = \"/usr/lib/grub-xen/grub-x86_64-xen.bin\"\n", config, StringComparison.Ordinal);
        Assert.Contains("extra = \"root=/dev/xvda ro\"\n", config, StringComparison.Ordinal);
        Assert.Contains($"'format=qcow2, vdev=xvda, access=rw, backendtype=qdisk, target={_rig.Layering.OsTop}'", config, StringComparison.Ordinal);
        // The app goes through a throwaway overlay (QEMU 7.2's xen-block cannot open a format layer read-only).
        Assert.Contains($"'format=qcow2, vdev=xvdb, access=rw, backendtype=qdisk, target={_rig.Layering.AppTop(0)}'", config, StringComparison.Ordinal);
        var overlay = Publisher.Run("qemu-img", "info", "-U", "--output=json", _rig.Layering.AppTop(0));
        Assert.Contains($"\"backing-filename\": \"{_rig.Layout.Blob(app.Sha256)}\"", overlay, StringComparison.Ordinal);
        Assert.Contains("\"backing-filename-format\": \"raw\"", overlay, StringComparison.Ordinal);
        Assert.Matches("vif = \\[ 'bridge=xenbr0, mac=00:16:3e:[0-7][0-9a-f]:[0-9a-f]{2}:[0-9a-f]{2}' \\]", config);
    }

    [Fact]
    public async Task What_a_guest_wrote_to_an_app_layer_is_gone_at_its_next_start_and_the_blob_never_changes()
    {
        _rig.PublishBase(1);
        var app = _rig.Publisher.Raw(Enumerable.Repeat((byte)1, 65536).ToArray());
        var selection = Import(1, ImageMode.Shared, [new ContentManifest(ContentKind.App, "office", 1, [app], DateTimeOffset.UnixEpoch)]);
        await _rig.Layering.PrepareForStartAsync(selection, CancellationToken.None);
        var blob = File.ReadAllBytes(_rig.Layout.Blob(app.Sha256));

        Publisher.Run("qemu-io", "-f", "qcow2", "-c", "write -P 0x5a 0 64k", _rig.Layering.AppTop(0)); // the guest writes
        Assert.True(Publisher.Reads(_rig.Layering.AppTop(0), 0x5a));
        await _rig.Layering.PrepareForStartAsync(selection, CancellationToken.None);

        Assert.False(Publisher.Reads(_rig.Layering.AppTop(0), 0x5a));
        Assert.Equal(blob, File.ReadAllBytes(_rig.Layout.Blob(app.Sha256)));
    }

    [Fact]
    public void A_base_with_its_own_kernel_boots_it_directly()
    {
        var kernel = new ManifestBlob(new string('e', 64), 10, BlobRole.Kernel, MediaTypes.Binary);
        var ramdisk = new ManifestBlob(new string('f', 64), 10, BlobRole.Ramdisk, MediaTypes.Binary);
        var disk = new ManifestBlob(new string('d', 64), 10, BlobRole.Disk, MediaTypes.Qcow2);
        var manifest = new ContentManifest(ContentKind.Base, "desktop", 1, [disk, kernel, ramdisk], DateTimeOffset.UnixEpoch, KernelCommandLine: "console=hvc0");

        var config = _rig.Layering.BuildConfig(new GuestSelection(manifest, [], ImageMode.Shared)).Render();

        Assert.Contains($"kernel = \"{_rig.Layout.Blob(kernel.Sha256)}\"", config, StringComparison.Ordinal);
        Assert.Contains($"ramdisk = \"{_rig.Layout.Blob(ramdisk.Sha256)}\"", config, StringComparison.Ordinal);
        Assert.Contains("extra = \"console=hvc0\"", config, StringComparison.Ordinal);
    }

    [Fact]
    public void Config_values_that_xl_cannot_quote_are_refused_and_macs_are_stable()
    {
        var config = new XlGuestConfig("a\"b", 512, 1, "/k", null, null, [], "xenbr0", "00:16:3e:00:00:01");

        Assert.Throws<ArgumentException>(config.Render);
        Assert.Equal(XlGuestConfig.MacFor("x"), XlGuestConfig.MacFor("x"));
        Assert.NotEqual(XlGuestConfig.MacFor("x"), XlGuestConfig.MacFor("y"));
        Assert.Equal("xvdc", XlGuestConfig.Vdev(2));
    }

    [Fact]
    public void Xl_list_output_parses_into_a_guest_state()
    {
        const string output = "Name                                        ID   Mem VCPUs\tState\tTime(s)\ndesktop                                      3   512     1     -b----       5.2\n";

        Assert.Equal(new GuestRuntime(GuestState.Running, 3), XlGuestController.ParseList(output, "desktop"));
        Assert.Equal(GuestState.Paused, XlGuestController.ParseList(output.Replace("-b----", "--p---", StringComparison.Ordinal), "desktop").State);
        Assert.Equal(GuestState.Absent, XlGuestController.ParseList(output, "other").State);
    }
}
