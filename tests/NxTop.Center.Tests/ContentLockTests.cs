using System.Diagnostics;
using System.Security.Cryptography;
using NxTop.Center.Content;

namespace NxTop.Center.Tests;

/// <summary>
/// The content store's lock across processes. A second <see cref="BlobStore"/> on the same directory shares
/// nothing in memory with the first (its own gate, its own open file), so it stands for another process;
/// one test also takes the lock from a real other process (util-linux <c>flock</c>).
/// </summary>
public sealed class ContentLockTests : IDisposable
{
    private static readonly TimeSpan Short = TimeSpan.FromMilliseconds(300);

    private readonly string root = TempDirectory.Create("nxtop-content-lock-");

    public void Dispose() => TempDirectory.Delete(root);

    private static async Task<string> StoreAsync(BlobStore store, byte[] bytes)
    {
        var receipt = await store.ReceiveAsync(new MemoryStream(bytes), null, long.MaxValue, default);
        File.SetLastWriteTimeUtc(store.PathOf(receipt.Sha256!)!, DateTime.UtcNow.AddHours(-3));
        return receipt.Sha256!;
    }

    private static DateTimeOffset KeepNothingYoung => DateTimeOffset.UtcNow;

    [Fact]
    public async Task A_collector_in_another_process_waits_for_a_publish_in_progress_and_then_sees_its_commit()
    {
        using var center = new BlobStore(root);
        using var collector = new BlobStore(root, lockWait: TimeSpan.FromSeconds(30));
        var sha256 = await StoreAsync(center, RandomNumberGenerator.GetBytes(4096));
        var published = new HashSet<string>(StringComparer.Ordinal);

        Task<BlobCollectionResult> collecting;
        using (await center.EnterAsync(default))
        {
            // The publish has checked the blob and not yet committed: the collector must not get in between.
            collecting = collector.CollectAsync(_ => Task.FromResult<IReadOnlySet<string>>(new HashSet<string>(published, StringComparer.Ordinal)), KeepNothingYoung, default);
            await Task.Delay(500);
            Assert.False(collecting.IsCompleted);
            Assert.NotNull(center.PathOf(sha256));
            published.Add(sha256);
        }

        var result = await collecting;
        Assert.Equal((0, 1), (result.Deleted, result.KeptReferenced));
        Assert.NotNull(center.PathOf(sha256));
    }

    [Fact]
    public async Task A_collector_that_cannot_have_the_lock_deletes_nothing_and_names_the_lock_file()
    {
        using var center = new BlobStore(root);
        using var collector = new BlobStore(root, lockWait: Short);
        var sha256 = await StoreAsync(center, RandomNumberGenerator.GetBytes(4096));

        using (await center.EnterAsync(default))
        {
            var busy = await Assert.ThrowsAsync<ContentLockTimeoutException>(() =>
                collector.CollectAsync(_ => Task.FromResult<IReadOnlySet<string>>(new HashSet<string>()), KeepNothingYoung, default));
            Assert.Equal(Path.Combine(root, "store.lock"), busy.LockPath);
            Assert.Contains(Path.Combine(root, "store.lock"), busy.Message, StringComparison.Ordinal);
            Assert.NotNull(center.PathOf(sha256));

            // An upload's last step waits the same way, and leaves nothing behind.
            await Assert.ThrowsAsync<ContentLockTimeoutException>(() => collector.ReceiveAsync(new MemoryStream([1, 2, 3]), null, long.MaxValue, default));
            Assert.Equal(0, collector.TemporaryFileCount);
        }

        Assert.Equal(1, (await collector.CollectAsync(_ => Task.FromResult<IReadOnlySet<string>>(new HashSet<string>()), KeepNothingYoung, default)).Deleted);
        Assert.Null(center.PathOf(sha256));
    }

