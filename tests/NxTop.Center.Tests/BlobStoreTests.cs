using System.Security.Cryptography;
using NxTop.Center.Content;

namespace NxTop.Center.Tests;

public sealed class BlobStoreTests : IDisposable
{
    private readonly string root = TempDirectory.Create("nxtop-blobs-");

    public void Dispose() => TempDirectory.Delete(root);

    [Fact]
    public async Task A_blob_is_stored_under_its_sha256_and_a_second_copy_is_the_same_file()
    {
        var store = new BlobStore(root);
        var bytes = RandomNumberGenerator.GetBytes(3 << 20);
        var sha = Convert.ToHexStringLower(SHA256.HashData(bytes));
        var receipt = await store.ReceiveAsync(new MemoryStream(bytes), sha, long.MaxValue, default);
        Assert.Equal(sha, receipt.Sha256);
        Assert.Equal(bytes.Length, receipt.Size);
        Assert.Equal(bytes, await File.ReadAllBytesAsync(store.PathOf(sha)!));
        Assert.Equal(sha, (await store.ReceiveAsync(new MemoryStream(bytes), null, long.MaxValue, default)).Sha256);
        Assert.Single(Directory.EnumerateFiles(Path.Combine(root, "sha256"), "*", SearchOption.AllDirectories));
        Assert.Equal(0, store.TemporaryFileCount);
    }

    [Fact]
    public async Task Uploading_stored_content_again_dates_it_by_the_injected_clock()
    {
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(new DateTimeOffset(2030, 1, 2, 3, 4, 5, TimeSpan.Zero));
        var store = new BlobStore(root, clock);
        var bytes = RandomNumberGenerator.GetBytes(4096);
        var sha = Convert.ToHexStringLower(SHA256.HashData(bytes));
        await store.ReceiveAsync(new MemoryStream(bytes), sha, long.MaxValue, default);
        File.SetLastWriteTimeUtc(store.PathOf(sha)!, new DateTime(2000, 1, 1, 0, 0, 0, DateTimeKind.Utc));

        await store.ReceiveAsync(new MemoryStream(bytes), sha, long.MaxValue, default);

        Assert.Equal(clock.GetUtcNow().UtcDateTime, File.GetLastWriteTimeUtc(store.PathOf(sha)!));
    }

    [Fact]
    public async Task An_interrupted_upload_leaves_nothing()
    {
        var store = new BlobStore(root);
        var body = new FailingStream(RandomNumberGenerator.GetBytes(5 << 20), failAfter: 2 << 20);
        await Assert.ThrowsAsync<IOException>(() => store.ReceiveAsync(body, null, long.MaxValue, default));
        Assert.Equal(0, store.TemporaryFileCount);
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(root, "sha256"), "*", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task A_cancelled_upload_leaves_nothing()
    {
        var store = new BlobStore(root);
        using var cancel = new CancellationTokenSource();
        var body = new FailingStream(RandomNumberGenerator.GetBytes(5 << 20), failAfter: 2 << 20, onFail: cancel.Cancel);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => store.ReceiveAsync(body, null, long.MaxValue, cancel.Token));
        Assert.Equal(0, store.TemporaryFileCount);
    }

    [Fact]
    public async Task An_upload_over_the_limit_or_with_the_wrong_hash_is_refused_and_not_kept()
    {
        var store = new BlobStore(root);
        var tooBig = await store.ReceiveAsync(new MemoryStream(new byte[2000]), null, 1000, default);
        Assert.False(tooBig.IsStored);
        var wrong = await store.ReceiveAsync(new MemoryStream(new byte[10]), new string('0', 64), long.MaxValue, default);
        Assert.Contains("not the expected", wrong.Refusal, StringComparison.Ordinal);
        Assert.Equal(0, store.TemporaryFileCount);
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(root, "sha256"), "*", SearchOption.AllDirectories));
    }

    [Fact]
    public void Leftovers_of_a_crash_are_deleted_at_start_and_paths_are_only_hashes()
    {
        var store = new BlobStore(root);
        File.WriteAllText(Path.Combine(root, "tmp", "crashed.part"), "half");
        Assert.Equal(1, store.DeleteLeftovers());
        Assert.Null(store.PathOf("../../etc/passwd"));
        Assert.Null(store.PathOf(new string('A', 64)));
    }

    /// <summary>Serves bytes, then fails like a dropped connection.</summary>
    private sealed class FailingStream(byte[] data, int failAfter, Action? onFail = null) : Stream
    {
        private int position;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => data.Length;
        public override long Position { get => position; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (position >= failAfter)
            {
                if (onFail is null)
                {
                    throw new IOException("the client went away");
                }

                onFail();
                cancellationToken.ThrowIfCancellationRequested();
            }

            var count = Math.Min(buffer.Length, Math.Min(64 * 1024, data.Length - position));
            data.AsMemory(position, count).CopyTo(buffer);
            position += count;
            return ValueTask.FromResult(count);
        }

        public override void Flush() => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
