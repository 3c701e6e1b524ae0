using System.Net;
using System.Net.Http.Headers;
using Microsoft.Extensions.Logging;
using NxTop.Contracts;

namespace NxTop.Agent.Storage;

/// <summary>How downloads retry. Delays grow as <c>base·2^(attempt-1)</c> up to <see cref="MaxDelay"/>, then "equal jitter" scales each by 0.5–1.0.</summary>
internal sealed record RetryPolicy(int MaxAttempts, TimeSpan BaseDelay, TimeSpan MaxDelay, TimeSpan StallTimeout)
{
    public static RetryPolicy Default { get; } = new(8, TimeSpan.FromSeconds(2), TimeSpan.FromMinutes(5), TimeSpan.FromSeconds(60));

    /// <param name="attempt">The attempt that just failed, from 1.</param>
    /// <param name="jitter">A uniform sample in [0, 1).</param>
    public TimeSpan DelayAfter(int attempt, double jitter)
    {
        var exponential = BaseDelay.TotalMilliseconds * Math.Pow(2, Math.Min(attempt - 1, 30));
        var capped = Math.Min(exponential, MaxDelay.TotalMilliseconds);
        return TimeSpan.FromMilliseconds(capped * (0.5 + (0.5 * Math.Clamp(jitter, 0, 1))));
    }
}

