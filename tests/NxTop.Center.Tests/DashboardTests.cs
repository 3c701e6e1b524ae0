using System.Net;
using Microsoft.AspNetCore.Mvc.Testing;
using NxTop.Contracts;

namespace NxTop.Center.Tests;

public sealed class DashboardTests : IDisposable
{
    private readonly CenterFactory center = new();

    public void Dispose() => center.Dispose();

    private HttpClient Browser() => center.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false, HandleCookies = true });

    private static async Task<HttpResponseMessage> SignIn(HttpClient browser, string token)
    {
        using var form = new FormUrlEncodedContent([new KeyValuePair<string, string>("token", token)]);
        return await browser.PostAsync("/dashboard/login", form);
    }

    [Fact]
    public async Task Pages_need_a_signed_in_admin()
    {
        using var browser = Browser();
        using var anonymous = await browser.GetAsync("/dashboard");
        Assert.Equal(HttpStatusCode.Redirect, anonymous.StatusCode);
        Assert.Equal("/dashboard/login", anonymous.Headers.Location!.OriginalString);

        using var wrong = await SignIn(browser, "nxa_wrong");
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);

        var device = await center.EnrollAsync();
        using var deviceToken = await SignIn(browser, device.Credential);
        Assert.Equal(HttpStatusCode.Unauthorized, deviceToken.StatusCode);

        using var ok = await SignIn(browser, center.AdminToken);
        Assert.Equal(HttpStatusCode.Redirect, ok.StatusCode);
        var cookie = Assert.Single(ok.Headers.GetValues("Set-Cookie"));
        Assert.Contains("httponly", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=strict", cookie, StringComparison.OrdinalIgnoreCase);
        using var overview = await browser.GetAsync("/dashboard");
        Assert.Equal(HttpStatusCode.OK, overview.StatusCode);
    }

    [Fact]
    public async Task The_dashboard_cookie_does_not_authorise_the_api()
    {
        using var browser = Browser();
        using var ok = await SignIn(browser, center.AdminToken);
        var cookie = ok.Headers.GetValues("Set-Cookie").Single().Split(';')[0];
        using var request = new HttpRequestMessage(HttpMethod.Get, NxTop.Contracts.Center.CenterRoutes.AdminDevices);
        request.Headers.Add("Cookie", cookie);
        using var client = center.CreateClient();
        using var response = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task The_overview_device_and_group_pages_show_the_fleet_and_escape_what_devices_say()
    {
        await center.PublishAsync(ContentKind.Base, "desktop", "v1");
        await center.PutGroupAsync("floor-3");
        var device = await center.EnrollAsync("floor-3", hostname: "<script>alert(1)</script>");
        await center.AssignAsync(NxTop.Contracts.Center.CenterRoutes.AdminGroupAssignment("floor-3"), "desktop");
        using var client = center.Device(device.Credential);
        using (var report = await client.PostAsync(ApiRoutes.Reports(device.DeviceId),
                   System.Net.Http.Json.JsonContent.Create(Reports.Healthy(device.DeviceId, "r1", "desktop", 1,
                       new HistoryEntry(DateTimeOffset.UnixEpoch, HistoryEvent.RolledBack, "desktop", 1, 2, "deadline")), ContractsJsonContext.Default.StatusReport)))
        {
            Assert.Equal(HttpStatusCode.Accepted, report.StatusCode);
        }

        using var browser = Browser();
        (await SignIn(browser, center.AdminToken)).Dispose();
        var overview = await browser.GetStringAsync("/dashboard");
        Assert.Contains("desktop@1", overview, StringComparison.Ordinal);
        Assert.Contains("with rollbacks", overview, StringComparison.Ordinal);
        Assert.Contains("floor-3", overview, StringComparison.Ordinal);

        var devices = await browser.GetStringAsync("/dashboard/devices?group=floor-3");
        Assert.DoesNotContain("<script>", devices, StringComparison.Ordinal);
        Assert.Contains("&lt;script&gt;", devices, StringComparison.Ordinal);

        var page = await browser.GetStringAsync($"/dashboard/devices/{device.DeviceId}");
        Assert.Contains("rolledBack", page, StringComparison.Ordinal);
        Assert.Contains("from 2: deadline", page, StringComparison.Ordinal);

        var group = await browser.GetStringAsync("/dashboard/groups/floor-3");
        Assert.Contains("follows its track", group, StringComparison.Ordinal);
        using var missing = await browser.GetAsync("/dashboard/groups/none");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }
}
