using Microsoft.Extensions.Time.Testing;
using NxTop.Center.Storage;
using NxTop.Contracts;
using NxTop.Contracts.Center;

namespace NxTop.Center.Tests;

/// <summary>
/// What every store must do, run against SQLite and PostgreSQL alike. Each case gets a fresh,
/// migrated store from <c>open</c>; calling <c>open</c> again gives a second store on the same
/// database (a restart).
/// </summary>
internal static class StoreContract
{
    public static FakeTimeProvider Clock() => new(new DateTimeOffset(2026, 11, 24, 12, 0, 0, TimeSpan.Zero));

    public static async Task Migrations_are_idempotent(Func<Task<SqlCenterStore>> open)
    {
        await using var store = await open();
        await store.MigrateAsync(default);
        await store.MigrateAsync(default);
        Assert.Equal(Migrations.All[^1].Version, await store.SchemaVersionAsync(default));
    }

    public static async Task An_enrollment_token_is_spent_once_and_expires(Func<Task<SqlCenterStore>> open, FakeTimeProvider clock)
    {
        await using var store = await open();
        var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
        await store.PutGroupAsync("lab", GroupRing.General, default);
        await store.AddEnrollmentTokensAsync([new EnrollmentTokenRecord("t1", "lab", now, now + 60_000)], default);
        await store.AddEnrollmentTokensAsync([new EnrollmentTokenRecord("t2", null, now, now + 60_000)], default);

        var device = await store.RedeemEnrollmentTokenAsync("t1", "d1", "pc-1", "c1", null, default);
        Assert.NotNull(device);
        Assert.Equal("lab", device.Group);
        Assert.Null(await store.RedeemEnrollmentTokenAsync("t1", "d2", "pc-2", "c2", null, default));
        Assert.Null(await store.RedeemEnrollmentTokenAsync("unknown", "d3", "pc-3", "c3", null, default));

        clock.Advance(TimeSpan.FromMinutes(2));
        Assert.Null(await store.RedeemEnrollmentTokenAsync("t2", "d4", "pc-4", "c4", null, default));

        Assert.Equal("d1", (await store.FindDeviceByCredentialAsync("c1", default))?.Id);
        Assert.Null(await store.FindDeviceByCredentialAsync("c2", default));
        Assert.Single(await store.ListDevicesAsync(null, default));
    }

    public static async Task A_repeated_report_is_stored_once(Func<Task<SqlCenterStore>> open, FakeTimeProvider clock)
    {
        await using var store = await open();
        await Enroll(store, clock, "d1");
        var summary = new ReportSummary("desktop@2", "healthy", null,
        [
            new DeviceEvent(1, "applied", "desktop", 2, null),
            new DeviceEvent(2, DeviceEvents.RolledBack, "desktop", 1, "from 2: health check failed"),
        ]);
        Assert.True(await store.RecordReportAsync("d1", "r1", "{}", summary, default));
        Assert.False(await store.RecordReportAsync("d1", "r1", "{}", summary, default));
        Assert.True(await store.RecordReportAsync("d2-not-enrolled-but-separate", "r1", "{}", summary with { Events = [] }, default));

        var device = await store.GetDeviceAsync("d1", default);
        Assert.Equal(1, device!.Rollbacks);
        Assert.Equal("desktop@2", device.BaseVersion);
        var history = await store.GetHistoryAsync("d1", 100, default);
        Assert.Equal(["rolledBack", "applied", "enrolled"], history.Select(h => h.Event));
    }

    public static async Task Publishing_records_the_artifact_and_moves_the_track_together(Func<Task<SqlCenterStore>> open)
    {
        await using var store = await open();
        var blob = new ManifestBlob(new string('a', 64), 10, BlobRole.Disk, MediaTypes.Qcow2);
        var v1 = new ArtifactRecord(ContentKind.Base, "desktop", 1, "{\"m\":1}", [blob], 1);
        Assert.True(await store.PublishArtifactAsync(v1, makeCurrent: true, makeStaged: false, default));
        Assert.False(await store.PublishArtifactAsync(v1 with { SignedManifest = "other" }, makeCurrent: true, makeStaged: false, default));
        var delta = new ManifestBlob(new string('b', 64), 5, BlobRole.Disk, MediaTypes.Qcow2);
        Assert.True(await store.PublishArtifactAsync(new ArtifactRecord(ContentKind.Base, "desktop", 2, "{\"m\":2}", [blob, delta], 2), makeCurrent: false, makeStaged: true, default));

        Assert.Equal(new Track("desktop", ContentKind.Base, 1, 2), await store.GetTrackAsync("desktop", default));
        Assert.Equal([1L, 2L], await store.ListVersionsAsync("desktop", default));
        var v2 = await store.GetArtifactAsync("desktop", 2, default);
        Assert.Equal([blob, delta], v2!.Blobs);
        Assert.Equal("{\"m\":1}", (await store.GetArtifactAsync("desktop", 1, default))!.SignedManifest);
        Assert.True(await store.IsBlobReferencedAsync(delta.Sha256, default));
        Assert.False(await store.IsBlobReferencedAsync(new string('c', 64), default));
    }

