using System.Security.Cryptography;
using NxTop.Contracts;

namespace NxTop.Center.Content;

/// <summary>What a garbage collection did.</summary>
public sealed record BlobCollectionResult(int Deleted, long BytesFreed, int KeptReferenced, int KeptYoung);

/// <summary>The outcome of receiving a blob: stored under its hash, or refused with a reason.</summary>
public sealed record BlobReceipt(string? Sha256, long Size, string? Refusal)
{
    public bool IsStored => Sha256 is not null;
}

/// <summary>
/// Content-addressed blobs on the local filesystem: <c>sha256/ab/abcdef...</c>. An upload streams to
/// <c>tmp/</c> under a random name while it is hashed, is fsynced, and only then renamed to its
/// hash: a reader never sees a partial blob, and an interrupted upload leaves only a temporary file
/// that is deleted at once (or at the next start).
/// </summary>
public sealed class BlobStore : IDisposable
{
    private const int BufferSize = 1 << 20;
    private readonly string blobRoot;
    private readonly string tempRoot;

    /// <summary>How long a publish, an upload's last step or a collection waits for the store's lock by default.</summary>
    public static readonly TimeSpan DefaultLockWait = TimeSpan.FromSeconds(30);

    // Orders the three things that touch a stored blob's life: an upload putting (or refreshing) it in
    // place, a publish from its size check to its commit, and the collector's delete. The gate orders them
    // within this process; the lock file (taken inside the gate) across processes on the same directory.
    private readonly SemaphoreSlim gate = new(1, 1);

    private readonly TimeProvider time;
    private readonly TimeSpan lockWait;

    public BlobStore(string root, TimeProvider? time = null, TimeSpan? lockWait = null)
    {
        this.time = time ?? TimeProvider.System;
        this.lockWait = lockWait ?? DefaultLockWait;
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(this.lockWait, TimeSpan.Zero, nameof(lockWait));
        Root = Path.GetFullPath(root);
        blobRoot = Path.Combine(Root, "sha256");
        tempRoot = Path.Combine(Root, "tmp");
        LockPath = Path.Combine(Root, ContentLock.FileName);
        Directory.CreateDirectory(blobRoot);
        Directory.CreateDirectory(tempRoot);
    }

    public string Root { get; }

    /// <summary>The lock file that makes publishes, uploads' last step and collections exclusive across processes.</summary>
    public string LockPath { get; }

    /// <summary>
    /// Deletes temporary files that an earlier process left behind (a crash mid-upload). An upload in flight,
    /// in this or another process on the same directory, holds its file locked until it is in place, and is left alone.
    /// </summary>
    public int DeleteLeftovers()
    {
        var deleted = 0;
        foreach (var path in Directory.EnumerateFiles(tempRoot))
        {
            try
            {
                // (Only the instant between another process's open(2) of a new upload and its flock(2) is unguarded.)
                using (new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.None, 1))
                {
                    // Nobody is writing it. Unlinking it while it is open and locked leaves no window for a writer.
                    File.Delete(path);
                }

                deleted++;
            }
            catch (FileNotFoundException)
            {
                // Its upload finished meanwhile.
            }
            catch (IOException)
            {
                // Locked: an upload in flight.
            }
        }

