using System.Net.Http.Headers;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using NxTop.Agent.Storage;
using NxTop.Contracts;

namespace NxTop.Agent.Tests;

/// <summary>The downloader against a real HTTP server on 127.0.0.1 that drops connections and honours Range.</summary>
public sealed class BlobDownloaderTests : IDisposable
{
    private static readonly RetryPolicy FastRetries = new(5, TimeSpan.FromMilliseconds(5), TimeSpan.FromMilliseconds(50), TimeSpan.FromSeconds(10));

    private readonly TempDirectory _temp = new();
    private readonly ContentStore _store;
    private readonly HttpClient _http = new();
    private readonly byte[] _bytes = RandomNumberGenerator.GetBytes(300_000);
    private readonly ManifestBlob _blob;

    public BlobDownloaderTests()
    {
        var layout = new StoreLayout(_temp.Combine("nxtop"));
        layout.CreateDirectories();
        _store = new ContentStore(layout, 10 * 1024 * 1024);
        _blob = new ManifestBlob(Convert.ToHexStringLower(SHA256.HashData(_bytes)), _bytes.Length, BlobRole.Disk, MediaTypes.Raw);
    }

    public void Dispose()
    {
        _http.Dispose();
        _temp.Dispose();
    }

    private BlobDownloader Downloader(TimeProvider? time = null, RetryPolicy? policy = null) =>
        new(_http, _store, policy ?? FastRetries, time ?? TimeProvider.System, NullLogger<BlobDownloader>.Instance, () => 0.5);

    private Uri BlobUri(TestHttpServer server) => new(server.BaseUrl, ApiRoutes.Blob(_blob.Sha256));

    [Fact]
    public async Task A_blob_downloads_verifies_and_lands_in_the_store()
    {
        await using var server = new TestHttpServer(request => TestResponse.Bytes(request, _bytes));

        await Downloader().EnsureBlobAsync(BlobUri(server), _blob, CancellationToken.None);

        Assert.Equal(_bytes, File.ReadAllBytes(_store.Layout.Blob(_blob.Sha256)));
        Assert.Equal($"/content/blobs/sha256/{_blob.Sha256}", Assert.Single(server.Requests).Path);
    }

    [Fact]
    public async Task A_dropped_connection_resumes_with_a_range_request_from_where_it_stopped()
    {
        var calls = 0;
        await using var server = new TestHttpServer(request =>
            TestResponse.Bytes(request, _bytes, dropAfter: Interlocked.Increment(ref calls) <= 2 ? 100_000 : null));
        var downloader = Downloader();

        await downloader.EnsureBlobAsync(BlobUri(server), _blob, CancellationToken.None);

        var requests = server.Requests.ToArray();
        Assert.Equal(3, requests.Length);
        Assert.Null(requests[0].Header("Range"));
        Assert.Equal("bytes=100000-", requests[1].Header("Range"));
        Assert.Equal("bytes=200000-", requests[2].Header("Range"));
        Assert.Equal(_bytes.Length, downloader.BytesReceived);
        Assert.Equal(_bytes, File.ReadAllBytes(_store.Layout.Blob(_blob.Sha256)));
    }

    [Fact]
    public async Task A_server_that_ignores_the_range_makes_the_download_start_over()
    {
        var calls = 0;
        await using var server = new TestHttpServer(request =>
            TestResponse.Bytes(request, _bytes, ignoreRange: true, dropAfter: Interlocked.Increment(ref calls) == 1 ? 50_000 : null));

        await Downloader().EnsureBlobAsync(BlobUri(server), _blob, CancellationToken.None);

        Assert.Equal(_bytes, File.ReadAllBytes(_store.Layout.Blob(_blob.Sha256)));
    }

    [Fact]
    public async Task Flipped_bytes_are_refused_and_nothing_enters_the_store()
    {
        var corrupt = (byte[])_bytes.Clone();
        corrupt[150_000] ^= 0x55;
        await using var server = new TestHttpServer(request => TestResponse.Bytes(request, corrupt));

        var ex = await Assert.ThrowsAsync<ContentRefusedException>(() => Downloader().EnsureBlobAsync(BlobUri(server), _blob, CancellationToken.None));

        Assert.Equal(RefusalKind.HashMismatch, ex.Kind);
        Assert.False(_store.HasBlob(_blob));
        Assert.Empty(Directory.EnumerateFiles(_store.Layout.PartialDirectory));
        Assert.Single(server.Requests); // a refusal is not retried
    }