    public static async Task Moving_a_thousand_devices_into_a_group_is_one_call(Func<Task<SqlCenterStore>> open, FakeTimeProvider clock)
    {
        await using var store = await open();
        var ids = Enumerable.Range(0, 1000).Select(i => $"d{i}").ToList();
        await Parallel.ForEachAsync(ids, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (id, _) => await Enroll(store, clock, id));

        await store.PutGroupAsync("floor-3", GroupRing.Pilot, default);
        Assert.Equal(1000, await store.SetGroupAsync([.. ids, "no-such-device"], "floor-3", default));
        var group = await store.GetGroupAsync("floor-3", default);
        Assert.Equal(1000, group!.Members);
        Assert.Equal(GroupRing.Pilot, group.Ring);
        Assert.Equal(1000, (await store.ListDevicesAsync("floor-3", default)).Count);
    }

    public static async Task Assignments_round_trip_and_the_desired_generation_moves_only_on_change(Func<Task<SqlCenterStore>> open, FakeTimeProvider clock)
    {
        await using var store = await open();
        await Enroll(store, clock, "d1");
        var policy = new DevicePolicy(ImageMode.Custom, 120, 7, LockoutAction.PauseGuest);
        var assignment = new Assignment(AssignmentTarget.Group, "lab", "desktop", null, [new AppAssignment("office", 3), new AppAssignment("cad", null)], policy, 5);
        await store.PutAssignmentAsync(assignment, default);
        Assert.Equal(assignment with { UpdatedAt = clock.GetUtcNow().ToUnixTimeMilliseconds() }, await store.GetAssignmentAsync(AssignmentTarget.Group, "lab", default), AssignmentComparer.Instance);
        Assert.Null(await store.GetAssignmentAsync(AssignmentTarget.Device, "lab", default));

        Assert.Equal(1, await store.UpdateDesiredAsync("d1", "a", default));
        Assert.Equal(1, await store.UpdateDesiredAsync("d1", "a", default));
        Assert.Equal(2, await store.UpdateDesiredAsync("d1", "b", default));

        Assert.True(await store.DeleteAssignmentAsync(AssignmentTarget.Group, "lab", default));
        Assert.False(await store.DeleteAssignmentAsync(AssignmentTarget.Group, "lab", default));
    }

    public static async Task A_kill_is_recorded_and_delivered_once(Func<Task<SqlCenterStore>> open, FakeTimeProvider clock)
    {
        await using var store = await open();
        await Enroll(store, clock, "d1");
        Assert.False(await store.RequestKillAsync("nobody", default));
        Assert.True(await store.RequestKillAsync("d1", default));
        await store.MarkKillDeliveredAsync("d1", default);
        await store.MarkKillDeliveredAsync("d1", default);
        var device = await store.GetDeviceAsync("d1", default);
        Assert.NotNull(device!.KillRequestedAt);
        Assert.NotNull(device.KillDeliveredAt);
        var events = (await store.GetHistoryAsync("d1", 10, default)).Select(e => e.Event).ToList();
        Assert.Equal(1, events.Count(e => e == DeviceEvents.KillDelivered));
        Assert.Equal(1, (await store.CountFleetAsync(0, default)).KillPending);
    }

    public static async Task What_was_acknowledged_survives_a_restart(Func<Task<SqlCenterStore>> open, FakeTimeProvider clock)
    {
        await using (var first = await open())
        {
            await Enroll(first, clock, "d1");
            await first.AddAdminCredentialAsync("ops", "h", default);
            await first.RecordReportAsync("d1", "r1", "{}", new ReportSummary("desktop@1", "healthy", null, []), default);
        }

        await using var second = await open();
        Assert.Equal("desktop@1", (await second.GetDeviceAsync("d1", default))!.BaseVersion);
        Assert.Equal("ops", (await second.FindAdminCredentialAsync("h", default))!.Name);
        Assert.False(await second.RecordReportAsync("d1", "r1", "{}", new ReportSummary(null, null, null, []), default));
    }

    public static async Task Fleet_counts_group_by_version_and_health(Func<Task<SqlCenterStore>> open, FakeTimeProvider clock)
    {
        await using var store = await open();
        await Enroll(store, clock, "d1");
        await Enroll(store, clock, "d2");
        await Enroll(store, clock, "d3");
        await store.RecordReportAsync("d1", "r", "{}", new ReportSummary("desktop@2", "healthy", null, []), default);
        await store.RecordReportAsync("d2", "r", "{}", new ReportSummary("desktop@2", "unhealthy", null, [new DeviceEvent(1, DeviceEvents.RolledBack, "desktop", 1, null)]), default);
        clock.Advance(TimeSpan.FromHours(2));
        var counts = await store.CountFleetAsync(clock.GetUtcNow().AddHours(-1).ToUnixTimeMilliseconds(), default);
        Assert.Equal(3, counts.Devices);
        Assert.Equal(3, counts.OutOfContact);
        Assert.Equal(1, counts.WithRollbacks);
        Assert.Equal([new CountItem("(none reported)", 1), new CountItem("desktop@2", 2)], counts.ByBaseVersion);
        Assert.Contains(new CountItem("unhealthy", 1), counts.ByHealth);
    }

