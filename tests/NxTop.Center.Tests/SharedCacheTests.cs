using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using NxTop.Contracts;
using NxTop.Contracts.Center;

namespace NxTop.Center.Tests;

/// <summary>
/// Center:PublicBlobs: published blobs go out as <c>public, immutable</c> to anyone, so a shared cache
/// or CDN can serve the whole fleet from one copy, with Range, ETag, If-None-Match and If-Range intact.
/// </summary>
public sealed class SharedCacheTests : IDisposable
{
    private static readonly byte[] Content = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Range(0, 2000).Select(i => i.ToString("D4", System.Globalization.CultureInfo.InvariantCulture))));

    private readonly CenterFactory publicCenter = new(settings: new Dictionary<string, string> { ["Center:PublicBlobs"] = "true" });
    private readonly CenterFactory privateCenter = new();

    public void Dispose()
    {
        publicCenter.Dispose();
        privateCenter.Dispose();
    }

    private static async Task<(string Sha256, EnrollmentResponse Device)> PublishAndEnrollAsync(CenterFactory center)
    {
        var blob = await center.UploadAsync(Content);
        using (var admin = center.Admin())
        using (var publish = await admin.PostAsync(CenterRoutes.AdminContent, System.Net.Http.Json.JsonContent.Create(
                   new PublishRequest(ContentKind.Base, "desktop", null, [new PublishBlob(blob.Sha256, BlobRole.Disk, MediaTypes.Qcow2)], null, PublishChannel.Current, null),
                   CenterJsonContext.Default.PublishRequest)))
        {
            await Expect.Status(publish, HttpStatusCode.Created);
        }

        await center.PutGroupAsync("floor");
        await center.AssignAsync(CenterRoutes.AdminGroupAssignment("floor"), "desktop");
        return (blob.Sha256, await center.EnrollAsync("floor"));
    }

    private static HttpRequestMessage Get(string sha256, Action<HttpRequestHeaders>? headers = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, ApiRoutes.Blob(sha256));
        headers?.Invoke(request.Headers);
        return request;
    }

    [Fact]
    public async Task Public_blobs_answer_anyone_with_a_shared_cache_policy_ranges_and_validators()
    {
        var (sha256, _) = await PublishAndEnrollAsync(publicCenter);
        using var anonymous = publicCenter.CreateClient();
        var etag = new EntityTagHeaderValue($"\"{sha256}\"");

        using (var whole = await anonymous.SendAsync(Get(sha256)))
        {
            await Expect.Status(whole, HttpStatusCode.OK);
            Assert.Equal("public, max-age=31536000, immutable", whole.Headers.CacheControl!.ToString());
            Assert.Equal(etag, whole.Headers.ETag);
            Assert.Contains("bytes", whole.Headers.AcceptRanges);
            Assert.Equal(Content, await whole.Content.ReadAsByteArrayAsync());
        }

        using (var range = await anonymous.SendAsync(Get(sha256, h => h.Range = new RangeHeaderValue(100, 199))))
        {
            Assert.Equal(HttpStatusCode.PartialContent, range.StatusCode);
            Assert.Equal(Content[100..200], await range.Content.ReadAsByteArrayAsync());
            Assert.Equal((100L, 199L, (long)Content.Length), (range.Content.Headers.ContentRange!.From!.Value, range.Content.Headers.ContentRange.To!.Value, range.Content.Headers.ContentRange.Length!.Value));
            Assert.True(range.Headers.CacheControl!.Public);
        }

        using (var notModified = await anonymous.SendAsync(Get(sha256, h => h.IfNoneMatch.Add(etag))))
        {
            Assert.Equal(HttpStatusCode.NotModified, notModified.StatusCode);
            Assert.Equal(etag, notModified.Headers.ETag);
            Assert.Empty(await notModified.Content.ReadAsByteArrayAsync());
        }

        using (var changed = await anonymous.SendAsync(Get(sha256, h => h.IfNoneMatch.Add(new EntityTagHeaderValue("\"other\"")))))
        {
            Assert.Equal(HttpStatusCode.OK, changed.StatusCode);
        }

        // If-Range: resume only while the entity is the same one; otherwise the whole blob.
        using (var resumed = await anonymous.SendAsync(Get(sha256, h => { h.Range = new RangeHeaderValue(4000, null); h.IfRange = new RangeConditionHeaderValue(etag); })))
        {
            Assert.Equal(HttpStatusCode.PartialContent, resumed.StatusCode);
            Assert.Equal(Content[4000..], await resumed.Content.ReadAsByteArrayAsync());
        }

        using (var stale = await anonymous.SendAsync(Get(sha256, h => { h.Range = new RangeHeaderValue(4000, null); h.IfRange = new RangeConditionHeaderValue(new EntityTagHeaderValue("\"old\"")); })))
        {
            Assert.Equal(HttpStatusCode.OK, stale.StatusCode);
            Assert.Equal(Content, await stale.Content.ReadAsByteArrayAsync());
        }

        using (var unsatisfiable = await anonymous.SendAsync(Get(sha256, h => h.Range = new RangeHeaderValue(Content.Length + 10, null))))
        {
            Assert.Equal(HttpStatusCode.RequestedRangeNotSatisfiable, unsatisfiable.StatusCode);
        }
    }

    [Fact]
    public async Task Unpublished_uploads_manifests_and_desired_states_stay_private()
    {
        var (_, device) = await PublishAndEnrollAsync(publicCenter);
        var upload = await publicCenter.UploadAsync(Encoding.UTF8.GetBytes("not published yet"));
        using var anonymous = publicCenter.CreateClient();
        using (var response = await anonymous.SendAsync(Get(upload.Sha256)))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        }

        using (var response = await anonymous.GetAsync(ApiRoutes.Manifest("desktop", 1)))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        }

        using (var response = await anonymous.GetAsync(ApiRoutes.DesiredState(device.DeviceId)))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        }

        using var admin = publicCenter.Admin();
        using var own = await admin.SendAsync(Get(upload.Sha256));
        await Expect.Status(own, HttpStatusCode.OK);
        Assert.True(own.Headers.CacheControl!.Private);
    }

    [Fact]
    public async Task Without_public_blobs_content_is_private_and_needs_a_credential()
    {
        var (sha256, device) = await PublishAndEnrollAsync(privateCenter);
        using var anonymous = privateCenter.CreateClient();
        using (var response = await anonymous.SendAsync(Get(sha256)))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        }

        using var asDevice = privateCenter.Device(device.Credential);
        using var ok = await asDevice.SendAsync(Get(sha256));
        await Expect.Status(ok, HttpStatusCode.OK);
        Assert.True(ok.Headers.CacheControl!.Private);
        Assert.False(ok.Headers.CacheControl.Public);
    }

    [Theory]
    [InlineData(true, 1)]
    [InlineData(false, 10)]
    public async Task A_shared_cache_in_front_serves_the_fleet_from_one_copy_only_when_blobs_are_public(bool publicBlobs, int originFetches)
    {
        var center = publicBlobs ? publicCenter : privateCenter;
        var (sha256, _) = await PublishAndEnrollAsync(center);
        var devices = new List<EnrollmentResponse>();
        for (var i = 0; i < 5; i++)
        {
            devices.Add(await center.EnrollAsync("floor"));
        }

        using var cache = new SharedCache(center.Server.CreateHandler());
        foreach (var device in devices)
        {
            // Each device as the agent fetches: with its own credential, the first half, then a resume with If-Range.
            using var client = new HttpClient(cache, disposeHandler: false) { BaseAddress = center.Server.BaseAddress };
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue(ApiRoutes.AuthenticationScheme, device.Credential);
            using var first = await client.SendAsync(Get(sha256, h => h.Range = new RangeHeaderValue(0, 3999)));
            Assert.Equal(HttpStatusCode.PartialContent, first.StatusCode);
            var head = await first.Content.ReadAsByteArrayAsync();
            using var rest = await client.SendAsync(Get(sha256, h => { h.Range = new RangeHeaderValue(4000, null); h.IfRange = new RangeConditionHeaderValue(first.Headers.ETag!); }));
            Assert.Equal(HttpStatusCode.PartialContent, rest.StatusCode);
            Assert.Equal(Content, head.Concat(await rest.Content.ReadAsByteArrayAsync()).ToArray());
        }

        Assert.Equal(originFetches, cache.OriginFetches(ApiRoutes.Blob(sha256)));
    }

    /// <summary>
    /// A minimal shared cache (RFC 9111) as a CDN edge behaves: it fetches the whole object from the origin,
    /// stores it only when the answer is <c>public</c> and not <c>private</c>/<c>no-store</c>, and then answers
    /// Range, If-Range and If-None-Match itself. Anything it may not store is fetched again for every request.
    /// </summary>
    private sealed class SharedCache(HttpMessageHandler origin) : DelegatingHandler(origin)
    {
        private readonly ConcurrentDictionary<string, (byte[] Body, EntityTagHeaderValue ETag)> stored = new(StringComparer.Ordinal);
        private readonly ConcurrentDictionary<string, int> fetches = new(StringComparer.Ordinal);

        public int OriginFetches(string path) => fetches.GetValueOrDefault(path);

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var key = request.RequestUri!.AbsolutePath;
            if (!stored.TryGetValue(key, out var entry))
            {
                using var fill = new HttpRequestMessage(HttpMethod.Get, request.RequestUri);
                fill.Headers.Authorization = request.Headers.Authorization;
                fetches.AddOrUpdate(key, 1, (_, n) => n + 1);
                var response = await base.SendAsync(fill, cancellationToken);
                var policy = response.Headers.CacheControl;
                if (response.StatusCode != HttpStatusCode.OK || response.Headers.ETag is null)
                {
                    return response;
                }

                entry = (await response.Content.ReadAsByteArrayAsync(cancellationToken), response.Headers.ETag);
                response.Dispose();
                if (policy is { Public: true, Private: false, NoStore: false })
                {
                    stored[key] = entry;
                }
            }

            if (request.Headers.IfNoneMatch.Contains(entry.ETag))
            {
                return new HttpResponseMessage(HttpStatusCode.NotModified) { Headers = { ETag = entry.ETag } };
            }

            var range = request.Headers.Range?.Ranges.SingleOrDefault();
            var ifRangeHolds = request.Headers.IfRange is null || Equals(request.Headers.IfRange.EntityTag, entry.ETag);
            if (range is null || !ifRangeHolds)
            {
                return new HttpResponseMessage(HttpStatusCode.OK) { Content = new ByteArrayContent(entry.Body), Headers = { ETag = entry.ETag } };
            }

            var from = range.From ?? 0;
            var to = Math.Min(range.To ?? entry.Body.Length - 1, entry.Body.Length - 1);
            var partial = new HttpResponseMessage(HttpStatusCode.PartialContent)
            {
                Content = new ByteArrayContent(entry.Body[(int)from..(int)(to + 1)]),
                Headers = { ETag = entry.ETag },
            };
            partial.Content.Headers.ContentRange = new ContentRangeHeaderValue(from, to, entry.Body.Length);
            return partial;
        }
    }
}
