using System.Net.Http.Json;
using System.Security.Cryptography;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using NxTop.Center.Hosting;
using NxTop.Center.Storage;
using NxTop.Contracts;
using NxTop.Contracts.Center;

namespace NxTop.Center.Browser.Tests;

/// <summary>The dashboard in headless chromium: publish, promote, create a group, assign to a group and a device.</summary>
[Collection(ChromiumTests.Name)]
public sealed class DashboardBrowserTests(BrowserFixture fixture) : BrowserTest(fixture), IDisposable
{
    private readonly string work = Directory.CreateTempSubdirectory("nxtop-browser-").FullName;

    public void Dispose() => Directory.Delete(work, recursive: true);

    private ICenterStore Store => Center.Services.GetRequiredService<ICenterStore>();

    private string File(string name, int size)
    {
        var path = Path.Combine(work, name);
        System.IO.File.WriteAllBytes(path, RandomNumberGenerator.GetBytes(size));
        return path;
    }

    private static HardwareInventory Inventory(string hostname) => new(
        hostname, new CpuInfo("Test CPU", 4, "GenuineIntel"), 8L << 30, [], [], new DmiInfo("QEMU", "Standard PC", null, null, null, null, null, null, null, null, null), null);

    private ILocator ContentRow(string name) => Page.Locator("#content ~ table tr", new() { Has = Page.Locator("td:first-child", new() { HasTextString = name }) });

    [BrowserFact]
    public async Task An_admin_publishes_a_base_then_a_staged_patch_and_promotes_it()
    {
        await SignInAsync();
        await Page.GetByRole(AriaRole.Link, new() { Name = "Publish", Exact = true }).ClickAsync();
        Assert.Equal("Publish", await Page.Locator("h1").TextContentAsync());

        var image = File("desktop.qcow2", 300_000);
        await Page.GetByLabel("Kind").SelectOptionAsync("base");
        await Page.GetByLabel("Name").FillAsync("desktop");
        await Page.GetByLabel("Channel").SelectOptionAsync("current");
        await Page.GetByLabel("File", new() { Exact = true }).SetInputFilesAsync(image);
        await Page.GetByRole(AriaRole.Button, new() { Name = "Upload and publish" }).ClickAsync();
        await Assertions.Expect(Page.Locator("p.ok")).ToContainTextAsync("Published desktop version 1");
        var sha256 = Convert.ToHexStringLower(SHA256.HashData(await System.IO.File.ReadAllBytesAsync(image)));
        await Assertions.Expect(Page.Locator("code")).ToHaveTextAsync(sha256);

        // What the browser sent is what the Center stored and signed.
        var v1 = await Store.GetArtifactAsync("desktop", 1, default);
        Assert.Equal(sha256, Assert.Single(v1!.Blobs).Sha256);
        Assert.Equal(300_000, v1.Blobs[0].Size);

        await Page.GetByRole(AriaRole.Link, new() { Name = "Publish another" }).ClickAsync();
        await Page.GetByLabel("Name").FillAsync("desktop");
        await Page.GetByLabel("Patch of version").FillAsync("1");
        await Page.GetByLabel("Channel").SelectOptionAsync("staged");
        await Page.GetByLabel("File", new() { Exact = true }).SetInputFilesAsync(File("delta.qcow2", 4096));
        await Page.GetByRole(AriaRole.Button, new() { Name = "Upload and publish" }).ClickAsync();
        await Assertions.Expect(Page.Locator("p.ok")).ToContainTextAsync("Published desktop version 2");
        Assert.Equal(2, (await Store.GetArtifactAsync("desktop", 2, default))!.Blobs.Count);

        await Page.GetByRole(AriaRole.Link, new() { Name = "Fleet" }).First.ClickAsync();
        var row = ContentRow("desktop");
        await Assertions.Expect(row.Locator("td").Nth(2)).ToHaveTextAsync("1");
        await Assertions.Expect(row.Locator("td").Nth(3)).ToHaveTextAsync("2");
        await row.GetByRole(AriaRole.Button, new() { Name = "Promote 2 to current" }).ClickAsync();
        await Assertions.Expect(ContentRow("desktop").Locator("td").Nth(2)).ToHaveTextAsync("2");
        await Assertions.Expect(ContentRow("desktop").Locator("td").Nth(3)).ToHaveTextAsync("");
        var track = await Store.GetTrackAsync("desktop", default);
        Assert.Equal(2, track!.Current);
        Assert.Null(track.Staged);
    }

    [BrowserFact]
    public async Task A_refused_publish_shows_the_reason_and_changes_nothing()
    {
        await SignInAsync();
        await Page.GotoAsync("/dashboard/publish");
        await Page.GetByLabel("Name").FillAsync("desktop");
        await Page.GetByLabel("Patch of version").FillAsync("7");
        await Page.GetByLabel("File", new() { Exact = true }).SetInputFilesAsync(File("delta.qcow2", 1000));
        await Page.GetByRole(AriaRole.Button, new() { Name = "Upload and publish" }).ClickAsync();
        await Assertions.Expect(Page.Locator("p.bad")).ToContainTextAsync("patchOf: desktop version 7 is not published");
        Assert.Null(await Store.GetTrackAsync("desktop", default));
    }

