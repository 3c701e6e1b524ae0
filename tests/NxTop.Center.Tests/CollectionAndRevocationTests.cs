using System.Net;
using System.Net.Http.Json;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using NxTop.Center.Cli;
using NxTop.Center.Content;
using NxTop.Contracts;
using NxTop.Contracts.Center;

namespace NxTop.Center.Tests;

/// <summary>Blob garbage collection (safe for uploads and publishes in flight) and revoking admin credentials.</summary>
public sealed class CollectionAndRevocationTests : IDisposable
{
    private readonly CenterFactory center = new();

    public void Dispose() => center.Dispose();

    private string BlobPath(string sha256) => Path.Combine(center.DataDirectory, "content", "sha256", sha256[..2], sha256);

    private void Age(string sha256) => File.SetLastWriteTimeUtc(BlobPath(sha256), DateTime.UtcNow.AddHours(-3));

    private async Task<BlobsCollected> CollectAsync(HttpStatusCode expected = HttpStatusCode.OK, string query = "")
    {
        using var admin = center.Admin();
        using var response = await admin.PostAsync(CenterRoutes.AdminBlobCollect + query, null);
        await Expect.Status(response, expected);
        return expected == HttpStatusCode.OK ? (await response.Content.ReadFromJsonAsync(CenterJsonContext.Default.BlobsCollected))! : null!;
    }

