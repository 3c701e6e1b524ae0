using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using NxTop.Contracts;
using NxTop.Contracts.Center;

namespace NxTop.Center.Tests;

public sealed class ApiTests : IDisposable
{
    private readonly CenterFactory center = new();

    public void Dispose() => center.Dispose();

    [Fact]
    public async Task First_start_writes_the_admin_credential_to_a_0600_file_and_admin_calls_need_it()
    {
        using var anonymous = center.CreateClient();
        using var refused = await anonymous.GetAsync(CenterRoutes.AdminDevices);
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);

        var path = Path.Combine(center.DataDirectory, "admin-token");
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        Assert.StartsWith("nxa_", center.AdminToken, StringComparison.Ordinal);

        using var wrong = center.Device("nxa_not-a-real-token");
        using var wrongResponse = await wrong.GetAsync(CenterRoutes.AdminDevices);
        Assert.Equal(HttpStatusCode.Unauthorized, wrongResponse.StatusCode);

        using var admin = center.Admin();
        using var ok = await admin.GetAsync(CenterRoutes.AdminDevices);
        await Expect.Status(ok, HttpStatusCode.OK);
    }

    [Fact]
    public async Task A_missing_data_directory_is_created_owner_only()
    {
        var parent = TempDirectory.Create("nxtop-fresh-");
        try
        {
            var data = Path.Combine(parent, "nested", "data");
            using var fresh = new CenterFactory(data);
            using var admin = fresh.Admin();
            using var response = await admin.GetAsync(CenterRoutes.AdminFleet);
            await Expect.Status(response, HttpStatusCode.OK);
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(data));
            Assert.True(File.Exists(Path.Combine(data, "center.db")));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(data, "publisher.key.pem")));
        }
        finally
        {
            TempDirectory.Delete(parent);
        }
    }

    [Fact]
    public async Task The_server_can_mint_another_admin_credential_for_whoever_runs_it_on_the_data()
    {
        var data = TempDirectory.Create("nxtop-mint-");
        try
        {
            using var output = new StringWriter();
            using var error = new StringWriter();
            Assert.Equal(0, await CenterCommands.NewAdminTokenAsync(["ops", $"--Center:DataDirectory={data}"], output, error));
            var token = output.ToString().Trim();
            Assert.StartsWith("nxa_", token, StringComparison.Ordinal);
            Assert.Equal(64, await CenterCommands.NewAdminTokenAsync([], output, error));

            using var minted = new CenterFactory(data);
            using var admin = minted.CreateClient();
            admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
            using var response = await admin.GetAsync(CenterRoutes.AdminFleet);
            await Expect.Status(response, HttpStatusCode.OK);
            Assert.False(File.Exists(Path.Combine(data, "admin-token")), "an admin credential existed, so none is generated");
        }
        finally
        {
            TempDirectory.Delete(data);
        }
    }

    [Fact]
    public async Task A_device_credential_is_not_an_admin_credential()
    {
        var device = await center.EnrollAsync();
        using var client = center.Device(device.Credential);
        using var response = await client.GetAsync(CenterRoutes.AdminDevices);
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
    }

    [Fact]
    public async Task Published_manifests_verify_with_the_publisher_public_key()
    {
        var published = await center.PublishAsync(ContentKind.Base, "desktop", "base image v1");
        Assert.Equal(1, published.Version);

        using var admin = center.Admin();
        var signed = await admin.GetFromJsonAsync(published.ManifestUrl, ContractsJsonContext.Default.SignedManifest);
        var publicKey = await File.ReadAllTextAsync(Path.Combine(center.DataDirectory, "publisher.pub.pem"));
        using var verifier = ManifestVerifier.FromPublicKeyPems([publicKey]);
        var verification = verifier.Verify(signed!);
        Assert.True(verification.IsValid, verification.Reason);
        Assert.Equal("desktop", verification.Manifest!.Name);
        Assert.Equal(published.Blobs, verification.Manifest.Blobs);

        var served = await admin.GetStringAsync(CenterRoutes.AdminPublisherKey);
        Assert.Equal(publicKey.Trim(), served.Trim());
    }

    [Fact]
    public async Task A_patch_is_the_prior_chain_plus_the_delta_and_versions_only_go_up()
    {
        var v1 = await center.PublishAsync(ContentKind.Base, "desktop", "base");
        var v2 = await center.PublishAsync(ContentKind.Base, "desktop", "delta", patchOf: 1);
        Assert.Equal(2, v2.Version);
        Assert.Equal([v1.Blobs[0].Sha256, v2.Blobs[1].Sha256], v2.Blobs.Select(b => b.Sha256));

        using var admin = center.Admin();
        using var again = await admin.PostAsJsonAsync(CenterRoutes.AdminContent,
            new PublishRequest(ContentKind.Base, "desktop", 2, [new PublishBlob(v1.Blobs[0].Sha256, BlobRole.Disk, MediaTypes.Qcow2)], null, PublishChannel.Staged, null),
            CenterJsonContext.Default.PublishRequest);
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);

        // Going back is a new version with the old content.
        using var republish = await admin.PostAsJsonAsync(CenterRoutes.AdminContent,
            new PublishRequest(ContentKind.Base, "desktop", null, [], 1, PublishChannel.Current, null), CenterJsonContext.Default.PublishRequest);
        await Expect.Status(republish, HttpStatusCode.Created);
        var v3 = await republish.Content.ReadFromJsonAsync(CenterJsonContext.Default.PublishedContent);
        Assert.Equal(3, v3!.Version);
        Assert.Equal(v1.Blobs, v3.Blobs);

        using var down = await admin.PutAsJsonAsync(CenterRoutes.AdminTrack("desktop"), new TrackUpdate(1, null), CenterJsonContext.Default.TrackUpdate);
        Assert.Equal(HttpStatusCode.Conflict, down.StatusCode);
    }

    [Fact]
    public async Task Publishing_refuses_blobs_that_were_not_uploaded_and_a_name_of_the_other_kind()
    {
        using var admin = center.Admin();
        using var missing = await admin.PostAsJsonAsync(CenterRoutes.AdminContent,
            new PublishRequest(ContentKind.App, "office", null, [new PublishBlob(new string('a', 64), BlobRole.Disk, MediaTypes.Raw)], null, PublishChannel.Staged, null),
            CenterJsonContext.Default.PublishRequest);
        Assert.Equal(HttpStatusCode.BadRequest, missing.StatusCode);
        Assert.Contains("has not been uploaded", await missing.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        await center.PublishAsync(ContentKind.Base, "desktop", "base");
        var blob = await center.UploadAsync(Encoding.UTF8.GetBytes("app"));
        using var otherKind = await admin.PostAsJsonAsync(CenterRoutes.AdminContent,
            new PublishRequest(ContentKind.App, "desktop", null, [new PublishBlob(blob.Sha256, BlobRole.Disk, MediaTypes.Raw)], null, PublishChannel.Staged, null),
            CenterJsonContext.Default.PublishRequest);
        Assert.Equal(HttpStatusCode.Conflict, otherKind.StatusCode);
    }

    [Fact]
    public async Task An_upload_whose_hash_differs_from_the_expected_one_leaves_nothing()
    {
        using var admin = center.Admin();
        using var body = new ByteArrayContent(Encoding.UTF8.GetBytes("corrupted in transit"));
        using var response = await admin.PutAsync(CenterRoutes.AdminBlobsExpecting(new string('0', 64)), body);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(center.DataDirectory, "content"), "*", SearchOption.AllDirectories));
    }

    [Theory]
    [InlineData("{not json")]
    [InlineData("{\"token\": 5, \"hostname\": \"pc\"}")]
    [InlineData("{\"hostname\": \"pc\"}")]
    [InlineData("null")]
    [InlineData("")]
    [InlineData("[]")]
    public async Task A_malformed_enrollment_body_is_a_400_with_a_reason(string body)
    {
        using var client = center.CreateClient();
        using var content = new StringContent(body, Encoding.UTF8, "application/json");
        using var response = await client.PostAsync(ApiRoutes.Enroll, content);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.False(string.IsNullOrEmpty(problem.RootElement.GetProperty("detail").GetString()));
    }

    [Theory]
    [InlineData(CenterRoutes.AdminContent, "{\"kind\": \"os\", \"name\": \"x\"}")]
    [InlineData(CenterRoutes.AdminContent, "{\"kind\": \"base\", \"name\": \"x\", \"version\": null, \"blobs\": null, \"patchOf\": null, \"channel\": \"staged\", \"kernelCommandLine\": null}")]
    [InlineData(CenterRoutes.AdminGroups, "{\"name\": \"Not A Name\", \"ring\": \"pilot\"}")]
    [InlineData(CenterRoutes.AdminGroups, "{\"name\": \"g\", \"ring\": \"pilot\", \"name\": \"h\"}")]
    [InlineData(CenterRoutes.AdminEnrollmentTokens, "{\"group\": null, \"count\": 0, \"validHours\": 1}")]
    [InlineData(CenterRoutes.AdminEnrollmentTokens, "{\"group\": null, \"count\": 99999999999, \"validHours\": 1}")]
    public async Task Malformed_admin_bodies_are_400s_never_500s(string path, string body)
    {
        using var admin = center.Admin();
        using var content = new StringContent(body, Encoding.UTF8, "application/json");
        using var response = await admin.PostAsync(path, content);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task An_enrollment_token_works_once()
    {
        var token = (await center.TokensAsync(1))[0];
        using var client = center.CreateClient();
        var request = new EnrollmentRequest(token, "pc-1", CenterFactory.Inventory("pc-1"));
        using var first = await client.PostAsJsonAsync(ApiRoutes.Enroll, request, ContractsJsonContext.Default.EnrollmentRequest);
        await Expect.Status(first, HttpStatusCode.OK);
        var enrolled = await first.Content.ReadFromJsonAsync(ContractsJsonContext.Default.EnrollmentResponse);
        Assert.StartsWith("nxd_", enrolled!.Credential, StringComparison.Ordinal);

        using var second = await client.PostAsJsonAsync(ApiRoutes.Enroll, request, ContractsJsonContext.Default.EnrollmentRequest);
        Assert.Equal(HttpStatusCode.Forbidden, second.StatusCode);

        using var admin = center.Admin();
        var detail = await admin.GetFromJsonAsync(CenterRoutes.AdminDevice(enrolled.DeviceId), CenterJsonContext.Default.DeviceDetail);
        Assert.Equal("pc-1", detail!.Device.Name);
        Assert.Equal("QEMU", detail.Inventory!.Dmi.SysVendor);
    }

    [Fact]
    public async Task Enrollment_is_rate_limited()
    {
        using var limited = new CenterFactory(enrollmentPermits: 3);
        using var client = limited.CreateClient();
        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 5; i++)
        {
            using var response = await client.PostAsJsonAsync(ApiRoutes.Enroll, new EnrollmentRequest("nxe_wrong", "pc", CenterFactory.Inventory("pc")), ContractsJsonContext.Default.EnrollmentRequest);
            statuses.Add(response.StatusCode);
        }

        Assert.Equal([HttpStatusCode.Forbidden, HttpStatusCode.Forbidden, HttpStatusCode.Forbidden, (HttpStatusCode)429, (HttpStatusCode)429], statuses);
    }

    [Fact]
    public async Task A_device_reads_only_its_own_desired_state_and_content_and_writes_only_its_own_reports()
    {
        var desktop = await center.PublishAsync(ContentKind.Base, "desktop", "desktop base");
        var kiosk = await center.PublishAsync(ContentKind.Base, "kiosk", "kiosk base");
        var a = await center.EnrollAsync(hostname: "a");
        var b = await center.EnrollAsync(hostname: "b");
        await center.AssignAsync(CenterRoutes.AdminDeviceAssignment(a.DeviceId), "desktop");
        await center.AssignAsync(CenterRoutes.AdminDeviceAssignment(b.DeviceId), "kiosk");

        using var asA = center.Device(a.Credential);
        using (var own = await asA.GetAsync(ApiRoutes.DesiredState(a.DeviceId)))
        {
            await Expect.Status(own, HttpStatusCode.OK);
        }

        using (var other = await asA.GetAsync(ApiRoutes.DesiredState(b.DeviceId)))
        {
            Assert.Equal(HttpStatusCode.Forbidden, other.StatusCode);
        }

        using (var otherCommands = await asA.GetAsync(CenterRoutes.Commands(b.DeviceId)))
        {
            Assert.Equal(HttpStatusCode.Forbidden, otherCommands.StatusCode);
        }

        using (var report = await asA.PostAsJsonAsync(ApiRoutes.Reports(b.DeviceId), Reports.Healthy(b.DeviceId, "r1", "kiosk", 1), ContractsJsonContext.Default.StatusReport))
        {
            Assert.Equal(HttpStatusCode.Forbidden, report.StatusCode);
        }

        // A report posted to its own route but naming another device is refused too.
        using (var forged = await asA.PostAsJsonAsync(ApiRoutes.Reports(a.DeviceId), Reports.Healthy(b.DeviceId, "r1", "kiosk", 1), ContractsJsonContext.Default.StatusReport))
        {
            Assert.Equal(HttpStatusCode.BadRequest, forged.StatusCode);
        }

        using (var ownManifest = await asA.GetAsync(desktop.ManifestUrl))
        {
            await Expect.Status(ownManifest, HttpStatusCode.OK);
        }

        using (var ownBlob = await asA.GetAsync(ApiRoutes.Blob(desktop.Blobs[0].Sha256)))
        {
            await Expect.Status(ownBlob, HttpStatusCode.OK);
            Assert.Equal("desktop base", await ownBlob.Content.ReadAsStringAsync());
        }

        using (var otherManifest = await asA.GetAsync(kiosk.ManifestUrl))
        {
            Assert.Equal(HttpStatusCode.Forbidden, otherManifest.StatusCode);
        }

        using (var otherBlob = await asA.GetAsync(ApiRoutes.Blob(kiosk.Blobs[0].Sha256)))
        {
            Assert.Equal(HttpStatusCode.Forbidden, otherBlob.StatusCode);
        }

        using var anonymous = center.CreateClient();
        using var anonymousBlob = await anonymous.GetAsync(ApiRoutes.Blob(desktop.Blobs[0].Sha256));
        Assert.Equal(HttpStatusCode.Unauthorized, anonymousBlob.StatusCode);
    }

    [Fact]
    public async Task Blobs_are_served_with_ranges_and_etags()
    {
        var content = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Range(0, 1000).Select(i => i.ToString("D4", System.Globalization.CultureInfo.InvariantCulture))));
        var blob = await center.UploadAsync(content);
        using var admin = center.Admin();

        using var whole = await admin.GetAsync(ApiRoutes.Blob(blob.Sha256));
        await Expect.Status(whole, HttpStatusCode.OK);
        Assert.Equal($"\"{blob.Sha256}\"", whole.Headers.ETag!.Tag);
        Assert.Contains("bytes", whole.Headers.AcceptRanges);

        using var rangeRequest = new HttpRequestMessage(HttpMethod.Get, ApiRoutes.Blob(blob.Sha256));
        rangeRequest.Headers.Range = new RangeHeaderValue(3000, null);
        using var partial = await admin.SendAsync(rangeRequest);
        Assert.Equal(HttpStatusCode.PartialContent, partial.StatusCode);
        Assert.Equal(content[3000..], await partial.Content.ReadAsByteArrayAsync());
        Assert.Equal(3000, partial.Content.Headers.ContentRange!.From);

        using var conditional = new HttpRequestMessage(HttpMethod.Get, ApiRoutes.Blob(blob.Sha256));
        conditional.Headers.IfNoneMatch.Add(new EntityTagHeaderValue($"\"{blob.Sha256}\""));
        using var notModified = await admin.SendAsync(conditional);
        Assert.Equal(HttpStatusCode.NotModified, notModified.StatusCode);

        using var unknown = await admin.GetAsync(ApiRoutes.Blob(new string('b', 64)));
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        using var notAHash = await admin.GetAsync("/content/blobs/sha256/..%2F..%2Fadmin-token");
        Assert.True(notAHash.StatusCode is HttpStatusCode.BadRequest or HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task The_OpenAPI_document_describes_the_agent_and_admin_api()
    {
        using var client = center.CreateClient();
        using var response = await client.GetAsync("/openapi/v1.json");
        await Expect.Status(response, HttpStatusCode.OK);
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var paths = document.RootElement.GetProperty("paths");
        foreach (var path in new[] { ApiRoutes.Enroll, ApiRoutes.DesiredStateTemplate, ApiRoutes.ReportsTemplate, ApiRoutes.ManifestTemplate, ApiRoutes.BlobTemplate,
                     CenterRoutes.AdminBlobs, CenterRoutes.AdminContent, CenterRoutes.AdminGroupAssignmentTemplate, CenterRoutes.AdminDeviceKillTemplate })
        {
            Assert.True(paths.TryGetProperty(path, out _), $"{path} is not in the OpenAPI document");
        }

        Assert.True(paths.GetProperty(ApiRoutes.Enroll).GetProperty("post").TryGetProperty("requestBody", out _));
    }
}
