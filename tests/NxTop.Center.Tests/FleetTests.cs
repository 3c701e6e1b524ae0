using System.Net;
using System.Net.Http.Json;
using NxTop.Center.Storage;
using NxTop.Contracts;
using NxTop.Contracts.Center;

namespace NxTop.Center.Tests;

public sealed class FleetTests : IDisposable
{
    private readonly CenterFactory center = new();

    public void Dispose() => center.Dispose();

    private static async Task<DesiredState?> DesiredAsync(HttpClient device, string id)
    {
        using var response = await device.GetAsync(ApiRoutes.DesiredState(id));
        if (response.StatusCode == HttpStatusCode.NoContent)
        {
            return null;
        }

        await Expect.Status(response, HttpStatusCode.OK);
        return await response.Content.ReadFromJsonAsync(ContractsJsonContext.Default.DesiredState);
    }

    [Fact]
    public async Task A_pilot_group_gets_the_staged_patch_first_and_everyone_after_promotion()
    {
        await center.PublishAsync(ContentKind.Base, "desktop", "v1");
        await center.PublishAsync(ContentKind.Base, "desktop", "v2 delta", patchOf: 1);
        await center.PublishAsync(ContentKind.App, "office", "office v1");
        await center.PutGroupAsync("pilot", GroupRing.Pilot);
        await center.PutGroupAsync("everyone");
        await center.AssignAsync(CenterRoutes.AdminGroupAssignment("pilot"), "desktop", apps: [new AppAssignment("office", null)]);
        await center.AssignAsync(CenterRoutes.AdminGroupAssignment("everyone"), "desktop", apps: [new AppAssignment("office", null)]);
        var pilot = await center.EnrollAsync("pilot");
        var worker = await center.EnrollAsync("everyone");
        using var asPilot = center.Device(pilot.Credential);
        using var asWorker = center.Device(worker.Credential);

        var pilotState = await DesiredAsync(asPilot, pilot.DeviceId);
        var workerState = await DesiredAsync(asWorker, worker.DeviceId);
        Assert.Equal(2, pilotState!.Base.Version);
        Assert.Equal(1, workerState!.Base.Version);
        Assert.Equal(ApiRoutes.Manifest("desktop", 2), pilotState.Base.ManifestUrl);
        Assert.Equal([new ContentRef("office", 1, ApiRoutes.Manifest("office", 1))], workerState.Apps);
        Assert.Equal(CenterFactory.Policy, workerState.Policy);

        // The same answer again keeps its generation; a promotion moves it for the general ring only.
        Assert.Equal(workerState.Generation, (await DesiredAsync(asWorker, worker.DeviceId))!.Generation);
        using var admin = center.Admin();
        using (var promote = await admin.PostAsync(CenterRoutes.AdminPromote("desktop"), null))
        {
            await Expect.Status(promote, HttpStatusCode.OK);
        }

        var promoted = await DesiredAsync(asWorker, worker.DeviceId);
        Assert.Equal(2, promoted!.Base.Version);
        Assert.True(promoted.Generation > workerState.Generation);
        Assert.Equal(pilotState.Generation, (await DesiredAsync(asPilot, pilot.DeviceId))!.Generation);

        var track = await admin.GetFromJsonAsync(CenterRoutes.AdminTrack("desktop"), CenterJsonContext.Default.TrackInfo);
        Assert.Equal(new long?[] { 2, null }, new[] { track!.Current, track.Staged });
    }

    [Fact]
    public async Task A_device_assignment_wins_over_its_group_and_a_pin_holds_a_version()
    {
        await center.PublishAsync(ContentKind.Base, "desktop", "v1");
        await center.PublishAsync(ContentKind.Base, "desktop", "v2", PublishChannel.Current);
        await center.PutGroupAsync("lab");
        await center.AssignAsync(CenterRoutes.AdminGroupAssignment("lab"), "desktop");
        var device = await center.EnrollAsync("lab");
        using var client = center.Device(device.Credential);
        Assert.Equal(2, (await DesiredAsync(client, device.DeviceId))!.Base.Version);

        await center.AssignAsync(CenterRoutes.AdminDeviceAssignment(device.DeviceId), "desktop", baseVersion: 1);
        Assert.Equal(1, (await DesiredAsync(client, device.DeviceId))!.Base.Version);

        var unassigned = await center.EnrollAsync();
        using var other = center.Device(unassigned.Credential);
        Assert.Null(await DesiredAsync(other, unassigned.DeviceId));
    }

