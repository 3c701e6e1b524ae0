using System.Net;
using Microsoft.Extensions.Logging.Abstractions;
using NxTop.Agent.Storage;
using NxTop.Agent.Sync;
using NxTop.Contracts;

namespace NxTop.Center.Cli;

/// <summary>
/// One simulated device: the agent's own state directory layout, content store, identity file,
/// report outbox and resuming blob downloader, sharing the fleet's <see cref="CenterClient"/>.
/// The guest side (layering, xl) is not simulated: a fetched blob is verified, then dropped.
/// </summary>
internal sealed class SimulatedAgent
{
    private readonly CenterContentFetcher fetcher;

    public SimulatedAgent(string directory, CenterClient center, HttpClient http, RetryPolicy retries, TimeProvider time)
    {
        Directory = directory;
        var layout = new StoreLayout(directory);
        layout.CreateDirectories();
        Store = new ContentStore(layout, 1L << 30);
        State = new DisconnectedState(layout);
        Outbox = new ReportOutbox(layout);
        var downloader = new BlobDownloader(http, Store, retries, time, NullLogger<BlobDownloader>.Instance);
        fetcher = new CenterContentFetcher(center, downloader, State);
    }

    public string Directory { get; }

    public ContentStore Store { get; }

    public DisconnectedState State { get; }

    public ReportOutbox Outbox { get; }

    /// <summary>As the agent stages a base: the signed manifest, verified and matched to the desired state, then every blob (size checked first).</summary>
    public async Task<DesiredState?> FetchAsync(DesiredState desired, ManifestVerifier verifier, CancellationToken cancellationToken)
    {
        var envelope = await fetcher.GetManifestAsync(desired.Base, cancellationToken).ConfigureAwait(false);
        var verified = verifier.Verify(envelope);
        if (verified.Manifest is not { } manifest)
        {
            throw new ContentRefusedException(RefusalKind.BadSignature, $"manifest {desired.Base.Name}/{desired.Base.Version}: {verified.Reason}");
        }

        VersionRules.CheckMatches(manifest, desired.Base, ContentKind.Base);
        foreach (var blob in manifest.Blobs)
        {
            Store.CheckSize(blob);
        }

        foreach (var blob in manifest.Blobs)
        {
            await fetcher.FetchBlobAsync(blob, cancellationToken).ConfigureAwait(false);

            // Verified on import; thousands of devices need not keep a copy each.
            File.Delete(Store.BlobPath(blob.Sha256));
        }

        return desired;
    }
}

/// <summary>
/// The simulated network: with <c>interrupt</c>, every blob response that is not a Range request is
/// cut off half way (the connection "drops"), so the agent's downloader must resume with Range.
/// Counts the cuts and the ranged answers (206).
/// </summary>
internal sealed class InterruptingHandler(HttpMessageHandler inner, bool interrupt) : DelegatingHandler(inner)
{
    private int interrupted;
    private int resumed;

    public int Interrupted => Volatile.Read(ref interrupted);

    public int Resumed => Volatile.Read(ref resumed);

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        if (request.RequestUri?.AbsolutePath.StartsWith("/content/blobs/", StringComparison.Ordinal) != true)
        {
            return response;
        }

        if (request.Headers.Range is not null)
        {
            if (response.StatusCode == HttpStatusCode.PartialContent)
            {
                Interlocked.Increment(ref resumed);
            }

            return response;
        }

        if (!interrupt || response.StatusCode != HttpStatusCode.OK || response.Content.Headers.ContentLength is not { } length || length < 2)
        {
            return response;
        }

        Interlocked.Increment(ref interrupted);
        var original = response.Content;
        var body = await original.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        var cut = new StreamContent(new CutOffStream(body, length / 2));
        foreach (var header in original.Headers)
        {
            cut.Headers.TryAddWithoutValidation(header.Key, header.Value);
        }

        response.Content = cut;
        return response;
    }

    /// <summary>Reads through to <c>limit</c> bytes, then fails as a dropped connection does.</summary>
    private sealed class CutOffStream(Stream inner, long limit) : Stream
    {
        private long position;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => position;
            set => throw new NotSupportedException();
        }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            var read = inner.Read(buffer[..Allowed(buffer.Length)]);
            position += read;
            return read;
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var read = await inner.ReadAsync(buffer[..Allowed(buffer.Length)], cancellationToken).ConfigureAwait(false);
            position += read;
            return read;
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        private int Allowed(int wanted) => position >= limit
            ? throw new IOException($"simulated connection drop after {limit} bytes")
            : (int)Math.Min(wanted, limit - position);

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
