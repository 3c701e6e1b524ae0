using System.Net;
using System.Text;
using NxTop.Contracts;
using NxTop.Contracts.Center;

namespace NxTop.Center.Tests;

/// <summary>Every body-taking route, fed garbage by an admin and by a device: a 4xx every time, never a 500.</summary>
public sealed class NeverFiveHundredTests : IDisposable
{
    private static readonly string[] Garbage =
    [
        "", "{", "[]", "null", "42", "\"text\"", "{\"name\": null}", "{\"blobs\": [{}]}", "{\"kind\": 7}",
        "{\"reportId\": \"r\", \"deviceId\": \"x\"}", new string('[', 5000), "{\"a\": \"\\ud800\"}",
    ];

    private readonly CenterFactory center = new();

    public void Dispose() => center.Dispose();

    [Fact]
    public async Task Garbage_bodies_get_4xx_on_every_route()
    {
        await center.PublishAsync(ContentKind.Base, "desktop", "v1");
        await center.PutGroupAsync("lab");
        var device = await center.EnrollAsync("lab");
        var routes = new (HttpMethod Method, string Path)[]
        {
            (HttpMethod.Post, ApiRoutes.Enroll),
            (HttpMethod.Post, ApiRoutes.Reports(device.DeviceId)),
            (HttpMethod.Post, CenterRoutes.AdminContent),
            (HttpMethod.Put, CenterRoutes.AdminTrack("desktop")),
            (HttpMethod.Post, CenterRoutes.AdminEnrollmentTokens),
            (HttpMethod.Post, CenterRoutes.AdminGroups),
            (HttpMethod.Post, CenterRoutes.AdminGroupMembers("lab")),
            (HttpMethod.Put, CenterRoutes.AdminGroupAssignment("lab")),
            (HttpMethod.Put, CenterRoutes.AdminDeviceAssignment(device.DeviceId)),
            (HttpMethod.Get, "/content/manifests/desktop/not-a-number"),
            (HttpMethod.Get, "/content/blobs/sha256/xyz"),
            (HttpMethod.Put, CenterRoutes.AdminBlobs + "?sha256=nothex"),
        };
        using var admin = center.Admin();
        using var asDevice = center.Device(device.Credential);
        var failures = new List<string>();
        foreach (var client in new[] { admin, asDevice })
        {
            foreach (var (method, path) in routes)
            {
                foreach (var body in Garbage)
                {
                    using var request = new HttpRequestMessage(method, path);
                    if (method != HttpMethod.Get)
                    {
                        request.Content = new StringContent(body, Encoding.UTF8, "application/json");
                    }

                    using var response = await client.SendAsync(request);
                    if ((int)response.StatusCode is < 400 or >= 500)
                    {
                        failures.Add($"{method} {path} with '{body[..Math.Min(body.Length, 30)]}': {(int)response.StatusCode}");
                    }
                }
            }
        }

        Assert.Empty(failures);
    }
}
