using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using NxTop.Center.Hosting;
using NxTop.Contracts;
using NxTop.Contracts.Center;

namespace NxTop.Center.Tests;

/// <summary><see cref="CenterHost"/>: a real Center on 127.0.0.1 for the browser, TLS and VM tests.</summary>
public sealed class CenterHostTests : IDisposable
{
    private readonly string work = TempDirectory.Create("nxtop-host-");

    public void Dispose() => TempDirectory.Delete(work);

    private string File(string name, string text)
    {
        var path = Path.Combine(work, name);
        System.IO.File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public async Task It_serves_on_a_free_loopback_port_publishes_from_files_and_enrolls_a_device()
    {
        string dataDirectory;
        int port;
        await using (var host = await CenterHost.StartAsync())
        {
            dataDirectory = host.DataDirectory;
            port = host.Port;
            Assert.Equal("127.0.0.1", host.Url.Host);
            Assert.NotEqual(0, port);
            Assert.Equal(new Uri($"http://10.0.2.2:{port}/"), host.UrlForQemuGuest);
            Assert.StartsWith("nxa_", host.AdminToken, StringComparison.Ordinal);
            Assert.Contains("BEGIN PUBLIC KEY", host.PublisherPublicKeyPem, StringComparison.Ordinal);
            Assert.Equal(host.PublisherPublicKeyPem.Trim(), (await System.IO.File.ReadAllTextAsync(host.PublisherPublicKeyPath)).Trim());

            var v1 = await host.PublishBaseAsync("desktop", File("base.qcow2", "base"));
            var v2 = await host.PublishPatchAsync("desktop", File("delta.qcow2", "delta"), of: 1);
            var app = await host.PublishAppAsync("office", File("office.img", "office"));
            Assert.Equal((1, 2, 1), (v1.Version, v2.Version, app.Version));
            Assert.Equal(2, v2.Blobs.Count);
            await host.PutGroupAsync("lab");
            await host.AssignGroupAsync("lab", "desktop", [new AppAssignment("office", null)]);
            var token = await host.CreateEnrollmentTokenAsync("lab");

            // Over a real socket, as an agent in a guest would.
            using var http = new HttpClient { BaseAddress = host.Url };
            using var enroll = await http.PostAsJsonAsync(ApiRoutes.Enroll, new EnrollmentRequest(token, "guest", CenterFactory.Inventory("guest")), ContractsJsonContext.Default.EnrollmentRequest);
            await Expect.Status(enroll, HttpStatusCode.OK);
            var device = (await enroll.Content.ReadFromJsonAsync(ContractsJsonContext.Default.EnrollmentResponse))!;
            http.DefaultRequestHeaders.Authorization = new(ApiRoutes.AuthenticationScheme, device.Credential);
            var desired = await http.GetFromJsonAsync(ApiRoutes.DesiredState(device.DeviceId), ContractsJsonContext.Default.DesiredState);
            Assert.Equal(2, desired!.Base.Version);
            Assert.Equal("office", Assert.Single(desired.Apps).Name);
            Assert.Equal("lab", Assert.Single(await host.ListDevicesAsync()).Group);
            Assert.Equal(device.DeviceId, (await host.GetDeviceAsync(device.DeviceId)).Device.Id);

            var refused = await Assert.ThrowsAsync<HttpRequestException>(() => host.AssignGroupAsync("lab", "nothing"));
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        }

        Assert.False(Directory.Exists(dataDirectory));
        using var client = new TcpClient();
        await Assert.ThrowsAnyAsync<SocketException>(() => client.ConnectAsync(IPAddress.Loopback, port));
    }

    [Fact]
    public async Task A_given_data_directory_is_kept_and_reused()
    {
        var data = Path.Combine(work, "center");
        string token;
        await using (var host = await CenterHost.StartAsync(new CenterHostOptions { DataDirectory = data }))
        {
            token = host.AdminToken;
            await host.PublishBaseAsync("desktop", File("base.qcow2", "base"));
        }

        await using (var again = await CenterHost.StartAsync(new CenterHostOptions { DataDirectory = data }))
        {
            Assert.Equal(token, again.AdminToken);
            using var response = await again.Admin.GetAsync(new Uri(CenterRoutes.AdminTrack("desktop"), UriKind.Relative));
            await Expect.Status(response, HttpStatusCode.OK);
        }
    }
}