    [Fact]
    public async Task The_lock_is_released_when_the_holder_fails()
    {
        using var collector = new BlobStore(root, lockWait: Short);
        using var other = new BlobStore(root, lockWait: Short);
        await StoreAsync(collector, RandomNumberGenerator.GetBytes(100));

        await Assert.ThrowsAsync<InvalidOperationException>(() =>
            collector.CollectAsync(_ => throw new InvalidOperationException("the database went away"), KeepNothingYoung, default));
        using (await other.EnterAsync(default))
        {
            // A waiter that gives up releases nothing it does not hold, and its own gate is free again afterwards.
            await Assert.ThrowsAsync<ContentLockTimeoutException>(() => collector.EnterAsync(default));
        }

        using (await collector.EnterAsync(default))
        {
        }

        // A publish that is refused or throws inside the gate lets it go as well.
        await Assert.ThrowsAsync<InvalidOperationException>(async () =>
        {
            using (await collector.EnterAsync(default))
            {
                throw new InvalidOperationException("refused");
            }
        });
        using (await other.EnterAsync(default))
        {
        }
    }

    [Fact]
    public async Task A_real_other_process_holding_the_lock_file_holds_off_the_collector_until_it_exits()
    {
        using var store = new BlobStore(root, lockWait: Short);
        var sha256 = await StoreAsync(store, RandomNumberGenerator.GetBytes(100));
        using var holder = Process.Start(new ProcessStartInfo("flock", ["--nonblock", store.LockPath, "sh", "-c", "echo locked; exec sleep 60"])
        {
            RedirectStandardOutput = true,
            UseShellExecute = false,
        })!;
        try
        {
            Assert.Equal("locked", await holder.StandardOutput.ReadLineAsync());
            var busy = await Assert.ThrowsAsync<ContentLockTimeoutException>(() =>
                store.CollectAsync(_ => Task.FromResult<IReadOnlySet<string>>(new HashSet<string>()), KeepNothingYoung, default));
            Assert.Contains(store.LockPath, busy.Message, StringComparison.Ordinal);
            Assert.NotNull(store.PathOf(sha256));
        }
        finally
        {
            holder.Kill(entireProcessTree: true);
            await holder.WaitForExitAsync();
        }

        // The kernel dropped the lock with the process.
        Assert.Equal(1, (await store.CollectAsync(_ => Task.FromResult<IReadOnlySet<string>>(new HashSet<string>()), KeepNothingYoung, default)).Deleted);
    }

    [Fact]
    public async Task Another_process_starting_up_does_not_delete_an_upload_in_flight()
    {
        using var center = new BlobStore(root);
        using var starting = new BlobStore(root);
        var bytes = RandomNumberGenerator.GetBytes(3 << 20);
        var body = new PausedStream(bytes, pauseAfter: 1 << 20);
        var receiving = center.ReceiveAsync(body, null, long.MaxValue, default);
        await body.Paused.Task.WaitAsync(TimeSpan.FromSeconds(30));
        var inFlight = Assert.Single(Directory.EnumerateFiles(Path.Combine(root, "tmp")));
        File.SetLastWriteTimeUtc(inFlight, DateTime.UtcNow.AddHours(-1));
        var crashed = Path.Combine(root, "tmp", "crashed.part");
        await File.WriteAllTextAsync(crashed, "half");
        File.SetLastWriteTimeUtc(crashed, DateTime.UtcNow.AddHours(-1));

        Assert.Equal(1, starting.DeleteLeftovers());
        Assert.False(File.Exists(crashed));
        Assert.True(File.Exists(inFlight));

        body.Resume.SetResult();
        var receipt = await receiving;
        Assert.Equal(bytes, await File.ReadAllBytesAsync(center.PathOf(receipt.Sha256!)!));
        Assert.Equal(0, center.TemporaryFileCount);
    }

    /// <summary>Serves some bytes, then waits until the test lets it go on.</summary>
    private sealed class PausedStream(byte[] data, int pauseAfter) : Stream
    {
        private int position;

        public TaskCompletionSource Paused { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Resume { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => data.Length;
        public override long Position { get => position; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (position >= pauseAfter && !Resume.Task.IsCompleted)
            {
                Paused.TrySetResult();
                await Resume.Task.WaitAsync(cancellationToken);
            }

            var count = Math.Min(buffer.Length, Math.Min(64 * 1024, data.Length - position));
            data.AsMemory(position, count).CopyTo(buffer);
            position += count;
            return count;
        }

        public override void Flush() => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
