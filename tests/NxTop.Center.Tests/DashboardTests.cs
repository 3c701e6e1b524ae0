using System.Net;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Mvc.Testing;
using NxTop.Contracts;

namespace NxTop.Center.Tests;

public sealed class DashboardTests : IDisposable
{
    private readonly CenterFactory center = new();

    public void Dispose() => center.Dispose();

    private HttpClient Browser() => center.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false, HandleCookies = true });

    private static Task<HttpResponseMessage> SignIn(HttpClient browser, string token) => DashboardSession.SignInAsync(browser, token);

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
            { new StringContent(await DashboardSession.TokenAsync(browser, "/dashboard/publish")), DashboardSession.Field },
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
        var token = await DashboardSession.TokenAsync(browser, "/dashboard/assign/group/floor-3");
        FormUrlEncodedContent Signed(params (string Name, string Value)[] fields) => Form([(DashboardSession.Field, token), .. fields]);

        // The Origin check is a second layer: a foreign origin is refused even with a good token.
        using (var request = new HttpRequestMessage(HttpMethod.Post, "/dashboard/assign/group/floor-3") { Content = Signed(("base", "desktop"), ("deadline", "300"), ("lockoutDays", "0")) })
        {
            request.Headers.Add("Origin", "https://evil.example");
            using var response = await browser.SendAsync(request);
            Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        }

        using (var form = Signed(("base", "desktop"), ("deadline", "5"), ("lockoutDays", "0")))
        using (var response = await browser.PostAsync("/dashboard/assign/group/floor-3", form))
        {
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Contains("healthCheckDeadlineSeconds must be 10-86400", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        using (var form = Signed(("base", "nothing"), ("deadline", "300"), ("lockoutDays", "0")))
        using (var response = await browser.PostAsync("/dashboard/assign/group/floor-3", form))
        {
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        }

        Assert.Null(await center.Store.GetAssignmentAsync(NxTop.Center.Storage.AssignmentTarget.Group, "floor-3", default));
        using (var form = Signed(("base", "desktop"), ("deadline", "300"), ("lockoutDays", "0")))
        using (var response = await browser.PostAsync("/dashboard/assign/group/none", form))
        {
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        }

        using (var request = new HttpRequestMessage(HttpMethod.Post, "/dashboard/assign/group/floor-3") { Content = Signed(("base", "desktop"), ("deadline", "300"), ("lockoutDays", "3")) })
        {
            request.Headers.Add("Origin", "http://localhost");
            using var response = await browser.SendAsync(request);
            Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        }

        Assert.Equal(3, (await center.Store.GetAssignmentAsync(NxTop.Center.Storage.AssignmentTarget.Group, "floor-3", default))!.Policy.LockoutDays);
    }

    [Fact]
    public async Task Every_form_on_every_dashboard_page_carries_the_anti_forgery_token()
    {
        await center.PublishAsync(ContentKind.Base, "desktop", "v1", NxTop.Contracts.Center.PublishChannel.Current);
        await center.PublishAsync(ContentKind.Base, "desktop", "v2", NxTop.Contracts.Center.PublishChannel.Staged);
        await center.PutGroupAsync("floor-3");
        var device = await center.EnrollAsync("floor-3");
        using var browser = Browser();
        using (var login = await browser.GetAsync("/dashboard/login"))
        {
            var cookie = Assert.Single(login.Headers.GetValues("Set-Cookie"), c => c.StartsWith("nxtop_antiforgery=", StringComparison.Ordinal));
            Assert.Contains("httponly", cookie, StringComparison.OrdinalIgnoreCase);
            Assert.Contains("samesite=strict", cookie, StringComparison.OrdinalIgnoreCase);
            Assert.Contains("path=/dashboard", cookie, StringComparison.OrdinalIgnoreCase);
            AssertEveryFormHasTheToken(await login.Content.ReadAsStringAsync(), 1);
        }

        (await SignIn(browser, center.AdminToken)).Dispose();
        AssertEveryFormHasTheToken(await browser.GetStringAsync("/dashboard"), 3); // sign out, new group, promote
        AssertEveryFormHasTheToken(await browser.GetStringAsync("/dashboard/publish"), 2);
        AssertEveryFormHasTheToken(await browser.GetStringAsync("/dashboard/assign/group/floor-3"), 2);
        AssertEveryFormHasTheToken(await browser.GetStringAsync("/dashboard/assign/device/" + device.DeviceId), 2);
        AssertEveryFormHasTheToken(await browser.GetStringAsync("/dashboard/devices"), 1);
        AssertEveryFormHasTheToken(await browser.GetStringAsync("/dashboard/groups/floor-3"), 1);

        static void AssertEveryFormHasTheToken(string html, int forms)
        {
            Assert.Equal(forms, Regex.Count(html, "<form "));
            Assert.Equal(forms, Regex.Count(html, "<form [^>]*><input type=\"hidden\" name=\"__nxtop_antiforgery\" value=\"[^\"]{20,}\">"));
            Assert.DoesNotContain("nxtop:antiforgery", html, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_dashboard_post_without_the_token_or_with_another_sessions_token_gets_400_and_changes_nothing()
    {
        await center.PublishAsync(ContentKind.Base, "desktop", "v1", NxTop.Contracts.Center.PublishChannel.Current);
        await center.PublishAsync(ContentKind.Base, "desktop", "v2", NxTop.Contracts.Center.PublishChannel.Staged);
        await center.PutGroupAsync("floor-3");
        using var browser = Browser();
        (await SignIn(browser, center.AdminToken)).Dispose();
        using var other = Browser();
        (await SignIn(other, center.AdminToken)).Dispose();
        var othersToken = await DashboardSession.TokenAsync(other, "/dashboard");
        var contentFiles = Directory.GetFiles(Path.Combine(center.DataDirectory, "content", "sha256"), "*", SearchOption.AllDirectories).Length;

        foreach (var token in new[] { null, "", "CfDJ8-not-a-token", othersToken })
        {
            (string, string)[] withToken = token is null ? [] : [(DashboardSession.Field, token)];
            await Refused("/dashboard/groups", Form([.. withToken, ("name", "forged"), ("ring", "pilot")]));
            await Refused("/dashboard/assign/group/floor-3", Form([.. withToken, ("base", "desktop"), ("deadline", "300"), ("lockoutDays", "3")]));
            await Refused("/dashboard/tracks/desktop/promote", Form([.. withToken, ("promote", "desktop")]));
            await Refused("/dashboard/logout", Form(withToken));
            var publish = new MultipartFormDataContent();
            if (token is not null)
            {
                publish.Add(new StringContent(token), DashboardSession.Field);
            }

            publish.Add(new StringContent("base"), "kind");
            publish.Add(new StringContent("forged"), "name");
            publish.Add(new ByteArrayContent(System.Text.Encoding.UTF8.GetBytes("a forged image")), "file", "forged.qcow2");
            await Refused("/dashboard/publish", publish);
        }

        // A body that is not a form at all is refused the same way, never with a 500.
        await Refused("/dashboard/groups", null);
        await Refused("/dashboard/tracks/desktop/promote", new StringContent("{}", System.Text.Encoding.UTF8, "application/json"));

        // A publish whose token comes after the file stores nothing either.
        using (var late = new MultipartFormDataContent
        {
            { new StringContent("base"), "kind" },
            { new StringContent("forged"), "name" },
            { new ByteArrayContent(System.Text.Encoding.UTF8.GetBytes("a late token")), "file", "late.qcow2" },
            { new StringContent(await DashboardSession.TokenAsync(browser, "/dashboard/publish")), DashboardSession.Field },
        })
        {
            await Refused("/dashboard/publish", late);
        }

        Assert.Null(await center.Store.GetGroupAsync("forged", default));
        Assert.Null(await center.Store.GetAssignmentAsync(NxTop.Center.Storage.AssignmentTarget.Group, "floor-3", default));
        Assert.Equal(2, (await center.Store.GetTrackAsync("desktop", default))!.Staged);
        Assert.Null(await center.Store.GetTrackAsync("forged", default));
        Assert.Equal(contentFiles, Directory.GetFiles(Path.Combine(center.DataDirectory, "content", "sha256"), "*", SearchOption.AllDirectories).Length);
        using (var stillSignedIn = await browser.GetAsync("/dashboard"))
        {
            Assert.Equal(HttpStatusCode.OK, stillSignedIn.StatusCode);
        }

        // Signing in needs the login page's token too.
        using var fresh = Browser();
        using (var login = await fresh.PostAsync("/dashboard/login", Form(("token", center.AdminToken))))
        {
            Assert.Equal(HttpStatusCode.BadRequest, login.StatusCode);
            Assert.False(login.Headers.Contains("Set-Cookie") && login.Headers.GetValues("Set-Cookie").Any(c => c.StartsWith("nxtop_admin=", StringComparison.Ordinal)));
        }

        async Task Refused(string path, HttpContent? content)
        {
            using (content)
            using (var response = await browser.PostAsync(path, content))
            {
                Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
                Assert.Contains("anti-forgery token is missing or does not belong to this browser", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            }
        }
    }

    [Fact]
    public async Task A_dashboard_post_with_the_token_from_the_page_succeeds()
    {
        await center.PublishAsync(ContentKind.Base, "desktop", "v1", NxTop.Contracts.Center.PublishChannel.Current);
        await center.PublishAsync(ContentKind.Base, "desktop", "v2", NxTop.Contracts.Center.PublishChannel.Staged);
        using var browser = Browser();
        (await SignIn(browser, center.AdminToken)).Dispose();
        var token = await DashboardSession.TokenAsync(browser, "/dashboard");

        using (var created = await browser.PostAsync("/dashboard/groups", Form((DashboardSession.Field, token), ("name", "floor-3"), ("ring", "pilot"))))
        {
            Assert.Equal(HttpStatusCode.Redirect, created.StatusCode);
            Assert.Equal("/dashboard/groups/floor-3", created.Headers.Location!.OriginalString);
        }

        Assert.Equal(NxTop.Contracts.Center.GroupRing.Pilot, (await center.Store.GetGroupAsync("floor-3", default))!.Ring);
        using (var promoted = await browser.PostAsync("/dashboard/tracks/desktop/promote", Form((DashboardSession.Field, token), ("promote", "desktop"))))
        {
            Assert.Equal(HttpStatusCode.Redirect, promoted.StatusCode);
        }

        Assert.Equal(2, (await center.Store.GetTrackAsync("desktop", default))!.Current);
        using (var signedOut = await browser.PostAsync("/dashboard/logout", Form((DashboardSession.Field, token))))
        {
            Assert.Equal(HttpStatusCode.Redirect, signedOut.StatusCode);
            Assert.Equal("/dashboard/login", signedOut.Headers.Location!.OriginalString);
        }
    }

    internal static FormUrlEncodedContent Form(params (string Name, string Value)[] fields) =>
        new(fields.Select(f => new KeyValuePair<string, string>(f.Name, f.Value)));
}

/// <summary>What a browser does with the dashboard's forms: take the anti-forgery token from the page it was given.</summary>
internal static partial class DashboardSession
{
    public const string Field = "__nxtop_antiforgery";

    /// <summary>The form token on <paramref name="path"/> (fetching it sets the antiforgery cookie in a cookie-handling client).</summary>
    public static async Task<string> TokenAsync(HttpClient browser, string path)
    {
        var html = await browser.GetStringAsync(path);
        return WebUtility.HtmlDecode(TokenInput().Match(html) is { Success: true } match ? match.Groups[1].Value : throw new InvalidOperationException($"no form token on {path}"));
    }

    public static async Task<HttpResponseMessage> SignInAsync(HttpClient browser, string credential)
    {
        var token = await TokenAsync(browser, "/dashboard/login");
        using var form = new FormUrlEncodedContent([new KeyValuePair<string, string>(Field, token), new KeyValuePair<string, string>("token", credential)]);
        return await browser.PostAsync("/dashboard/login", form);
    }

    [GeneratedRegex("name=\"__nxtop_antiforgery\" value=\"([^\"]*)\"")]
    private static partial Regex TokenInput();
}
