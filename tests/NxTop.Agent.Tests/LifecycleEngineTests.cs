using NxTop.Agent.Lifecycle;
using NxTop.Agent.Storage;
using NxTop.Contracts;

namespace NxTop.Agent.Tests;

public sealed class LifecycleEngineTests : IDisposable
{
    private readonly EngineRig _rig = new();

    public void Dispose() => _rig.Dispose();

    private Task<ReconcileResult> Reconcile(DesiredState desired) => _rig.Engine.ReconcileAsync(desired, CancellationToken.None);

    [Fact]
    public async Task A_first_install_and_a_good_patch_are_committed_and_only_the_delta_is_fetched()
    {
        var chain = _rig.PublishBase(2);

        var first = await Reconcile(EngineRig.Desired(1));
        Assert.Equal(ReconcileOutcome.Committed, first.Outcome);
        Assert.Equal([chain[0].Sha256], _rig.Fetcher.BlobsFetched);

        var patch = await Reconcile(EngineRig.Desired(2));

        Assert.Equal(ReconcileOutcome.Committed, patch.Outcome);
        Assert.Equal([chain[0].Sha256, chain[1].Sha256], _rig.Fetcher.BlobsFetched);
        var installed = _rig.State.LoadInstalled();
        Assert.Equal(2, installed.Current!.Base.Version);
        Assert.Equal(2, installed.LastKnownGood!.Base.Version);
        Assert.Equal(1, installed.Previous!.Base.Version);
        Assert.Equal(GuestState.Running, _rig.Guests.Runtime.State);
        Assert.Equal(_rig.Layout.Blob(chain[1].Sha256), Qcow2.BackingOf(_rig.Layering.OsTop));
        Assert.Equal(
            [HistoryEvent.Staged, HistoryEvent.Applied, HistoryEvent.Committed, HistoryEvent.Staged, HistoryEvent.Applied, HistoryEvent.Committed],
            _rig.History.Read().Select(e => e.Event));
        _rig.AssertConsistent();

        Assert.Equal(ReconcileOutcome.UpToDate, (await Reconcile(EngineRig.Desired(2))).Outcome);
    }

    [Fact]
    public async Task A_patch_that_fails_its_health_check_is_rolled_back_and_not_retried_until_the_generation_moves()
    {
        var chain = _rig.PublishBase(2);
        await Reconcile(EngineRig.Desired(1, mode: ImageMode.Custom, deadline: 45));
        _rig.Health.BadBlobs.Add(chain[1].Sha256);

        var result = await Reconcile(EngineRig.Desired(2, generation: 1, mode: ImageMode.Custom, deadline: 45));

        Assert.Equal(ReconcileOutcome.RolledBack, result.Outcome);
        Assert.Contains("no healthy signal", result.Message, StringComparison.Ordinal);
        Assert.Equal(1, _rig.CurrentBase);
        Assert.Equal(GuestState.Running, _rig.Guests.Runtime.State);
        Assert.Equal(_rig.Layout.Blob(chain[0].Sha256), Qcow2.BackingOf(_rig.Layering.OsTop)); // the guest runs v1 again
        Assert.Equal(["stop", "start", "stop", "start", "stop", "start"], _rig.Guests.Actions);
        Assert.All(_rig.Health.Deadlines, d => Assert.Equal(TimeSpan.FromSeconds(45), d));
        var failed = Assert.Single(_rig.State.LoadInstalled().Failed);
        Assert.Equal(("desktop", 2L, 1L), (failed.Name, failed.Version, failed.Generation));
        var rolledBack = _rig.History.Read()[^1];
        Assert.Equal((HistoryEvent.RolledBack, 2L, (long?)1L), (rolledBack.Event, rolledBack.Version, rolledBack.FromVersion));
        _rig.AssertConsistent();
        // The journal marks both ends of the time from the failed check to the previous version running (the VM test measures it).
        var failedAt = _rig.Logged.FindIndex(m => m.StartsWith("Health check of desktop/2 (custom) failed, rolling back: no healthy signal", StringComparison.Ordinal));
        var restartedAt = _rig.Logged.FindIndex(m => m == "Started guest desktop on desktop/1 (custom)");
        Assert.True(failedAt >= 0 && restartedAt > failedAt, string.Join("\n", _rig.Logged));

        var again = await Reconcile(EngineRig.Desired(2, generation: 1, mode: ImageMode.Custom));
        Assert.Equal(ReconcileOutcome.NotRetried, again.Outcome);
        Assert.Equal(6, _rig.Guests.Actions.Count); // nothing was touched

        _rig.Health.BadBlobs.Clear(); // the Center re-issues (a fixed guest, in real life)
        Assert.Equal(ReconcileOutcome.Committed, (await Reconcile(EngineRig.Desired(2, generation: 2, mode: ImageMode.Custom))).Outcome);
        Assert.Equal(2, _rig.CurrentBase);
    }