    [Fact]
    public async Task Only_old_unreferenced_blobs_are_collected()
    {
        var v1 = await center.PublishAsync(ContentKind.Base, "desktop", "base v1", PublishChannel.Current);
        var orphan = await center.UploadAsync(Encoding.UTF8.GetBytes("uploaded, never published"));
        var pending = await center.UploadAsync(Encoding.UTF8.GetBytes("uploaded a moment ago, about to be published"));
        Age(v1.Blobs[0].Sha256);
        Age(orphan.Sha256);

        var result = await CollectAsync();

        Assert.Equal((1, 25L, 1, 1, 60), (result.Deleted, result.BytesFreed, result.KeptReferenced, result.KeptYoung, result.GraceMinutes));
        Assert.False(File.Exists(BlobPath(orphan.Sha256)));
        Assert.True(File.Exists(BlobPath(v1.Blobs[0].Sha256)));
        Assert.True(File.Exists(BlobPath(pending.Sha256)));

        // The young upload can still be published, and its content is served.
        using var admin = center.Admin();
        using (var publish = await admin.PostAsJsonAsync(CenterRoutes.AdminContent,
                   new PublishRequest(ContentKind.App, "office", null, [new PublishBlob(pending.Sha256, BlobRole.Disk, MediaTypes.Raw)], null, PublishChannel.Current, null),
                   CenterJsonContext.Default.PublishRequest))
        {
            await Expect.Status(publish, HttpStatusCode.Created);
        }

        using var blob = await admin.GetAsync(ApiRoutes.Blob(pending.Sha256));
        Assert.Equal("uploaded a moment ago, about to be published", await blob.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Uploading_old_content_again_makes_it_young_so_the_publish_that_follows_is_safe()
    {
        var content = Encoding.UTF8.GetBytes("republished content");
        var first = await center.UploadAsync(content);
        Age(first.Sha256);
        var again = await center.UploadAsync(content);
        Assert.Equal(first.Sha256, again.Sha256);

        var result = await CollectAsync();
        Assert.Equal(0, result.Deleted);
        Assert.True(File.Exists(BlobPath(first.Sha256)));
    }

    [Fact]
    public async Task An_upload_in_flight_is_never_touched_and_the_collector_waits_for_a_publish_in_progress()
    {
        var orphan = await center.UploadAsync(Encoding.UTF8.GetBytes("orphan"));
        Age(orphan.Sha256);
        var inFlight = Path.Combine(center.DataDirectory, "content", "tmp", "0123.part");
        await File.WriteAllTextAsync(inFlight, "half an upload");
        File.SetLastWriteTimeUtc(inFlight, DateTime.UtcNow.AddDays(-1));

        // A publish holds the store's gate from its blob check to its commit: the collector waits for it.
        var blobs = center.Services.GetRequiredService<BlobStore>();
        Task<BlobsCollected> collecting;
        using (await blobs.EnterAsync(default))
        {
            collecting = CollectAsync();
            await Task.Delay(300);
            Assert.False(collecting.IsCompleted);
            Assert.True(File.Exists(BlobPath(orphan.Sha256)));
        }

        Assert.Equal(1, (await collecting).Deleted);
        Assert.True(File.Exists(inFlight));
    }

    [Fact]
    public async Task While_another_process_holds_the_content_store_collection_and_upload_get_503_naming_the_lock_and_nothing_changes()
    {
        using var busyCenter = new CenterFactory(settings: new Dictionary<string, string> { ["Center:ContentLockWaitSeconds"] = "1" });
        var orphan = await busyCenter.UploadAsync(Encoding.UTF8.GetBytes("orphan"));
        var orphanPath = Path.Combine(busyCenter.DataDirectory, "content", "sha256", orphan.Sha256[..2], orphan.Sha256);
        File.SetLastWriteTimeUtc(orphanPath, DateTime.UtcNow.AddHours(-3));
        var lockPath = Path.Combine(busyCenter.DataDirectory, "content", "store.lock");

        // Another Center (or collector) on the same content directory: its own store, its own lock file handle.
        using var other = new BlobStore(Path.Combine(busyCenter.DataDirectory, "content"));
        using var admin = busyCenter.Admin();
        using (await other.EnterAsync(default))
        {
            using (var collect = await admin.PostAsync(CenterRoutes.AdminBlobCollect, null))
            {
                Assert.Equal(HttpStatusCode.ServiceUnavailable, collect.StatusCode);
                Assert.Contains(lockPath, await collect.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            }

            using (var upload = await admin.PutAsync(CenterRoutes.AdminBlobs, new ByteArrayContent(Encoding.UTF8.GetBytes("new content"))))
            {
                Assert.Equal(HttpStatusCode.ServiceUnavailable, upload.StatusCode);
            }

            using (var publish = await admin.PostAsJsonAsync(CenterRoutes.AdminContent,
                       new PublishRequest(ContentKind.App, "office", null, [new PublishBlob(orphan.Sha256, BlobRole.Disk, MediaTypes.Raw)], null, PublishChannel.Current, null),
                       CenterJsonContext.Default.PublishRequest))
            {
                Assert.Equal(HttpStatusCode.ServiceUnavailable, publish.StatusCode);
            }

            Assert.True(File.Exists(orphanPath));
            Assert.Null(await busyCenter.Store.GetTrackAsync("office", default));
            Assert.Empty(Directory.EnumerateFiles(Path.Combine(busyCenter.DataDirectory, "content", "tmp")));
        }

        using var collected = await admin.PostAsync(CenterRoutes.AdminBlobCollect, null);
        await Expect.Status(collected, HttpStatusCode.OK);
        Assert.False(File.Exists(orphanPath));
    }

    [Fact]
    public async Task The_grace_period_can_be_given_but_not_zero()
    {
        var orphan = await center.UploadAsync(Encoding.UTF8.GetBytes("orphan"));
        File.SetLastWriteTimeUtc(BlobPath(orphan.Sha256), DateTime.UtcNow.AddMinutes(-10));
        Assert.Equal(0, (await CollectAsync(query: "?graceMinutes=30")).Deleted);
        Assert.Equal(1, (await CollectAsync(query: "?graceMinutes=5")).Deleted);
        await CollectAsync(HttpStatusCode.BadRequest, "?graceMinutes=0");
    }

    [Fact]
    public async Task A_revoked_admin_credential_stops_working_at_once_for_the_api_and_the_dashboard()
    {
        using var admin = center.Admin();
        using var added = await admin.PostAsJsonAsync(CenterRoutes.AdminCredentials, new AdminCredentialRequest("ops-laptop"), CenterJsonContext.Default.AdminCredentialRequest);
        await Expect.Status(added, HttpStatusCode.Created);
        var issued = (await added.Content.ReadFromJsonAsync(CenterJsonContext.Default.AdminCredentialIssued))!;
        Assert.StartsWith("nxa_", issued.Token, StringComparison.Ordinal);
        var listed = await admin.GetFromJsonAsync(CenterRoutes.AdminCredentials, CenterJsonContext.Default.IReadOnlyListAdminCredentialInfo);
        Assert.Equal(["initial", "ops-laptop"], listed!.Select(c => c.Name));
        Assert.DoesNotContain(issued.Token, await admin.GetStringAsync(CenterRoutes.AdminCredentials), StringComparison.Ordinal);

        using var laptop = center.Device(issued.Token);
        using (var ok = await laptop.GetAsync(CenterRoutes.AdminFleet))
        {
            await Expect.Status(ok, HttpStatusCode.OK);
        }

        using var browser = center.CreateClient(new Microsoft.AspNetCore.Mvc.Testing.WebApplicationFactoryClientOptions { AllowAutoRedirect = false, HandleCookies = true });
        using (var signIn = await DashboardSession.SignInAsync(browser, issued.Token))
        {
            Assert.Equal(HttpStatusCode.Redirect, signIn.StatusCode);
        }

        using (var revoke = await admin.DeleteAsync(CenterRoutes.AdminCredential(issued.Id)))
        {
            await Expect.Status(revoke, HttpStatusCode.NoContent);
        }

        using (var refused = await laptop.GetAsync(CenterRoutes.AdminFleet))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        }

        using (var page = await browser.GetAsync("/dashboard"))
        {
            Assert.Equal(HttpStatusCode.Redirect, page.StatusCode);
            Assert.Equal("/dashboard/login", page.Headers.Location!.OriginalString);
        }

        using (var again = await admin.DeleteAsync(CenterRoutes.AdminCredential(issued.Id)))
        {
            Assert.Equal(HttpStatusCode.NotFound, again.StatusCode);
        }

        var initial = listed![0].Id;
        using (var last = await admin.DeleteAsync(CenterRoutes.AdminCredential(initial)))
        {
            Assert.Equal(HttpStatusCode.Conflict, last.StatusCode);
        }

        using (var stillOk = await admin.GetAsync(CenterRoutes.AdminFleet))
        {
            await Expect.Status(stillOk, HttpStatusCode.OK);
        }
    }

    [Fact]
    public async Task The_cli_adds_lists_and_revokes_credentials_and_collects_blobs()
    {
        async Task<(int Exit, string Out, string Err)> Run(params string[] args)
        {
            using var http = center.Admin();
            using var output = new StringWriter();
            using var error = new StringWriter();
            var exit = await new AdminCli(http, output, error).RunAsync(args);
            return (exit, output.ToString(), error.ToString());
        }

        var (exit, text, _) = await Run("admin-add", "backup");
        Assert.Equal(0, exit);
        var issued = System.Text.Json.JsonSerializer.Deserialize(text, CenterJsonContext.Default.AdminCredentialIssued)!;
        Assert.Contains("\"backup\"", (await Run("admins")).Out, StringComparison.Ordinal);
        Assert.Equal(0, (await Run("admin-revoke", issued.Id.ToString(System.Globalization.CultureInfo.InvariantCulture))).Exit);
        Assert.DoesNotContain("\"backup\"", (await Run("admins")).Out, StringComparison.Ordinal);
        var refused = await Run("admin-revoke", "1");
        Assert.Equal(1, refused.Exit);
        Assert.Contains("last admin credential", refused.Err, StringComparison.Ordinal);

        var orphan = await center.UploadAsync(Encoding.UTF8.GetBytes("orphan"));
        Age(orphan.Sha256);
        var gc = await Run("gc", "--grace-minutes", "90");
        Assert.Equal(0, gc.Exit);
        Assert.Contains("\"deleted\":1", gc.Out, StringComparison.Ordinal);
        Assert.False(File.Exists(BlobPath(orphan.Sha256)));
    }
}
