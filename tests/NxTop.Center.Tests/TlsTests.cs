extern alias agent;

using System.Net;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging.Abstractions;
using agent::NxTop.Agent.Storage;
using agent::NxTop.Agent.Sync;
using NxTop.Center.Hosting;
using NxTop.Contracts;

namespace NxTop.Center.Tests;

/// <summary>
/// The Center on HTTPS with a PEM certificate and key (Kestrel:Endpoints:Https:Certificate:Path/KeyPath, as the
/// README documents), and the agent's own sync client trusting exactly that certificate (agent.json centerCaFile).
/// </summary>
public sealed class TlsTests : IDisposable
{
    private readonly string work = TempDirectory.Create("nxtop-tls-");

    public void Dispose() => TempDirectory.Delete(work);

    /// <summary>A self-signed P-256 certificate for 127.0.0.1 and localhost (or the given names), as PEM files.</summary>
    private (string Certificate, string Key) SelfSigned(string name, params string[] dnsNames)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        if (dnsNames.Length == 0)
        {
            san.AddIpAddress(IPAddress.Loopback);
            san.AddDnsName("localhost");
        }

        foreach (var dns in dnsNames)
        {
            san.AddDnsName(dns);
        }

        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], critical: false));
        var now = DateTimeOffset.UtcNow;
        using var certificate = request.CreateSelfSigned(now.AddDays(-1), now.AddDays(30));
        var certificatePath = Path.Combine(work, name + ".crt");
        var keyPath = Path.Combine(work, name + ".key");
        File.WriteAllText(certificatePath, certificate.ExportCertificatePem() + "\n");
        File.WriteAllText(keyPath, key.ExportPkcs8PrivateKeyPem() + "\n");
        File.SetUnixFileMode(keyPath, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        return (certificatePath, keyPath);
    }

    [Fact]
    public async Task The_agent_sync_client_enrolls_polls_downloads_and_reports_over_https_trusting_the_pinned_certificate()
    {
        var (certificate, key) = SelfSigned("center");
        await using var host = await CenterHost.StartAsync(new CenterHostOptions { TlsCertificatePath = certificate, TlsKeyPath = key });
        Assert.Equal("https", host.Url.Scheme);

        var image = Path.Combine(work, "desktop.qcow2");
        await File.WriteAllBytesAsync(image, RandomNumberGenerator.GetBytes(200_000));
        await host.PublishBaseAsync("desktop", image);
        await host.PutGroupAsync("lab");
        await host.AssignGroupAsync("lab", "desktop");
        var token = await host.CreateEnrollmentTokenAsync("lab");

        using var http = new HttpClient(CenterHttp.CreateHandler(certificate)) { Timeout = Timeout.InfiniteTimeSpan };
        var center = new CenterClient(http, host.Url);
        var enrolled = await center.EnrollAsync(new EnrollmentRequest(token, "pc-tls", CenterFactory.Inventory("pc-tls")), default);
        var identity = new DeviceIdentity(enrolled.DeviceId, enrolled.Credential, DateTimeOffset.UtcNow);
        var desired = await center.GetDesiredStateAsync(identity, default);
        Assert.Equal(1, desired!.Base.Version);

        using var verifier = ManifestVerifier.FromPublicKeyPems([host.PublisherPublicKeyPem]);
        var manifest = verifier.Verify(await center.GetManifestAsync(identity, desired.Base, default)).Manifest!;
        var layout = new StoreLayout(Path.Combine(work, "agent"));
        layout.CreateDirectories();
        var store = new ContentStore(layout, 1L << 30);
        var downloader = new BlobDownloader(http, store, RetryPolicy.Default, TimeProvider.System, NullLogger<BlobDownloader>.Instance)
        {
            Authorization = CenterClient.Bearer(identity),
        };
        var blob = Assert.Single(manifest.Blobs);
        await downloader.EnsureBlobAsync(center.Resolve(ApiRoutes.Blob(blob.Sha256)), blob, default);
        Assert.True(store.HasBlob(blob));
        Assert.Equal(await File.ReadAllBytesAsync(image), await File.ReadAllBytesAsync(store.BlobPath(blob.Sha256)));

        await center.PostReportAsync(identity, Reports.Healthy(enrolled.DeviceId, "tls-1", "desktop", 1), default);
        Assert.Equal("desktop@1", (await host.GetDeviceAsync(enrolled.DeviceId)).Device.BaseVersion);
    }

    [Fact]
    public async Task The_agent_refuses_a_center_whose_certificate_it_was_not_given()
    {
        var (certificate, key) = SelfSigned("center");
        var (other, _) = SelfSigned("impostor");
        var (wrongName, wrongNameKey) = SelfSigned("elsewhere", "center.example");
        await using var host = await CenterHost.StartAsync(new CenterHostOptions { TlsCertificatePath = certificate, TlsKeyPath = key });
        var token = await host.CreateEnrollmentTokenAsync();
        var request = new EnrollmentRequest(token, "pc", CenterFactory.Inventory("pc"));

        foreach (var caFile in new[] { null, other })
        {
            using var http = new HttpClient(CenterHttp.CreateHandler(caFile));
            var refused = await Assert.ThrowsAsync<HttpRequestException>(() => new CenterClient(http, host.Url).EnrollAsync(request, default));
            Assert.IsType<AuthenticationException>(refused.InnerException);
        }

        // Pinned, but issued for another name: the host name is still checked.
        await using var misnamed = await CenterHost.StartAsync(new CenterHostOptions { TlsCertificatePath = wrongName, TlsKeyPath = wrongNameKey });
        using (var http = new HttpClient(CenterHttp.CreateHandler(wrongName)))
        {
            var refused = await Assert.ThrowsAsync<HttpRequestException>(() => new CenterClient(http, misnamed.Url).EnrollAsync(request, default));
            Assert.IsType<AuthenticationException>(refused.InnerException);
        }

        // The token was never spent: no TLS session was accepted.
        using var trusted = new HttpClient(CenterHttp.CreateHandler(certificate));
        Assert.StartsWith("nxd_", (await new CenterClient(trusted, host.Url).EnrollAsync(request, default)).Credential, StringComparison.Ordinal);
    }

    [Fact]
    public void A_ca_file_without_a_certificate_is_refused()
    {
        var empty = Path.Combine(work, "empty.pem");
        File.WriteAllText(empty, "not a certificate\n");
        Assert.Throws<InvalidOperationException>(() => CenterHttp.CreateHandler(empty));
    }
}