    [Fact]
    public async Task A_rollback_that_xl_cut_short_is_finished_at_the_next_sync_not_left_in_flight()
    {
        var chain = _rig.PublishBase(2);
        await Reconcile(EngineRig.Desired(1));
        _rig.Health.BadBlobs.Add(chain[1].Sha256);
        // The destroy of the failed guest fails once, as xl did on TCG for a guest on its way down.
        var failures = 1;
        _rig.Guests.StopFailure = grace => grace == TimeSpan.Zero && failures-- > 0 ? new ProcessFailedException("'xl destroy desktop' exited with code 1") : null;

        await Assert.ThrowsAsync<ProcessFailedException>(() => Reconcile(EngineRig.Desired(2)));
        Assert.Equal(TransactionPhase.RollingBack, _rig.Engine.InFlight?.Phase);

        var next = await Reconcile(EngineRig.Desired(2));

        Assert.Null(_rig.Engine.InFlight);
        Assert.Equal(ReconcileOutcome.NotRetried, next.Outcome);
        Assert.Equal(1, _rig.CurrentBase);
        Assert.True(_rig.State.LoadInstalled().HasFailed("desktop", 2, 1));
        Assert.Equal(GuestState.Running, _rig.Guests.Runtime.State);
        Assert.Contains(_rig.History.Read(), h => h.Event == HistoryEvent.Recovered && h.Version == 2);
        _rig.AssertConsistent();
    }

    [Fact]
    public async Task A_guest_that_does_not_start_fails_the_check_and_is_rolled_back()
    {
        var chain = _rig.PublishBase(2);
        await Reconcile(EngineRig.Desired(1));
        _rig.Guests.StartFailure = _ => File.Exists(_rig.Layering.OsTop) && Qcow2.BackingOf(_rig.Layering.OsTop)!.EndsWith(chain[1].Sha256, StringComparison.Ordinal)
            ? new ProcessFailedException("'xl create' exited with code 3: libxl: error")
            : null;

        var result = await Reconcile(EngineRig.Desired(2));

        Assert.Equal(ReconcileOutcome.RolledBack, result.Outcome);
        Assert.Contains("the guest did not start", result.Message, StringComparison.Ordinal);
        Assert.Equal(1, _rig.CurrentBase);
        Assert.Equal(GuestState.Running, _rig.Guests.Runtime.State);
    }

    [Fact]
    public async Task An_unsigned_manifest_is_refused_and_nothing_changes()
    {
        _rig.PublishBase(2);
        await Reconcile(EngineRig.Desired(1));
        _rig.Fetcher.Manifests[("desktop", 2)] = _rig.Fetcher.Manifests[("desktop", 2)] with { Signature = null };
        var actions = _rig.Guests.Actions.Count;

        var result = await Reconcile(EngineRig.Desired(2));

        Assert.Equal(ReconcileOutcome.Refused, result.Outcome);
        Assert.Contains("NotSigned", result.Message, StringComparison.Ordinal);
        Assert.Equal(1, _rig.CurrentBase);
        Assert.Equal(actions, _rig.Guests.Actions.Count);
        Assert.Equal(HistoryEvent.Refused, _rig.History.Read()[^1].Event);
        Assert.Equal(result.Message, _rig.Engine.LastError);
        _rig.AssertConsistent();
    }