    [Fact]
    public async Task Assigning_a_group_of_a_thousand_devices_is_one_action()
    {
        await center.PublishAsync(ContentKind.Base, "desktop", "v1");
        await center.PutGroupAsync("floor-3");
        var store = center.Store;
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var ids = Enumerable.Range(0, 1000).Select(i => $"dev{i:D4}").ToList();
        await Parallel.ForEachAsync(ids, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (id, ct) =>
        {
            await store.AddEnrollmentTokensAsync([new EnrollmentTokenRecord("t" + id, null, now, now + 60_000)], ct);
            await store.RedeemEnrollmentTokenAsync("t" + id, id, id, Security.Secrets.Hash("nxd_" + id), null, ct);
        });

        using var admin = center.Admin();
        using (var move = await admin.PostAsJsonAsync(CenterRoutes.AdminGroupMembers("floor-3"), new GroupMembersRequest([.. ids, "ghost"]), CenterJsonContext.Default.GroupMembersRequest))
        {
            await Expect.Status(move, HttpStatusCode.OK);
            Assert.Equal(new GroupMembersResult(1000, 1), await move.Content.ReadFromJsonAsync(CenterJsonContext.Default.GroupMembersResult));
        }

        await center.AssignAsync(CenterRoutes.AdminGroupAssignment("floor-3"), "desktop");
        foreach (var id in new[] { ids[0], ids[500], ids[999] })
        {
            using var device = center.Device("nxd_" + id);
            Assert.Equal(1, (await DesiredAsync(device, id))!.Base.Version);
        }

        var group = await admin.GetFromJsonAsync(CenterRoutes.AdminGroup("floor-3"), CenterJsonContext.Default.GroupInfo);
        Assert.Equal(1000, group!.Members);
    }

    [Fact]
    public async Task Reports_are_idempotent_and_feed_history_rollbacks_and_the_fleet_overview()
    {
        await center.PublishAsync(ContentKind.Base, "desktop", "v1");
        var device = await center.EnrollAsync(hostname: "pc-7");
        using var client = center.Device(device.Credential);
        var at = DateTimeOffset.UnixEpoch.AddDays(20000);
        var report = Reports.Healthy(device.DeviceId, "r-1", "desktop", 1,
            new HistoryEntry(at, HistoryEvent.Applied, "desktop", 2, 1, null),
            new HistoryEntry(at.AddMinutes(5), HistoryEvent.RolledBack, "desktop", 1, 2, "health check deadline passed"));

        using (var first = await client.PostAsJsonAsync(ApiRoutes.Reports(device.DeviceId), report, ContractsJsonContext.Default.StatusReport))
        {
            Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
        }

        using (var retry = await client.PostAsJsonAsync(ApiRoutes.Reports(device.DeviceId), report, ContractsJsonContext.Default.StatusReport))
        {
            Assert.Equal(HttpStatusCode.OK, retry.StatusCode);
        }

        using var admin = center.Admin();
        var detail = await admin.GetFromJsonAsync(CenterRoutes.AdminDevice(device.DeviceId), CenterJsonContext.Default.DeviceDetail);
        Assert.Equal(1, detail!.Device.Rollbacks);
        Assert.Equal("desktop@1", detail.Device.BaseVersion);
        Assert.Equal("healthy", detail.Device.Health);
        Assert.Equal("r-1", detail.LastReport!.ReportId);
        Assert.Equal(["rolledBack", "applied", "enrolled"], detail.History.Select(h => h.Event));
        Assert.Equal("from 2: health check deadline passed", detail.History[0].Detail);

        var fleet = await admin.GetFromJsonAsync(CenterRoutes.AdminFleet, CenterJsonContext.Default.FleetOverview);
        Assert.Equal(1, fleet!.Devices);
        Assert.Equal(1, fleet.WithRollbacks);
        Assert.Equal([new CountItem("desktop@1", 1)], fleet.ByBaseVersion);
    }

