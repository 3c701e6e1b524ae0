using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using NxTop.Center.Storage;
using NxTop.Contracts;
using NxTop.Contracts.Center;

namespace NxTop.Center.Tests;

/// <summary>A Center on a fresh data directory (SQLite), in memory via TestServer.</summary>
public sealed class CenterFactory(string? dataDirectory = null, int enrollmentPermits = 1000, string? connectionString = null, IReadOnlyDictionary<string, string>? settings = null)
    : WebApplicationFactory<Program>
{
    public string DataDirectory { get; } = dataDirectory ?? TempDirectory.Create("nxtop-center-");

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Production");
        builder.UseSetting("Center:DataDirectory", DataDirectory);
        builder.UseSetting("Center:EnrollmentPermitsPerMinute", enrollmentPermits.ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (connectionString is not null)
        {
            builder.UseSetting("Center:ConnectionString", connectionString);
        }

        foreach (var (key, value) in settings ?? new Dictionary<string, string>())
        {
            builder.UseSetting(key, value);
        }

        builder.ConfigureLogging(logging => logging.SetMinimumLevel(LogLevel.Warning));
    }

    public ICenterStore Store => Services.GetRequiredService<ICenterStore>();

    public string AdminToken => File.ReadAllText(Path.Combine(DataDirectory, "admin-token")).Trim();

    public HttpClient Admin()
    {
        var client = CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", AdminToken);
        return client;
    }

    public HttpClient Device(string credential)
    {
        var client = CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", credential);
        return client;
    }

    public async Task<BlobUploaded> UploadAsync(byte[] content)
    {
        using var admin = Admin();
        using var body = new ByteArrayContent(content);
        using var response = await admin.PutAsync(CenterRoutes.AdminBlobs, body);
        await Expect.Status(response, System.Net.HttpStatusCode.Created);
        return (await response.Content.ReadFromJsonAsync(CenterJsonContext.Default.BlobUploaded))!;
    }

    /// <summary>Uploads the bytes and publishes them as the next version (a patch of <paramref name="patchOf"/> when given).</summary>
    public async Task<PublishedContent> PublishAsync(ContentKind kind, string name, string text, PublishChannel channel = PublishChannel.Staged, long? patchOf = null)
    {
        var blob = await UploadAsync(Encoding.UTF8.GetBytes(text));
        using var admin = Admin();
        var media = kind == ContentKind.Base ? MediaTypes.Qcow2 : MediaTypes.Raw;
        using var response = await admin.PostAsJsonAsync(CenterRoutes.AdminContent,
            new PublishRequest(kind, name, null, [new PublishBlob(blob.Sha256, BlobRole.Disk, media)], patchOf, channel, null), CenterJsonContext.Default.PublishRequest);
        await Expect.Status(response, System.Net.HttpStatusCode.Created);
        return (await response.Content.ReadFromJsonAsync(CenterJsonContext.Default.PublishedContent))!;
    }

    public async Task<IReadOnlyList<string>> TokensAsync(int count, string? group = null)
    {
        using var admin = Admin();
        using var response = await admin.PostAsJsonAsync(CenterRoutes.AdminEnrollmentTokens, new EnrollmentTokenRequest(group, count, 24), CenterJsonContext.Default.EnrollmentTokenRequest);
        await Expect.Status(response, System.Net.HttpStatusCode.Created);
        return (await response.Content.ReadFromJsonAsync(CenterJsonContext.Default.EnrollmentTokensIssued))!.Tokens;
    }

    public async Task<EnrollmentResponse> EnrollAsync(string? group = null, string hostname = "pc")
    {
        var token = (await TokensAsync(1, group))[0];
        using var client = CreateClient();
        using var response = await client.PostAsJsonAsync(ApiRoutes.Enroll, new EnrollmentRequest(token, hostname, Inventory(hostname)), ContractsJsonContext.Default.EnrollmentRequest);
        await Expect.Status(response, System.Net.HttpStatusCode.OK);
        return (await response.Content.ReadFromJsonAsync(ContractsJsonContext.Default.EnrollmentResponse))!;
    }

    public async Task PutGroupAsync(string name, GroupRing ring = GroupRing.General)
    {
        using var admin = Admin();
        using var response = await admin.PostAsJsonAsync(CenterRoutes.AdminGroups, new GroupRequest(name, ring), CenterJsonContext.Default.GroupRequest);
        await Expect.Status(response, System.Net.HttpStatusCode.OK);
    }

    public async Task AssignAsync(string path, string baseName, long? baseVersion = null, IReadOnlyList<AppAssignment>? apps = null)
    {
        using var admin = Admin();
        using var response = await admin.PutAsJsonAsync(path, new AssignmentRequest(baseName, baseVersion, apps ?? [], Policy), CenterJsonContext.Default.AssignmentRequest);
        await Expect.Status(response, System.Net.HttpStatusCode.OK);
    }

    public static DevicePolicy Policy { get; } = new(ImageMode.Shared, 300, 30, LockoutAction.None);

    public static HardwareInventory Inventory(string hostname) => new(
        hostname,
        new CpuInfo("Test CPU", 4, "GenuineIntel"),
        8L << 30,
        [new DiskInfo("sda", 256L << 30, "disk", "S1", false, false)],
        [new NicInfo("eth0", "52:54:00:12:34:56", "up", 1000)],
        new DmiInfo("QEMU", "Standard PC", null, null, null, null, null, null, null, null, null),
        null);

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing && dataDirectory is null)
        {
            TempDirectory.Delete(DataDirectory);
        }
    }
}

public static class Expect
{
    public static async Task Status(HttpResponseMessage response, System.Net.HttpStatusCode expected)
    {
        if (response.StatusCode != expected)
        {
            var body = await response.Content.ReadAsStringAsync();
            Assert.Fail($"expected {(int)expected} {expected}, got {(int)response.StatusCode} {response.StatusCode}: {body}");
        }
    }
}

public static class TempDirectory
{
    /// <summary>
    /// A new directory, in /dev/shm where there is one: the store fsyncs every commit, which on a
    /// disk costs milliseconds that these tests do not need to pay.
    /// </summary>
    public static string Create(string prefix)
    {
        const string shm = "/dev/shm";
        if (Directory.Exists(shm))
        {
            try
            {
                return Directory.CreateDirectory(Path.Combine(shm, prefix + Guid.NewGuid().ToString("N")[..12])).FullName;
            }
            catch (UnauthorizedAccessException)
            {
            }
        }

        return Directory.CreateTempSubdirectory(prefix).FullName;
    }

    public static void Delete(string path)
    {
        try
        {
            Directory.Delete(path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