/// <summary>A download that failed for a reason worth retrying (connection, timeout, 5xx, 408, 429).</summary>
internal sealed class TransientDownloadException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>A download that the server refuses for good (e.g. 401, 403, 404 after the retries).</summary>
internal sealed class DownloadFailedException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// Fetches blobs into <c>blobs/partial</c>, resuming with <c>Range: bytes=N-</c>, and hands them to the
/// store, which verifies before anything can use them. Retries transient failures with backoff and
/// jitter timed by the <see cref="TimeProvider"/>.
/// </summary>
internal sealed partial class BlobDownloader(
    HttpClient http,
    ContentStore store,
    RetryPolicy policy,
    TimeProvider timeProvider,
    ILogger<BlobDownloader> logger,
    Func<double>? jitter = null)
{
    private const int BufferSize = 1 << 16;

    private readonly Func<double> _jitter = jitter ?? Random.Shared.NextDouble;

    /// <summary>Called when a backoff wait has begun (attempt, delay, reason).</summary>
    public Action<int, TimeSpan, string>? RetryScheduled { get; set; }

    /// <summary>Sent with every blob request (the device credential), if set.</summary>
    public AuthenticationHeaderValue? Authorization { get; set; }

    /// <summary>Bytes received over the network by this downloader (not counting resumed bytes twice).</summary>
    public long BytesReceived => Interlocked.Read(ref _bytesReceived);

    private long _bytesReceived;

    public async Task EnsureBlobAsync(Uri blobUri, ManifestBlob blob, CancellationToken cancellationToken)
    {
        store.CheckSize(blob);
        if (store.HasBlob(blob))
        {
            return;
        }

        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await DownloadOnceAsync(blobUri, blob, cancellationToken).ConfigureAwait(false);
                store.ImportPartial(blob);
                return;
            }
            catch (Exception ex) when (Posix.IsDiskFull(ex))
            {
                // Free what this download took; the installed version is untouched.
                TryDelete(store.Layout.Partial(blob.Sha256));
                throw new DiskFullException($"disk full while downloading blob {blob.Sha256} ({blob.Size} bytes) into {store.Layout.PartialDirectory}: {ex.Message}", ex);
            }
            catch (Exception ex) when (IsTransient(ex, cancellationToken) && attempt < policy.MaxAttempts)
            {
                var delay = policy.DelayAfter(attempt, _jitter());
                LogRetry(blob.Sha256, attempt, policy.MaxAttempts, delay.TotalSeconds, ex.Message);
                var wait = Task.Delay(delay, timeProvider, cancellationToken);
                RetryScheduled?.Invoke(attempt, delay, ex.Message);
                await wait.ConfigureAwait(false);
            }
            catch (Exception ex) when (IsTransient(ex, cancellationToken))
            {
                throw new DownloadFailedException($"blob {blob.Sha256}: gave up after {attempt} attempts: {ex.Message}", ex);
            }
        }
    }

    private static bool IsTransient(Exception ex, CancellationToken cancellationToken) => ex switch
    {
        TransientDownloadException or HttpRequestException => true,
        OperationCanceledException => !cancellationToken.IsCancellationRequested,
        IOException => true,
        _ => false,
    };

    private async Task DownloadOnceAsync(Uri blobUri, ManifestBlob blob, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(store.Layout.PartialDirectory);
        var partial = store.Layout.Partial(blob.Sha256);
        var have = File.Exists(partial) ? new FileInfo(partial).Length : 0;
        if (have > blob.Size)
        {
            File.Delete(partial);
            have = 0;
        }

        if (have == blob.Size)
        {
            return;
        }

        using var stall = new CancellationTokenSource(policy.StallTimeout, timeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, stall.Token);
        using var request = new HttpRequestMessage(HttpMethod.Get, blobUri);
        request.Headers.Authorization = Authorization;
        if (have > 0)
        {
            request.Headers.Range = new RangeHeaderValue(have, null);
        }

        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, linked.Token).ConfigureAwait(false);
        switch (response.StatusCode)
        {
            case HttpStatusCode.PartialContent when have > 0 && response.Content.Headers.ContentRange?.From == have:
                break;
            case HttpStatusCode.OK:
            case HttpStatusCode.PartialContent:
                // The server ignored the range (or answered another one): start over.
                have = 0;
                break;
            case HttpStatusCode.RequestedRangeNotSatisfiable:
                File.Delete(partial);
                throw new TransientDownloadException($"the server refused the range {have}- of blob {blob.Sha256}; starting over");
            case HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests or >= HttpStatusCode.InternalServerError:
                throw new TransientDownloadException($"GET {blobUri} answered {(int)response.StatusCode} {response.ReasonPhrase}");
            default:
                throw new DownloadFailedException($"GET {blobUri} answered {(int)response.StatusCode} {response.ReasonPhrase}");
        }

        var file = new FileStream(partial, new FileStreamOptions
        {
            Mode = have > 0 ? FileMode.Append : FileMode.Create,
            Access = FileAccess.Write,
            Share = FileShare.None,
            UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
        });
        await using (file.ConfigureAwait(false))
        {
            var body = await response.Content.ReadAsStreamAsync(linked.Token).ConfigureAwait(false);
            await using (body.ConfigureAwait(false))
            {
                var buffer = new byte[BufferSize];
                var total = have;
                while (true)
                {
                    stall.CancelAfter(policy.StallTimeout);
                    int read;
                    try
                    {
                        read = await body.ReadAsync(buffer, linked.Token).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException ex) when (stall.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
                    {
                        throw new TransientDownloadException($"no data for {policy.StallTimeout.TotalSeconds:0} s from {blobUri}", ex);
                    }

                    if (read == 0)
                    {
                        break;
                    }

                    total += read;
                    Interlocked.Add(ref _bytesReceived, read);
                    if (total > blob.Size)
                    {
                        await file.DisposeAsync().ConfigureAwait(false);
                        File.Delete(partial);
                        throw new ContentRefusedException(RefusalKind.Oversize,
                            $"blob {blob.Sha256}: the server sent more than the manifest's {blob.Size} bytes");
                    }

                    await file.WriteAsync(buffer.AsMemory(0, read), linked.Token).ConfigureAwait(false);
                }

                await file.FlushAsync(linked.Token).ConfigureAwait(false);
                file.Flush(flushToDisk: true);
                if (total < blob.Size)
                {
                    throw new TransientDownloadException($"blob {blob.Sha256}: the connection ended after {total} of {blob.Size} bytes");
                }
            }
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
        }
    }

    [LoggerMessage(EventId = 100, Level = LogLevel.Warning,
        Message = "Download of blob {Sha256} failed (attempt {Attempt} of {MaxAttempts}), retrying in {DelaySeconds:0.0} s: {Reason}")]
    private partial void LogRetry(string sha256, int attempt, int maxAttempts, double delaySeconds, string reason);
}