    [BrowserFact]
    public async Task A_form_whose_anti_forgery_token_was_tampered_with_is_refused_and_changes_nothing()
    {
        await SignInAsync();
        Assert.Equal(await Page.Locator("form").CountAsync(), await Page.Locator("form input[type=hidden][name=__nxtop_antiforgery]").CountAsync());
        await Page.GetByLabel("New group").FillAsync("forged");
        await Page.Locator("form.inline input[name=__nxtop_antiforgery]").EvaluateAsync("input => input.value = 'CfDJ8forged'");
        await Page.GetByRole(AriaRole.Button, new() { Name = "Create group" }).ClickAsync();
        await Assertions.Expect(Page.Locator("p.bad")).ToContainTextAsync("anti-forgery token is missing or does not belong to this browser");
        Assert.Null(await Store.GetGroupAsync("forged", default));

        // The same form as served works.
        await Page.GotoAsync("/dashboard");
        await Page.GetByLabel("New group").FillAsync("floor-3");
        await Page.GetByRole(AriaRole.Button, new() { Name = "Create group" }).ClickAsync();
        await Assertions.Expect(Page.Locator("h1")).ToHaveTextAsync("Group floor-3");
    }

    [BrowserFact]
    public async Task An_admin_creates_a_group_assigns_it_and_overrides_one_device()
    {
        await Center.PublishBaseAsync("desktop", File("v1.qcow2", 2048));
        await Center.PublishPatchAsync("desktop", File("v2.qcow2", 1024), of: 1);
        await Center.PublishAppAsync("office", File("office.img", 1024));
        await SignInAsync();

        await Page.GetByLabel("New group").FillAsync("floor-3");
        await Page.GetByRole(AriaRole.Button, new() { Name = "Create group" }).ClickAsync();
        await Assertions.Expect(Page.Locator("h1")).ToHaveTextAsync("Group floor-3");
        await Page.GetByRole(AriaRole.Link, new() { Name = "Assign to this group" }).ClickAsync();
        await Page.GetByLabel("Base image").SelectOptionAsync("desktop");
        await Page.GetByRole(AriaRole.Checkbox, new() { Name = "office" }).CheckAsync();
        await Page.GetByLabel("Image mode").SelectOptionAsync("custom");
        await Page.GetByLabel("Health-check deadline (s)").FillAsync("600");
        await Page.GetByLabel("Lockout after days without contact").FillAsync("14");
        await Page.GetByLabel("Then").SelectOptionAsync("pauseGuest");
        await Page.GetByRole(AriaRole.Button, new() { Name = "Assign" }).ClickAsync();

        await Assertions.Expect(Page.Locator("h1")).ToHaveTextAsync("Group floor-3");
        await Assertions.Expect(Page.Locator("body")).ToContainTextAsync("desktop follows its track");
        await Assertions.Expect(Page.Locator("body")).ToContainTextAsync("14 days, then PauseGuest");
        var assignment = await Store.GetAssignmentAsync(AssignmentTarget.Group, "floor-3", default);
        Assert.Equal("desktop", assignment!.BaseName);
        Assert.Null(assignment.BaseVersion);
        Assert.Equal("office", Assert.Single(assignment.Apps).Name);
        Assert.Equal(new DevicePolicy(ImageMode.Custom, 600, 14, LockoutAction.PauseGuest), assignment.Policy);

        // A device enrolled into the group gets the group's assignment; the dashboard pins it to version 1.
        var token = await Center.CreateEnrollmentTokenAsync("floor-3");
        using var http = new HttpClient { BaseAddress = Center.Url };
        using var enroll = await http.PostAsJsonAsync(ApiRoutes.Enroll, new EnrollmentRequest(token, "pc-7", Inventory("pc-7")), ContractsJsonContext.Default.EnrollmentRequest);
        var device = (await enroll.Content.ReadFromJsonAsync(ContractsJsonContext.Default.EnrollmentResponse))!;
        http.DefaultRequestHeaders.Authorization = new(ApiRoutes.AuthenticationScheme, device.Credential);
        Assert.Equal(2, (await http.GetFromJsonAsync(ApiRoutes.DesiredState(device.DeviceId), ContractsJsonContext.Default.DesiredState))!.Base.Version);

        await Page.GetByRole(AriaRole.Link, new() { Name = "Devices" }).ClickAsync();
        await Page.GetByRole(AriaRole.Link, new() { Name = "pc-7" }).ClickAsync();
        await Page.GetByRole(AriaRole.Link, new() { Name = "Assign to this device" }).ClickAsync();
        await Page.GetByLabel("Base image").SelectOptionAsync("desktop");
        await Page.GetByLabel("Pin base version").FillAsync("1");
        await Page.GetByRole(AriaRole.Button, new() { Name = "Assign" }).ClickAsync();
        await Assertions.Expect(Page.Locator("h1")).ToHaveTextAsync("pc-7");
        await Assertions.Expect(Page.Locator("body")).ToContainTextAsync("Own assignment: desktop pinned to 1");

        var desired = await http.GetFromJsonAsync(ApiRoutes.DesiredState(device.DeviceId), ContractsJsonContext.Default.DesiredState);
        Assert.Equal(1, desired!.Base.Version);
        Assert.Empty(desired.Apps);
    }
}