        return deleted;
    }

    public int TemporaryFileCount => Directory.EnumerateFiles(tempRoot).Count();

    /// <summary>The blob's path when it is stored, else null (also for anything that is not a sha256).</summary>
    public string? PathOf(string sha256)
    {
        if (!ManifestRules.IsSha256Hex(sha256))
        {
            return null;
        }

        var path = Path.Combine(blobRoot, sha256[..2], sha256);
        return File.Exists(path) ? path : null;
    }

    public long? SizeOf(string sha256) => PathOf(sha256) is { } path ? new FileInfo(path).Length : null;

    /// <summary>
    /// Streams <paramref name="body"/> into the store. With <paramref name="expectedSha256"/> a body
    /// whose hash differs is refused and nothing is kept; over <paramref name="maxBytes"/> likewise.
    /// </summary>
    public async Task<BlobReceipt> ReceiveAsync(Stream body, string? expectedSha256, long maxBytes, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(body);
        var tempPath = Path.Combine(tempRoot, $"{Guid.NewGuid():N}.part");
        try
        {
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            long size = 0;

            // Open (so locked: FileShare.None) until it is in place, so another process's DeleteLeftovers leaves it alone.
            await using var file = new FileStream(tempPath, new FileStreamOptions
            {
                Mode = FileMode.CreateNew,
                Access = FileAccess.Write,
                Share = FileShare.None,
                Options = FileOptions.Asynchronous,
                BufferSize = 0,
                UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead,
            });
            var buffer = new byte[BufferSize];
            int read;
            while ((read = await body.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
            {
                size += read;
                if (size > maxBytes)
                {
                    return new BlobReceipt(null, size, $"the upload is larger than the limit of {maxBytes} bytes");
                }

                hash.AppendData(buffer, 0, read);
                await file.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
            }

            file.Flush(flushToDisk: true);
            var sha256 = Convert.ToHexStringLower(hash.GetHashAndReset());
            if (expectedSha256 is not null && !string.Equals(expectedSha256, sha256, StringComparison.Ordinal))
            {
                return new BlobReceipt(null, size, $"the body's sha256 is {sha256}, not the expected {expectedSha256}");
            }

            var directory = Path.Combine(blobRoot, sha256[..2]);
            Directory.CreateDirectory(directory);
            var finalPath = Path.Combine(directory, sha256);
            using (await EnterAsync(cancellationToken).ConfigureAwait(false))
            {
                if (!File.Exists(finalPath))
                {
                    // rename(2) is atomic: the blob appears whole or not at all. The same content uploaded
                    // twice at once ends as one file either way.
                    File.Move(tempPath, finalPath, overwrite: true);
                }
                else
                {
                    // Uploaded again (to be published again): young again, so the collector leaves it for the grace period.
                    File.SetLastWriteTimeUtc(finalPath, time.GetUtcNow().UtcDateTime);
                }
            }

            return new BlobReceipt(sha256, size, null);
        }
        finally
        {
            if (File.Exists(tempPath))
            {
                File.Delete(tempPath);
            }
        }
    }

    /// <summary>
    /// Holds off uploads' final step, publishes and the collector, in this process and in any other on the same
    /// directory, while the caller works; dispose to let them go. A publish holds it from checking its blobs to
    /// committing, so no collector deletes a blob in between.
    /// </summary>
    /// <exception cref="ContentLockTimeoutException">The store stayed busy for longer than the lock wait.</exception>
    public async Task<IDisposable> EnterAsync(CancellationToken cancellationToken)
    {
        var started = time.GetTimestamp();
        using (var timeout = new CancellationTokenSource(lockWait, time))
        using (var waiting = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token))
        {
            try
            {
                await gate.WaitAsync(waiting.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                throw new ContentLockTimeoutException(LockPath, lockWait, null);
            }
        }

        try
        {
            var fileLock = await ContentLock.AcquireAsync(LockPath, started, lockWait, time, cancellationToken).ConfigureAwait(false);
            return new Releaser(gate, fileLock);
        }
        catch
        {
            gate.Release();
            throw;
        }
    }

    /// <summary>
    /// Deletes stored blobs that no published manifest names and that were last written before
    /// <paramref name="youngerThanKept"/> (an upload waiting to be published is young; uploading the same
    /// content again makes it young again). <paramref name="referenced"/> is read inside the gate, so a
    /// publish cannot commit between reading it and deleting. Files in <c>tmp/</c> (uploads in flight) are
    /// never touched.
    /// </summary>
    public async Task<BlobCollectionResult> CollectAsync(Func<CancellationToken, Task<IReadOnlySet<string>>> referenced, DateTimeOffset youngerThanKept,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(referenced);
        using (await EnterAsync(cancellationToken).ConfigureAwait(false))
        {
            var keep = await referenced(cancellationToken).ConfigureAwait(false);
            int deleted = 0, keptReferenced = 0, keptYoung = 0;
            long freed = 0;
            foreach (var file in Directory.EnumerateFiles(blobRoot, "*", SearchOption.AllDirectories))
            {
                var sha256 = Path.GetFileName(file);
                if (!ManifestRules.IsSha256Hex(sha256))
                {
                    continue;
                }

                if (keep.Contains(sha256))
                {
                    keptReferenced++;
                    continue;
                }

                var info = new FileInfo(file);
                if (info.LastWriteTimeUtc >= youngerThanKept.UtcDateTime)
                {
                    keptYoung++;
                    continue;
                }

                var size = info.Length;
                File.Delete(file);
                deleted++;
                freed += size;
            }

            return new BlobCollectionResult(deleted, freed, keptReferenced, keptYoung);
        }
    }

    public void Dispose() => gate.Dispose();

    private sealed class Releaser(SemaphoreSlim gate, ContentLock fileLock) : IDisposable
    {
        private int released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref released, 1) == 0)
            {
                fileLock.Dispose();
                gate.Release();
            }
        }
    }
}