    [Fact]
    public async Task A_server_that_sends_more_than_the_manifest_says_is_refused_as_oversize()
    {
        var longer = _bytes.Concat(new byte[70_000]).ToArray();
        await using var server = new TestHttpServer(request => TestResponse.Bytes(request, longer));

        var ex = await Assert.ThrowsAsync<ContentRefusedException>(() => Downloader().EnsureBlobAsync(BlobUri(server), _blob, CancellationToken.None));

        Assert.Equal(RefusalKind.Oversize, ex.Kind);
        Assert.Empty(Directory.EnumerateFiles(_store.Layout.PartialDirectory));
    }

    [Fact]
    public async Task A_full_disk_is_a_clear_error_that_removes_the_partial_file_and_leaves_the_store_alone()
    {
        var (otherBytes, other) = (new byte[] { 1, 2, 3 }, new ManifestBlob(Convert.ToHexStringLower(SHA256.HashData(new byte[] { 1, 2, 3 })), 3, BlobRole.Disk, MediaTypes.Raw));
        File.WriteAllBytes(_temp.Combine("other"), otherBytes);
        _store.ImportFile(_temp.Combine("other"), other);
        File.CreateSymbolicLink(_store.Layout.Partial(_blob.Sha256), "/dev/full");
        await using var server = new TestHttpServer(request => TestResponse.Bytes(request, _bytes));

        var ex = await Assert.ThrowsAsync<DiskFullException>(() => Downloader().EnsureBlobAsync(BlobUri(server), _blob, CancellationToken.None));

        Assert.Contains("disk full while downloading blob " + _blob.Sha256, ex.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(_store.Layout.Partial(_blob.Sha256)));
        Assert.True(_store.Verify([new ContentManifest(ContentKind.App, "old", 1, [other], DateTimeOffset.UnixEpoch)]).Consistent);
        Assert.Single(server.Requests); // not retried: retrying cannot make room
    }

    [Fact]
    public async Task Retries_wait_for_the_backoff_on_the_time_provider()
    {
        var time = new FakeTimeProvider();
        var calls = 0;
        await using var server = new TestHttpServer(request =>
            Interlocked.Increment(ref calls) == 1 ? TestResponse.Empty(503) : TestResponse.Bytes(request, _bytes));
        var policy = new RetryPolicy(5, TimeSpan.FromSeconds(10), TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(10));
        var downloader = Downloader(time, policy);
        var scheduled = new TaskCompletionSource<TimeSpan>();
        downloader.RetryScheduled = (_, delay, _) => scheduled.TrySetResult(delay);

        var download = downloader.EnsureBlobAsync(BlobUri(server), _blob, CancellationToken.None);
        var delay = await scheduled.Task.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(TimeSpan.FromSeconds(7.5), delay); // 10 s * (0.5 + 0.5 * jitter 0.5)
        time.Advance(TimeSpan.FromSeconds(7));
        await Task.Delay(200);
        Assert.False(download.IsCompleted);
        Assert.Single(server.Requests);

        time.Advance(TimeSpan.FromSeconds(0.5));
        await download.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(2, server.Requests.Count);
        Assert.True(_store.HasBlob(_blob));
    }

    [Fact]
    public async Task It_gives_up_after_the_last_attempt()
    {
        await using var server = new TestHttpServer(_ => TestResponse.Empty(503));

        var ex = await Assert.ThrowsAsync<DownloadFailedException>(() => Downloader().EnsureBlobAsync(BlobUri(server), _blob, CancellationToken.None));

        Assert.Contains("gave up after 5 attempts", ex.Message, StringComparison.Ordinal);
        Assert.Equal(5, server.Requests.Count);
    }

    [Fact]
    public async Task A_404_is_not_retried_and_the_credential_is_sent_as_bearer()
    {
        await using var server = new TestHttpServer(_ => TestResponse.Empty(404));
        var downloader = Downloader();
        downloader.Authorization = new AuthenticationHeaderValue("Bearer", "cred-1");

        await Assert.ThrowsAsync<DownloadFailedException>(() => downloader.EnsureBlobAsync(BlobUri(server), _blob, CancellationToken.None));

        Assert.Equal("Bearer cred-1", Assert.Single(server.Requests).Header("Authorization"));
    }

    [Theory]
    [InlineData(1, 0.0, 1000)]
    [InlineData(1, 1.0, 2000)]
    [InlineData(2, 1.0, 4000)]
    [InlineData(3, 0.5, 6000)]
    [InlineData(10, 1.0, 60000)]
    public void Backoff_doubles_is_capped_and_jittered_between_half_and_full(int attempt, double jitter, double expectedMs)
    {
        var policy = new RetryPolicy(10, TimeSpan.FromSeconds(2), TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(1));

        Assert.Equal(expectedMs, policy.DelayAfter(attempt, jitter).TotalMilliseconds, precision: 3);
    }
}
