using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using NxTop.Center.Publishing;
using NxTop.Contracts;
using NxTop.Contracts.Center;

namespace NxTop.Center.Hosting;

/// <summary>How <see cref="CenterHost"/> starts a Center.</summary>
public sealed record CenterHostOptions
{
    /// <summary>Null: a new temporary directory, deleted when the host is disposed.</summary>
    public string? DataDirectory { get; init; }

    /// <summary>The address to listen on. A QEMU guest with user networking reaches the host's 127.0.0.1 as 10.0.2.2.</summary>
    public string BindAddress { get; init; } = "127.0.0.1";

    /// <summary>0: a free port chosen by the kernel.</summary>
    public int Port { get; init; }

    /// <summary>A PEM certificate (and <see cref="TlsKeyPath"/>, its PEM key): the Center then speaks HTTPS only.</summary>
    public string? TlsCertificatePath { get; init; }

    public string? TlsKeyPath { get; init; }

    public int EnrollmentPermitsPerMinute { get; init; } = 1000;

    /// <summary>Any other configuration, e.g. <c>Center:PublicBlobs</c> = <c>true</c>.</summary>
    public IReadOnlyDictionary<string, string> Settings { get; init; } = new Dictionary<string, string>();

    public LogLevel MinimumLogLevel { get; init; } = LogLevel.Warning;
}

/// <summary>A file to publish and its role in the manifest.</summary>
public sealed record HostedBlob(string Path, BlobRole Role, string MediaType);

/// <summary>
/// A whole Center in this process, listening on a real socket: for tests that need a real Center
/// (browser tests, the agent over TLS, an agent in a QEMU guest at 10.0.2.2:<see cref="Port"/>).
/// Its helpers go through the admin API over HTTP, as the CLI does.
/// </summary>
public sealed class CenterHost : IAsyncDisposable
{
    private readonly WebApplication app;
    private readonly bool ownsDataDirectory;
    private readonly HttpClient admin;

    private CenterHost(WebApplication app, Uri url, string dataDirectory, bool ownsDataDirectory, HttpMessageHandler handler)
    {
        this.app = app;
        Url = url;
        DataDirectory = dataDirectory;
        this.ownsDataDirectory = ownsDataDirectory;
        AdminToken = File.ReadAllText(Path.Combine(dataDirectory, "admin-token")).Trim();
        admin = new HttpClient(handler) { BaseAddress = url, Timeout = TimeSpan.FromMinutes(10) };
        admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue(ApiRoutes.AuthenticationScheme, AdminToken);
    }

    /// <summary>The base URL, e.g. <c>http://127.0.0.1:41234/</c>.</summary>
    public Uri Url { get; }

    public int Port => Url.Port;

    public string DataDirectory { get; }

    /// <summary>The first admin credential (<c>nxa_...</c>), from <c>admin-token</c>.</summary>
    public string AdminToken { get; }

    public IServiceProvider Services => app.Services;

    /// <summary>The publisher public key (PEM) that agents must trust (<c>publisher.pub.pem</c>).</summary>
    public string PublisherPublicKeyPem => Services.GetRequiredService<PublisherKey>().PublicKeyPem;

    public string PublisherPublicKeyPath => Services.GetRequiredService<PublisherKey>().PublicKeyPath;

    /// <summary>The admin API client this host uses (Bearer admin token); do not dispose it.</summary>
    public HttpClient Admin => admin;

    /// <summary>The URL as a QEMU guest with user networking sees it (<c>http://10.0.2.2:PORT/</c>).</summary>
    public Uri UrlForQemuGuest => new UriBuilder(Url) { Host = "10.0.2.2" }.Uri;

