using System.Security.Cryptography;
using NxTop.Agent.Storage;
using NxTop.Contracts;

namespace NxTop.Agent.Tests;

public sealed class AtomicFileTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void A_write_replaces_the_file_and_leaves_no_temporary_file()
    {
        var path = _temp.Combine("state", "x.json");
        AtomicFile.WriteAllText(path, "one");
        AtomicFile.WriteAllText(path, "two");

        Assert.Equal("two", File.ReadAllText(path));
        Assert.Equal(["x.json"], Directory.EnumerateFiles(_temp.Combine("state")).Select(Path.GetFileName));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
    }

    [Fact]
    public void A_torn_last_line_is_ignored_when_reading_and_cut_before_the_next_append()
    {
        var path = _temp.Combine("history.jsonl");
        AtomicFile.AppendLine(path, "{\"a\":1}");
        File.AppendAllText(path, "{\"b\":"); // a power cut in the middle of a record

        Assert.Equal(["{\"a\":1}"], AtomicFile.ReadLines(path));

        AtomicFile.AppendLine(path, "{\"c\":3}");
        Assert.Equal(["{\"a\":1}", "{\"c\":3}"], AtomicFile.ReadLines(path));
        Assert.Equal("{\"a\":1}\n{\"c\":3}\n", File.ReadAllText(path));
    }

    [Fact]
    public void Disk_full_is_recognised_from_a_real_ENOSPC()
    {
        var ex = Assert.ThrowsAny<IOException>(() =>
        {
            using var full = new FileStream("/dev/full", FileMode.Open, FileAccess.Write);
            full.Write(new byte[8192]);
            full.Flush();
        });

        Assert.True(Posix.IsDiskFull(ex), $"{ex.GetType().Name} HResult {ex.HResult}: {ex.Message}");
        Assert.False(Posix.IsDiskFull(new IOException("connection reset")));
    }
}

public sealed class ContentStoreTests : IDisposable
{
    private readonly TempDirectory _temp = new();
    private readonly ContentStore _store;

    public ContentStoreTests()
    {
        var layout = new StoreLayout(_temp.Combine("nxtop"));
        layout.CreateDirectories();
        _store = new ContentStore(layout, maxBlobBytes: 1024 * 1024);
    }

    public void Dispose() => _temp.Dispose();

    private (string Path, ManifestBlob Blob) Source(int size, byte seed = 1)
    {
        var bytes = Enumerable.Range(0, size).Select(i => (byte)(i * seed)).ToArray();
        var path = _temp.Combine($"src-{seed}-{size}");
        File.WriteAllBytes(path, bytes);
        return (path, new ManifestBlob(Convert.ToHexStringLower(SHA256.HashData(bytes)), size, BlobRole.Disk, MediaTypes.Raw));
    }

    [Fact]
    public void A_verified_blob_lands_under_its_hash_read_only()
    {
        var (path, blob) = Source(5000);

        _store.ImportFile(path, blob);

        var stored = _store.Layout.Blob(blob.Sha256);
        Assert.True(_store.HasBlob(blob));
        Assert.Equal(File.ReadAllBytes(path), File.ReadAllBytes(stored));
        Assert.Equal(UnixFileMode.UserRead, File.GetUnixFileMode(stored));
        Assert.Empty(Directory.EnumerateFiles(_store.Layout.PartialDirectory));
    }

    [Fact]
    public void A_hash_mismatch_is_refused_and_the_partial_file_removed()
    {
        var (path, blob) = Source(5000);
        var bytes = File.ReadAllBytes(path);
        bytes[1234] ^= 0xff;
        File.WriteAllBytes(path, bytes);

        var ex = Assert.Throws<ContentRefusedException>(() => _store.ImportFile(path, blob));

        Assert.Equal(RefusalKind.HashMismatch, ex.Kind);
        Assert.False(_store.HasBlob(blob));
        Assert.Empty(Directory.EnumerateFiles(_store.Layout.PartialDirectory));
    }

    [Fact]
    public void A_size_mismatch_is_refused()
    {
        var (path, blob) = Source(5000);

        var ex = Assert.Throws<ContentRefusedException>(() => _store.ImportFile(path, blob with { Size = 4999 }));

        Assert.Equal(RefusalKind.SizeMismatch, ex.Kind);
    }

    [Fact]
    public void A_blob_over_the_limit_is_refused_before_anything_is_written()
    {
        var (path, blob) = Source(100);

        var ex = Assert.Throws<ContentRefusedException>(() => _store.ImportFile(path, blob with { Size = 2 * 1024 * 1024 }));

        Assert.Equal(RefusalKind.Oversize, ex.Kind);
        Assert.Contains("limit of 1048576 bytes", ex.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.EnumerateFiles(_store.Layout.PartialDirectory));
    }

    [Fact]
    public void Verify_finds_a_corrupted_blob_and_a_missing_one_and_removes_temporary_files()
    {
        var (pathA, a) = Source(3000, 3);
        var (_, missing) = Source(2000, 5);
        _store.ImportFile(pathA, a);
        var stored = _store.Layout.Blob(a.Sha256);
        Assert.True(_store.Verify([]).Consistent);

        File.SetUnixFileMode(stored, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        var bytes = File.ReadAllBytes(stored);
        bytes[0] ^= 1;
        File.WriteAllBytes(stored, bytes);
        File.WriteAllText(Path.Combine(_store.Layout.StateDirectory, "installed.json.1.1.tmp"), "{");
        var manifest = new ContentManifest(ContentKind.App, "office", 1, [missing], DateTimeOffset.UnixEpoch);

        var result = _store.Verify([manifest]);

        Assert.False(result.Consistent);
        Assert.Contains(result.Problems, p => p.Contains($"blob {a.Sha256} is corrupt", StringComparison.Ordinal));
        Assert.Contains(result.Problems, p => p.Contains($"office/1 needs blob {missing.Sha256}", StringComparison.Ordinal));
        Assert.Equal(["state/installed.json.1.1.tmp"], result.RemovedTemporaryFiles);
    }

    private static ContentManifest Manifest(long version, long? rollbackOf = null) =>
        new(ContentKind.Base, "desktop", version, [], DateTimeOffset.UnixEpoch, rollbackOf);

    [Theory]
    [InlineData(3, null, null, true)]
    [InlineData(3, null, 3L, true)]
    [InlineData(4, null, 3L, true)]
    [InlineData(2, null, 3L, false)]
    [InlineData(2, 3L, 3L, true)]
    [InlineData(2, 4L, 3L, true)]
    [InlineData(1, 2L, 3L, false)]
    public void Downgrades_need_an_explicit_rollback_from_at_least_the_installed_version(long version, long? rollbackOf, long? installed, bool allowed)
    {
        var check = () => VersionRules.CheckNotDowngrade(Manifest(version, rollbackOf), installed);

        if (allowed)
        {
            check();
        }
        else
        {
            Assert.Equal(RefusalKind.Downgrade, Assert.Throws<ContentRefusedException>(check).Kind);
        }
    }
}