    public static async Task Admin_credentials_are_listed_and_revoked_but_never_the_last(Func<Task<SqlCenterStore>> open)
    {
        await using var store = await open();
        await store.AddAdminCredentialAsync("first", "h1", default);
        await store.AddAdminCredentialAsync("second", "h2", default);
        var listed = await store.ListAdminCredentialsAsync(default);
        Assert.Equal(["first", "second"], listed.Select(c => c.Name));
        Assert.Equal(AdminRevocation.Revoked, await store.RevokeAdminCredentialAsync(listed[0].Id, default));
        Assert.Null(await store.FindAdminCredentialAsync("h1", default));
        Assert.Equal(AdminRevocation.NotFound, await store.RevokeAdminCredentialAsync(listed[0].Id, default));
        Assert.Equal(AdminRevocation.LastCredential, await store.RevokeAdminCredentialAsync(listed[1].Id, default));
        Assert.NotNull(await store.FindAdminCredentialAsync("h2", default));
    }

    public static async Task Referenced_blobs_are_those_of_published_manifests(Func<Task<SqlCenterStore>> open, FakeTimeProvider clock)
    {
        await using var store = await open();
        Assert.Empty(await store.ListReferencedBlobsAsync(default));
        var a = new string('a', 64);
        var b = new string('b', 64);
        var blobs = new[] { new ManifestBlob(a, 1, BlobRole.Disk, MediaTypes.Qcow2), new ManifestBlob(b, 1, BlobRole.Disk, MediaTypes.Qcow2) };
        var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
        Assert.True(await store.PublishArtifactAsync(new ArtifactRecord(ContentKind.Base, "desktop", 1, "{}", blobs[..1], now), true, false, default));
        Assert.True(await store.PublishArtifactAsync(new ArtifactRecord(ContentKind.Base, "desktop", 2, "{}", blobs, now), true, false, default));
        Assert.Equal([a, b], (await store.ListReferencedBlobsAsync(default)).Order(StringComparer.Ordinal));
    }

    public static async Task A_failing_write_among_concurrent_ones_fails_alone(Func<Task<SqlCenterStore>> open, FakeTimeProvider clock)
    {
        await using var store = await open();
        await Enroll(store, clock, "d1");
        var reports = Enumerable.Range(0, 50).Select(i => store.RecordReportAsync("d1", $"r{i}", "{}", new ReportSummary(null, null, null, []), default)).ToList();
        var duplicates = new[] { store.AddAdminCredentialAsync("a", "same-hash", default), store.AddAdminCredentialAsync("b", "same-hash", default) };
        Assert.All(await Task.WhenAll(reports), Assert.True);
        var outcomes = await Task.WhenAll(duplicates.Select(async t =>
        {
            try
            {
                await t;
                return true;
            }
            catch (System.Data.Common.DbException)
            {
                return false;
            }
        }));
        Assert.Equal(1, outcomes.Count(ok => ok));
        Assert.Equal(1, await store.CountAdminCredentialsAsync(default));
        Assert.False(await store.RecordReportAsync("d1", "r49", "{}", new ReportSummary(null, null, null, []), default));
    }

    public static async Task Contact_times_are_written_in_batches_and_never_go_back(Func<Task<SqlCenterStore>> open, FakeTimeProvider clock)
    {
        await using var store = await open();
        await Enroll(store, clock, "d1");
        await Enroll(store, clock, "d2");
        var enrolled = clock.GetUtcNow().ToUnixTimeMilliseconds();
        await store.TouchDevicesAsync([new("d1", enrolled + 5000), new("d2", enrolled - 5000), new("ghost", enrolled)], default);
        Assert.Equal(enrolled + 5000, (await store.GetDeviceAsync("d1", default))!.LastContact);
        Assert.Equal(enrolled, (await store.GetDeviceAsync("d2", default))!.LastContact);
        Assert.Equal(GroupRing.Pilot, await PutAndGetRing(store));
        Assert.Null(await store.GetGroupRingAsync("none", default));
    }

    private static async Task<GroupRing?> PutAndGetRing(SqlCenterStore store)
    {
        await store.PutGroupAsync("p", GroupRing.Pilot, default);
        return await store.GetGroupRingAsync("p", default);
    }

    private static async Task Enroll(SqlCenterStore store, FakeTimeProvider clock, string id)
    {
        var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
        await store.AddEnrollmentTokensAsync([new EnrollmentTokenRecord("t-" + id, null, now, now + 60_000)], default);
        Assert.NotNull(await store.RedeemEnrollmentTokenAsync("t-" + id, id, "pc-" + id, "c-" + id, null, default));
    }

    private sealed class AssignmentComparer : IEqualityComparer<Assignment?>
    {
        public static AssignmentComparer Instance { get; } = new();

        public bool Equals(Assignment? x, Assignment? y) =>
            x is not null && y is not null && x with { Apps = [] } == y with { Apps = [] } && x.Apps.SequenceEqual(y.Apps);

        public int GetHashCode(Assignment? obj) => 0;
    }
}
