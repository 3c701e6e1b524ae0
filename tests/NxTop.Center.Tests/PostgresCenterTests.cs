using System.Net;
using System.Net.Http.Json;
using NxTop.Contracts;
using NxTop.Contracts.Center;

namespace NxTop.Center.Tests;

/// <summary>The whole Center on PostgreSQL, chosen by nothing but the connection string.</summary>
[Collection(PostgresServerGroup.Name)]
[Trait("Category", "Postgres")]
public sealed class PostgresCenterTests(PostgresServer server)
{
    [PostgresFact]
    public async Task Publish_enroll_assign_poll_and_report_on_PostgreSQL()
    {
        using var center = new CenterFactory(connectionString: await server.CreateDatabaseAsync());
        Assert.Equal("postgresql", center.Store.Provider);
        var published = await center.PublishAsync(ContentKind.Base, "desktop", "v1");
        await center.PutGroupAsync("lab", GroupRing.Pilot);
        var device = await center.EnrollAsync("lab");
        await center.AssignAsync(CenterRoutes.AdminGroupAssignment("lab"), "desktop");

        using var client = center.Device(device.Credential);
        var desired = await client.GetFromJsonAsync(ApiRoutes.DesiredState(device.DeviceId), ContractsJsonContext.Default.DesiredState);
        Assert.Equal(1, desired!.Base.Version);
        using var blob = await client.GetAsync(ApiRoutes.Blob(published.Blobs[0].Sha256));
        Assert.Equal("v1", await blob.Content.ReadAsStringAsync());

        var report = Reports.Healthy(device.DeviceId, "r1", "desktop", 1);
        using (var first = await client.PostAsJsonAsync(ApiRoutes.Reports(device.DeviceId), report, ContractsJsonContext.Default.StatusReport))
        {
            Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
        }

        using (var again = await client.PostAsJsonAsync(ApiRoutes.Reports(device.DeviceId), report, ContractsJsonContext.Default.StatusReport))
        {
            Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        }

        using var admin = center.Admin();
        var fleet = await admin.GetFromJsonAsync(CenterRoutes.AdminFleet, CenterJsonContext.Default.FleetOverview);
        Assert.Equal([new CountItem("desktop@1", 1)], fleet!.ByBaseVersion);
    }
}
