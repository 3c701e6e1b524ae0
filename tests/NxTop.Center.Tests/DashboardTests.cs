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

    [Fact]
    public async Task Publishing_from_the_dashboard_streams_the_file_and_signs_a_version()
    {
        using var browser = Browser();
        (await SignIn(browser, center.AdminToken)).Dispose();
        var bytes = System.Text.Encoding.UTF8.GetBytes("a base image");
        using var form = new MultipartFormDataContent
        {
            { new StringContent("base"), "kind" },
            { new StringContent("desktop"), "name" },
            { new StringContent("current"), "channel" },
            { new ByteArrayContent(bytes), "file", "desktop.qcow2" },
        };
        using var response = await browser.PostAsync("/dashboard/publish", form);
        await Expect.Status(response, HttpStatusCode.Created);
        var sha256 = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes));
        Assert.Contains(sha256, await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        var artifact = await center.Store.GetArtifactAsync("desktop", 1, default);
        Assert.Equal(sha256, Assert.Single(artifact!.Blobs).Sha256);
        Assert.Equal(NxTop.Contracts.MediaTypes.Qcow2, artifact.Blobs[0].MediaType);
    }

    [Fact]
    public async Task Dashboard_forms_refuse_foreign_origins_anonymous_callers_and_bad_values()
    {
        await center.PublishAsync(ContentKind.Base, "desktop", "v1", NxTop.Contracts.Center.PublishChannel.Current);
        await center.PutGroupAsync("floor-3");
        using var anonymous = Browser();
        using (var form = Form(("base", "desktop"), ("deadline", "300"), ("lockoutDays", "0")))
        using (var response = await anonymous.PostAsync("/dashboard/assign/group/floor-3", form))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        }

        using var browser = Browser();
        (await SignIn(browser, center.AdminToken)).Dispose();
        using (var request = new HttpRequestMessage(HttpMethod.Post, "/dashboard/assign/group/floor-3") { Content = Form(("base", "desktop"), ("deadline", "300"), ("lockoutDays", "0")) })
        {
            request.Headers.Add("Origin", "https://evil.example");
            using var response = await browser.SendAsync(request);
            Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        }

        using (var form = Form(("base", "desktop"), ("deadline", "5"), ("lockoutDays", "0")))
        using (var response = await browser.PostAsync("/dashboard/assign/group/floor-3", form))
        {
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Contains("healthCheckDeadlineSeconds must be 10-86400", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        using (var form = Form(("base", "nothing"), ("deadline", "300"), ("lockoutDays", "0")))
        using (var response = await browser.PostAsync("/dashboard/assign/group/floor-3", form))
        {
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        }

        Assert.Null(await center.Store.GetAssignmentAsync(NxTop.Center.Storage.AssignmentTarget.Group, "floor-3", default));
        using (var form = Form(("base", "desktop"), ("deadline", "300"), ("lockoutDays", "0")))
        using (var response = await browser.PostAsync("/dashboard/assign/group/none", form))
        {
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        }

        using (var request = new HttpRequestMessage(HttpMethod.Post, "/dashboard/assign/group/floor-3") { Content = Form(("base", "desktop"), ("deadline", "300"), ("lockoutDays", "3")) })
        {
            request.Headers.Add("Origin", "http://localhost");
            using var response = await browser.SendAsync(request);
            Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        }

        Assert.Equal(3, (await center.Store.GetAssignmentAsync(NxTop.Center.Storage.AssignmentTarget.Group, "floor-3", default))!.Policy.LockoutDays);
    }

    private static FormUrlEncodedContent Form(params (string Name, string Value)[] fields) =>
        new(fields.Select(f => new KeyValuePair<string, string>(f.Name, f.Value)));
}