    [Fact]
    public async Task A_corrupted_blob_is_refused_and_the_old_version_keeps_running()
    {
        var chain = _rig.PublishBase(2);
        await Reconcile(EngineRig.Desired(1));
        var path = _rig.Publisher.BlobPath(chain[1]);
        var bytes = File.ReadAllBytes(path);
        bytes[^100] ^= 0xff;
        File.WriteAllBytes(path, bytes);

        var result = await Reconcile(EngineRig.Desired(2));

        Assert.Equal(ReconcileOutcome.Refused, result.Outcome);
        Assert.Contains("HashMismatch", result.Message, StringComparison.Ordinal);
        Assert.Equal(1, _rig.CurrentBase);
        Assert.False(_rig.Store.HasBlob(chain[1]));
        _rig.AssertConsistent();
    }

    [Fact]
    public async Task A_full_disk_while_staging_leaves_the_old_version_running()
    {
        _rig.PublishBase(2);
        await Reconcile(EngineRig.Desired(1));
        _rig.Fetcher.Failure = new DiskFullException("disk full while downloading blob x", new IOException("No space left on device"));

        var result = await Reconcile(EngineRig.Desired(2));

        Assert.Equal(ReconcileOutcome.Failed, result.Outcome);
        Assert.Contains("disk full", result.Message, StringComparison.Ordinal);
        Assert.Contains("desktop/1", result.Message, StringComparison.Ordinal);
        Assert.Equal(1, _rig.CurrentBase);
        Assert.Equal(GuestState.Running, _rig.Guests.Runtime.State);
        _rig.AssertConsistent();
    }

    [Fact]
    public async Task A_downgrade_is_refused_unless_the_publisher_signs_it_as_a_rollback()
    {
        var chain = _rig.PublishBase(2);
        await Reconcile(EngineRig.Desired(2));

        var downgrade = await Reconcile(EngineRig.Desired(1, generation: 2));
        Assert.Equal(ReconcileOutcome.Refused, downgrade.Outcome);
        Assert.Contains("Downgrade", downgrade.Message, StringComparison.Ordinal);
        Assert.Equal(2, _rig.CurrentBase);

        _rig.Fetcher.Add(_rig.Publisher.Publish(ContentKind.Base, "desktop", 1, [chain[0]], rollbackOf: 2));
        var rollback = await Reconcile(EngineRig.Desired(1, generation: 3));

        Assert.Equal(ReconcileOutcome.Committed, rollback.Outcome);
        Assert.Equal(1, _rig.CurrentBase);
    }