    public static async Task<CenterHost> StartAsync(CenterHostOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new CenterHostOptions();
        var owns = options.DataDirectory is null;
        var data = options.DataDirectory ?? Directory.CreateTempSubdirectory("nxtop-center-host-").FullName;
        var tls = options.TlsCertificatePath is not null;
        var listen = string.Create(CultureInfo.InvariantCulture, $"{(tls ? "https" : "http")}://{options.BindAddress}:{options.Port}");
        var args = new List<string>
        {
            "--environment=Production",
            "--Center:DataDirectory=" + data,
            string.Create(CultureInfo.InvariantCulture, $"--Center:EnrollmentPermitsPerMinute={options.EnrollmentPermitsPerMinute}"),
            "--Logging:LogLevel:Default=" + options.MinimumLogLevel,
            "--Logging:LogLevel:Microsoft.AspNetCore=" + (options.MinimumLogLevel < LogLevel.Warning ? LogLevel.Warning : options.MinimumLogLevel),
        };
        if (tls)
        {
            args.Add("--Kestrel:Endpoints:Https:Url=" + listen);
            args.Add("--Kestrel:Endpoints:Https:Certificate:Path=" + options.TlsCertificatePath);
            if (options.TlsKeyPath is not null)
            {
                args.Add("--Kestrel:Endpoints:Https:Certificate:KeyPath=" + options.TlsKeyPath);
            }
        }
        else
        {
            args.Add("--urls=" + listen);
        }

        args.AddRange(options.Settings.Select(s => $"--{s.Key}={s.Value}"));
        var app = CenterApp.Build([.. args]);
        try
        {
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await app.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        var url = new Uri(address.EndsWith('/') ? address : address + "/");
        var handler = new SocketsHttpHandler();
        if (tls)
        {
            // The host's own client trusts exactly the certificate it serves.
            using var certificate = System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPemFile(options.TlsCertificatePath!, options.TlsKeyPath);
            var thumbprint = certificate.GetCertHashString(HashAlgorithmName.SHA256);
            handler.SslOptions.RemoteCertificateValidationCallback = (_, presented, _, _) =>
                presented is not null && string.Equals(presented.GetCertHashString(HashAlgorithmName.SHA256), thumbprint, StringComparison.OrdinalIgnoreCase);
        }

        return new CenterHost(app, url, data, owns, handler);
    }

    /// <summary>Streams a file into the content store (the hash goes along, so a corrupted transfer is refused).</summary>
    public async Task<BlobUploaded> UploadAsync(string path, CancellationToken cancellationToken = default)
    {
        string sha256;
        var hashStream = File.OpenRead(path);
        await using (hashStream.ConfigureAwait(false))
        {
            sha256 = Convert.ToHexStringLower(await SHA256.HashDataAsync(hashStream, cancellationToken).ConfigureAwait(false));
        }

        var stream = File.OpenRead(path);
        await using (stream.ConfigureAwait(false))
        {
            using var content = new StreamContent(stream, 1 << 20);
            content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
            using var response = await admin.PutAsync(new Uri(CenterRoutes.AdminBlobsExpecting(sha256), UriKind.Relative), content, cancellationToken).ConfigureAwait(false);
            return await ReadAsync(response, CenterJsonContext.Default.BlobUploaded, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Uploads the files and publishes them as the next version of <paramref name="name"/> (on top of version <paramref name="patchOf"/>'s chain when given).</summary>
    public async Task<PublishedContent> PublishAsync(ContentKind kind, string name, IReadOnlyList<HostedBlob> files, PublishChannel channel = PublishChannel.Current,
        long? patchOf = null, string? kernelCommandLine = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(files);
        var blobs = new List<PublishBlob>();
        foreach (var file in files)
        {
            var uploaded = await UploadAsync(file.Path, cancellationToken).ConfigureAwait(false);
            blobs.Add(new PublishBlob(uploaded.Sha256, file.Role, file.MediaType));
        }

        using var response = await admin.PostAsJsonAsync(new Uri(CenterRoutes.AdminContent, UriKind.Relative),
            new PublishRequest(kind, name, null, blobs, patchOf, channel, kernelCommandLine), CenterJsonContext.Default.PublishRequest, cancellationToken).ConfigureAwait(false);
        return await ReadAsync(response, CenterJsonContext.Default.PublishedContent, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>A base image: one qcow2 disk.</summary>
    public Task<PublishedContent> PublishBaseAsync(string name, string qcow2Path, PublishChannel channel = PublishChannel.Current, CancellationToken cancellationToken = default) =>
        PublishAsync(ContentKind.Base, name, [new HostedBlob(qcow2Path, BlobRole.Disk, MediaTypes.Qcow2)], channel, cancellationToken: cancellationToken);

    /// <summary>A patch: a qcow2 delta on top of version <paramref name="of"/>'s chain.</summary>
    public Task<PublishedContent> PublishPatchAsync(string name, string deltaPath, long of, PublishChannel channel = PublishChannel.Current, CancellationToken cancellationToken = default) =>
        PublishAsync(ContentKind.Base, name, [new HostedBlob(deltaPath, BlobRole.Disk, MediaTypes.Qcow2)], channel, of, cancellationToken: cancellationToken);

    /// <summary>An app layer: one disk (raw unless given).</summary>
    public Task<PublishedContent> PublishAppAsync(string name, string diskPath, string mediaType = MediaTypes.Raw, PublishChannel channel = PublishChannel.Current, CancellationToken cancellationToken = default) =>
        PublishAsync(ContentKind.App, name, [new HostedBlob(diskPath, BlobRole.Disk, mediaType)], channel, cancellationToken: cancellationToken);

    public async Task<GroupInfo> PutGroupAsync(string name, GroupRing ring = GroupRing.General, CancellationToken cancellationToken = default)
    {
        using var response = await admin.PostAsJsonAsync(new Uri(CenterRoutes.AdminGroups, UriKind.Relative), new GroupRequest(name, ring),
            CenterJsonContext.Default.GroupRequest, cancellationToken).ConfigureAwait(false);
        return await ReadAsync(response, CenterJsonContext.Default.GroupInfo, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Gives every device of the group this base (following its track unless pinned), apps and policy.</summary>
    public Task<AssignmentInfo> AssignGroupAsync(string group, string baseName, IReadOnlyList<AppAssignment>? apps = null, DevicePolicy? policy = null,
        long? baseVersion = null, CancellationToken cancellationToken = default) =>
        AssignAsync(CenterRoutes.AdminGroupAssignment(group), baseName, apps, policy, baseVersion, cancellationToken);

    public Task<AssignmentInfo> AssignDeviceAsync(string deviceId, string baseName, IReadOnlyList<AppAssignment>? apps = null, DevicePolicy? policy = null,
        long? baseVersion = null, CancellationToken cancellationToken = default) =>
        AssignAsync(CenterRoutes.AdminDeviceAssignment(deviceId), baseName, apps, policy, baseVersion, cancellationToken);

    /// <summary>The default policy of these helpers: shared image, a 300 s health-check deadline, no lockout.</summary>
    public static DevicePolicy DefaultPolicy { get; } = new(ImageMode.Shared, 300, 0, LockoutAction.None);

    private async Task<AssignmentInfo> AssignAsync(string route, string baseName, IReadOnlyList<AppAssignment>? apps, DevicePolicy? policy, long? baseVersion, CancellationToken cancellationToken)
    {
        using var response = await admin.PutAsJsonAsync(new Uri(route, UriKind.Relative), new AssignmentRequest(baseName, baseVersion, apps ?? [], policy ?? DefaultPolicy),
            CenterJsonContext.Default.AssignmentRequest, cancellationToken).ConfigureAwait(false);
        return await ReadAsync(response, CenterJsonContext.Default.AssignmentInfo, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>One-time enrollment tokens (for <c>agent.enrollmentToken</c>), optionally putting the device into a group.</summary>
    public async Task<IReadOnlyList<string>> CreateEnrollmentTokensAsync(int count = 1, string? group = null, int validHours = 24, CancellationToken cancellationToken = default)
    {
        using var response = await admin.PostAsJsonAsync(new Uri(CenterRoutes.AdminEnrollmentTokens, UriKind.Relative), new EnrollmentTokenRequest(group, count, validHours),
            CenterJsonContext.Default.EnrollmentTokenRequest, cancellationToken).ConfigureAwait(false);
        return (await ReadAsync(response, CenterJsonContext.Default.EnrollmentTokensIssued, cancellationToken).ConfigureAwait(false)).Tokens;
    }

    public async Task<string> CreateEnrollmentTokenAsync(string? group = null, CancellationToken cancellationToken = default) =>
        (await CreateEnrollmentTokensAsync(1, group, 24, cancellationToken).ConfigureAwait(false))[0];

    public async Task<IReadOnlyList<DeviceSummary>> ListDevicesAsync(CancellationToken cancellationToken = default)
    {
        using var response = await admin.GetAsync(new Uri(CenterRoutes.AdminDevices, UriKind.Relative), cancellationToken).ConfigureAwait(false);
        return await ReadAsync(response, CenterJsonContext.Default.IReadOnlyListDeviceSummary, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Inventory, last report, desired state and history of one device.</summary>
    public async Task<DeviceDetail> GetDeviceAsync(string deviceId, CancellationToken cancellationToken = default)
    {
        using var response = await admin.GetAsync(new Uri(CenterRoutes.AdminDevice(deviceId), UriKind.Relative), cancellationToken).ConfigureAwait(false);
        return await ReadAsync(response, CenterJsonContext.Default.DeviceDetail, cancellationToken).ConfigureAwait(false);
    }

    public Task StopAsync(CancellationToken cancellationToken = default) => app.StopAsync(cancellationToken);

    public async ValueTask DisposeAsync()
    {
        admin.Dispose();
        try
        {
            await app.StopAsync().ConfigureAwait(false);
        }
        finally
        {
            await app.DisposeAsync().ConfigureAwait(false);
            if (ownsDataDirectory)
            {
                try
                {
                    Directory.Delete(DataDirectory, recursive: true);
                }
                catch (IOException)
                {
                }
            }
        }
    }

    private static async Task<T> ReadAsync<T>(HttpResponseMessage response, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> typeInfo, CancellationToken cancellationToken)
    {
        if (!response.IsSuccessStatusCode)
        {
            var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            throw new HttpRequestException($"{response.RequestMessage?.Method} {response.RequestMessage?.RequestUri} answered {(int)response.StatusCode}: {body}", null, response.StatusCode);
        }

        return (await response.Content.ReadFromJsonAsync(typeInfo, cancellationToken).ConfigureAwait(false))!;
    }
}