    [Fact]
    public async Task A_kill_is_delivered_at_the_next_contact_and_cuts_off_content()
    {
        var published = await center.PublishAsync(ContentKind.Base, "desktop", "v1");
        var device = await center.EnrollAsync();
        await center.AssignAsync(CenterRoutes.AdminDeviceAssignment(device.DeviceId), "desktop");
        using var client = center.Device(device.Credential);
        using (var commands = await client.GetAsync(CenterRoutes.Commands(device.DeviceId)))
        {
            Assert.Empty((await commands.Content.ReadFromJsonAsync(CenterJsonContext.Default.DeviceCommands))!.Commands);
        }

        using var admin = center.Admin();
        using (var kill = await admin.PostAsync(CenterRoutes.AdminDeviceKill(device.DeviceId), null))
        {
            Assert.Equal(HttpStatusCode.Accepted, kill.StatusCode);
        }

        using (var unknown = await admin.PostAsync(CenterRoutes.AdminDeviceKill("nobody"), null))
        {
            Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        }

        using (var desired = await client.GetAsync(ApiRoutes.DesiredState(device.DeviceId)))
        {
            Assert.Equal(HttpStatusCode.Gone, desired.StatusCode);
            var command = await desired.Content.ReadFromJsonAsync(CenterJsonContext.Default.DeviceCommand);
            Assert.Equal(DeviceCommandKind.Wipe, command!.Kind);
        }

        using (var commands = await client.GetAsync(CenterRoutes.Commands(device.DeviceId)))
        {
            Assert.Equal(DeviceCommandKind.Wipe, Assert.Single((await commands.Content.ReadFromJsonAsync(CenterJsonContext.Default.DeviceCommands))!.Commands).Kind);
        }

        using (var blob = await client.GetAsync(ApiRoutes.Blob(published.Blobs[0].Sha256)))
        {
            Assert.Equal(HttpStatusCode.Forbidden, blob.StatusCode);
        }

        var detail = await admin.GetFromJsonAsync(CenterRoutes.AdminDevice(device.DeviceId), CenterJsonContext.Default.DeviceDetail);
        Assert.NotNull(detail!.Device.KillDelivered);
        Assert.Contains(detail.History, h => h.Event == DeviceEvents.KillDelivered);
    }

    [Fact]
    public async Task After_a_restart_credentials_devices_and_content_are_all_there()
    {
        var data = TempDirectory.Create("nxtop-restart-");
        try
        {
            EnrollmentResponse device;
            PublishedContent published;
            string adminToken;
            string keyId;
            using (var first = new CenterFactory(data))
            {
                published = await first.PublishAsync(ContentKind.Base, "desktop", "v1");
                device = await first.EnrollAsync();
                await first.AssignAsync(CenterRoutes.AdminDeviceAssignment(device.DeviceId), "desktop");
                adminToken = first.AdminToken;
                keyId = published.KeyId;
            }

            using var second = new CenterFactory(data);
            using var client = second.Device(device.Credential);
            Assert.Equal(1, (await DesiredAsync(client, device.DeviceId))!.Base.Version);
            using var blob = await client.GetAsync(ApiRoutes.Blob(published.Blobs[0].Sha256));
            Assert.Equal("v1", await blob.Content.ReadAsStringAsync());

            // A download cut by the restart resumes: same strong ETag, so If-Range still gets the rest.
            using var resume = new HttpRequestMessage(HttpMethod.Get, ApiRoutes.Blob(published.Blobs[0].Sha256));
            resume.Headers.Range = new System.Net.Http.Headers.RangeHeaderValue(1, null);
            resume.Headers.IfRange = new System.Net.Http.Headers.RangeConditionHeaderValue($"\"{published.Blobs[0].Sha256}\"");
            using var rest = await client.SendAsync(resume);
            Assert.Equal(HttpStatusCode.PartialContent, rest.StatusCode);
            Assert.Equal("1", await rest.Content.ReadAsStringAsync());
            Assert.Equal(adminToken, second.AdminToken);
            var again = await second.PublishAsync(ContentKind.Base, "desktop", "v2");
            Assert.Equal(keyId, again.KeyId);
        }
        finally
        {
            TempDirectory.Delete(data);
        }
    }
}