    [Fact]
    public async Task Apps_are_staged_and_attached_and_content_of_the_wrong_kind_is_refused()
    {
        _rig.PublishBase(1);
        var app = _rig.Publisher.Raw([9, 9, 9]);
        _rig.Fetcher.Add(_rig.Publisher.Publish(ContentKind.App, "office", 1, [app]));
        var office = new ContentRef("office", 1, "/content/manifests/office/1");

        var result = await Reconcile(EngineRig.Desired(1, apps: [office]));

        Assert.Equal(ReconcileOutcome.Committed, result.Outcome);
        Assert.Contains($"vdev=xvdb, access=rw, backendtype=qdisk, target={_rig.Layering.AppTop(0)}", _rig.Guests.LastConfig, StringComparison.Ordinal);
        Assert.Contains($"\"backing-filename\": \"{_rig.Layout.Blob(app.Sha256)}\"", Publisher.Run("qemu-img", "info", "-U", "--output=json", _rig.Layering.AppTop(0)), StringComparison.Ordinal);
        Assert.Equal([new VersionRef("office", 1)], _rig.State.LoadInstalled().Current!.AppRefs);

        var wrongKind = await Reconcile(EngineRig.Desired(1, apps: [new ContentRef("desktop", 1, "/content/manifests/desktop/1")]));
        Assert.Equal(ReconcileOutcome.Refused, wrongKind.Outcome);
        Assert.Contains("WrongContent", wrongKind.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Content_that_no_kept_version_uses_is_collected_after_a_commit()
    {
        _rig.PublishBase(1);
        var apps = new List<ManifestBlob>();
        for (var version = 1; version <= 3; version++)
        {
            apps.Add(_rig.Publisher.Raw([(byte)version, 1, 2]));
            _rig.Fetcher.Add(_rig.Publisher.Publish(ContentKind.App, "office", version, [apps[^1]]));
            var result = await Reconcile(EngineRig.Desired(1, generation: version, apps: [new ContentRef("office", version, "")]));
            Assert.Equal(ReconcileOutcome.Committed, result.Outcome);
        }

        // Current (office 3) and previous (office 2) stay; office 1 is gone, with its manifest.
        Assert.False(File.Exists(_rig.Layout.Blob(apps[0].Sha256)));
        Assert.False(File.Exists(_rig.Layout.Manifest("office", 1)));
        Assert.True(_rig.Store.HasBlob(apps[1]));
        Assert.True(_rig.Store.HasBlob(apps[2]));
        Assert.True(_rig.Store.HasBlob(_rig.Base1));
        _rig.AssertConsistent();
    }

    [Fact]
    public async Task Rollback_now_returns_to_the_previous_committed_version_and_blocks_the_bad_one()
    {
        _rig.PublishBase(2);
        await Reconcile(EngineRig.Desired(1));
        await Reconcile(EngineRig.Desired(2));

        var result = await _rig.Engine.RollbackNowAsync(CancellationToken.None);

        Assert.Equal(ReconcileOutcome.Committed, result.Outcome);
        Assert.Equal(1, _rig.CurrentBase);
        Assert.Contains(_rig.History.Read(), e => e.Event == HistoryEvent.RolledBack && e.Reason!.Contains("operator", StringComparison.Ordinal));
        Assert.Equal(ReconcileOutcome.NotRetried, (await Reconcile(EngineRig.Desired(2))).Outcome);
        Assert.Equal(ReconcileOutcome.NoContent, (await _rig.Engine.RollbackNowAsync(CancellationToken.None)).Outcome);
        _rig.AssertConsistent();
    }

    [Fact]
    public async Task Rollback_now_during_a_health_check_rolls_the_transaction_back()
    {
        _rig.PublishBase(2);
        await Reconcile(EngineRig.Desired(1));
        _rig.Health.Pending = new TaskCompletionSource<HealthResult>(); // the guest never answers

        var patch = Reconcile(EngineRig.Desired(2));
        var deadline = TimeProvider.System.GetTimestamp();
        while (_rig.Engine.InFlight is null && !patch.IsCompleted)
        {
            Assert.True(TimeProvider.System.GetElapsedTime(deadline) < TimeSpan.FromSeconds(30), "the transaction did not start");
            await Task.Delay(5);
        }

        var ack = await _rig.Engine.RollbackNowAsync(CancellationToken.None);
        var result = await patch.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(ReconcileOutcome.RolledBack, ack.Outcome);
        Assert.Equal(ReconcileOutcome.RolledBack, result.Outcome);
        Assert.Contains("operator", result.Message, StringComparison.Ordinal);
        Assert.Equal(1, _rig.CurrentBase);
    }

    [Fact]
    public async Task Shared_mode_discards_the_users_changes_when_the_guest_is_started_again()
    {
        _rig.PublishBase(1);
        await Reconcile(EngineRig.Desired(1));
        Publisher.Run("qemu-io", "-f", "qcow2", "-c", "write -P 0x77 0 64k", _rig.Layering.OsTop);
        _rig.Guests.Runtime = new GuestRuntime(GuestState.Absent, null); // the user shut the desktop down

        await _rig.Engine.EnsureGuestRunningAsync(CancellationToken.None);

        Assert.Equal(GuestState.Running, _rig.Guests.Runtime.State);
        Assert.False(Publisher.Reads(_rig.Layering.OsTop, 0x77));
    }

    [Fact]
    public async Task A_locked_out_engine_does_not_start_the_guest()
    {
        _rig.PublishBase(1);
        await Reconcile(EngineRig.Desired(1));
        _rig.Guests.Runtime = new GuestRuntime(GuestState.Absent, null);
        _rig.Engine.LockedOut = true;

        await _rig.Engine.EnsureGuestRunningAsync(CancellationToken.None);

        Assert.Equal(GuestState.Absent, _rig.Guests.Runtime.State);
    }

    public static TheoryData<string, bool, long> PowerCuts => new()
    {
        // step, bad patch?, the version running after the reboot
        { "staged", false, 1 },
        { "switching", false, 1 },
        { "guest-stopped", false, 1 },
        { "top-backed-up", false, 1 },
        { "top-rebased", false, 1 },
        { "installed-switched", false, 1 },
        { "switched", false, 1 },
        { "guest-started", false, 1 },
        { "committing", false, 2 },
        { "committed-state", false, 2 },
        { "rolling-back", true, 1 },
        { "rollback-top-restored", true, 1 },
        { "rollback-state", true, 1 },
    };

    [Theory]
    [MemberData(nameof(PowerCuts))]
    public async Task A_power_cut_at_any_step_recovers_to_the_old_or_the_new_version_never_a_mixture(string step, bool badPatch, long expected)
    {
        var chain = _rig.PublishBase(2);
        await Reconcile(EngineRig.Desired(1, mode: ImageMode.Custom));
        Publisher.Run("qemu-io", "-f", "qcow2", "-c", "write -P 0x77 0 64k", _rig.Layering.OsTop); // the user's own change
        if (badPatch)
        {
            _rig.Health.BadBlobs.Add(chain[1].Sha256);
        }

        var reached = false;
        _rig.Engine.Step = s =>
        {
            if (s == step)
            {
                reached = true;
                throw new SimulatedPowerCut(s);
            }
        };
        await Assert.ThrowsAsync<SimulatedPowerCut>(() => Reconcile(EngineRig.Desired(2, mode: ImageMode.Custom)));
        Assert.True(reached);

        var engine = _rig.Reboot();
        await engine.RecoverAsync(CancellationToken.None);
        await engine.EnsureGuestRunningAsync(CancellationToken.None);

        Assert.Equal(expected, _rig.CurrentBase);
        _rig.AssertConsistent();
        Assert.Equal(GuestState.Running, _rig.Guests.Runtime.State);
        Assert.True(Publisher.Reads(_rig.Layering.OsTop, 0x77)); // the user's change survives either way
        Assert.Equal(expected == 2, Publisher.Reads(_rig.Layering.OsTop, 0x20, 2 * 64 * 1024));
        Assert.Equal(HistoryEvent.Recovered, _rig.History.Read()[^1].Event);
        Assert.Equal(badPatch, _rig.State.LoadInstalled().HasFailed("desktop", 2, 1));

        // And the device carries on: a good patch goes through after the recovery.
        _rig.Health.BadBlobs.Clear();
        var next = await engine.ReconcileAsync(EngineRig.Desired(2, generation: 2, mode: ImageMode.Custom), CancellationToken.None);
        Assert.Equal(expected == 2 ? ReconcileOutcome.UpToDate : ReconcileOutcome.Committed, next.Outcome);
        Assert.Equal(2, _rig.CurrentBase);
        _rig.AssertConsistent();
    }

    [Theory]
    [InlineData("installed-switched", 1)]
    [InlineData("committed-state", 2)]
    public async Task A_power_cut_in_shared_mode_recovers_too(string step, long expected)
    {
        _rig.PublishBase(2);
        await Reconcile(EngineRig.Desired(1));
        _rig.Engine.Step = s => _ = s == step ? throw new SimulatedPowerCut(s) : 0;
        await Assert.ThrowsAsync<SimulatedPowerCut>(() => Reconcile(EngineRig.Desired(2)));

        var engine = _rig.Reboot();
        await engine.RecoverAsync(CancellationToken.None);
        await engine.EnsureGuestRunningAsync(CancellationToken.None);

        Assert.Equal(expected, _rig.CurrentBase);
        _rig.AssertConsistent();
    }
}
