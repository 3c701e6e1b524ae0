using System.Security.Cryptography;
using NxTop.Contracts;

namespace NxTop.Agent.Storage;

/// <summary>
/// The content-addressed store: blobs named by their sha256, manifests by name and version. A blob
/// enters <c>blobs/sha256</c> only after its size and hash are checked, by an atomic rename, so a
/// file there is always complete and correct.
/// </summary>
internal sealed class ContentStore(StoreLayout layout, long maxBlobBytes)
{
    private const UnixFileMode ReadOnly = UnixFileMode.UserRead;

    public StoreLayout Layout { get; } = layout;

    public long MaxBlobBytes { get; } = maxBlobBytes;

    public string BlobPath(string sha256) =>
        ManifestRules.IsSha256Hex(sha256) ? Layout.Blob(sha256) : throw new ArgumentException($"'{sha256}' is not a sha256", nameof(sha256));

    /// <summary>Present with the right size (the hash was checked when it came in; <see cref="Verify"/> re-checks).</summary>
    public bool HasBlob(ManifestBlob blob)
    {
        var info = new FileInfo(BlobPath(blob.Sha256));
        return info.Exists && info.Length == blob.Size;
    }

    /// <summary>Refuses a blob bigger than the configured limit before a byte is downloaded.</summary>
    public void CheckSize(ManifestBlob blob)
    {
        if (blob.Size > MaxBlobBytes)
        {
            throw new ContentRefusedException(RefusalKind.Oversize,
                $"blob {blob.Sha256} is {blob.Size} bytes, more than the limit of {MaxBlobBytes} bytes");
        }
    }

    /// <summary>
    /// Moves a finished download into the store after checking its size and sha256; a mismatch
    /// deletes the partial file and throws.
    /// </summary>
    public void ImportPartial(ManifestBlob blob)
    {
        var partial = Layout.Partial(blob.Sha256);
        var length = new FileInfo(partial).Length;
        if (length != blob.Size)
        {
            AtomicFile.Delete(partial);
            throw new ContentRefusedException(RefusalKind.SizeMismatch, $"blob {blob.Sha256}: got {length} bytes, the manifest says {blob.Size}");
        }

        var actual = HashFile(partial);
        if (actual != blob.Sha256)
        {
            AtomicFile.Delete(partial);
            throw new ContentRefusedException(RefusalKind.HashMismatch, $"blob {blob.Sha256}: the download hashes to {actual}");
        }

        File.SetUnixFileMode(partial, ReadOnly);
        Directory.CreateDirectory(Layout.BlobsDirectory);
        AtomicFile.Rename(partial, Layout.Blob(blob.Sha256));
    }

    /// <summary>Adds a local file (the build's seed content, tests) after the same checks as a download.</summary>
    public void ImportFile(string path, ManifestBlob blob)
    {
        CheckSize(blob);
        if (HasBlob(blob))
        {
            return;
        }

        Directory.CreateDirectory(Layout.PartialDirectory);
        File.Copy(path, Layout.Partial(blob.Sha256), overwrite: true);
        using (var stream = new FileStream(Layout.Partial(blob.Sha256), FileMode.Open, FileAccess.ReadWrite))
        {
            stream.Flush(flushToDisk: true);
        }

        ImportPartial(blob);
    }

    public void SaveManifest(ContentManifest manifest, SignedManifest envelope) =>
        AtomicFile.WriteJson(Layout.Manifest(manifest.Name, manifest.Version), envelope, ContractsJsonContext.Default.SignedManifest);

    /// <summary>A stored manifest, re-verified (null if there is none).</summary>
    public ContentManifest? LoadManifest(string name, long version, ManifestVerifier verifier)
    {
        var envelope = AtomicFile.ReadJson(Layout.Manifest(name, version), ContractsJsonContext.Default.SignedManifest);
        if (envelope is null)
        {
            return null;
        }

        var result = verifier.Verify(envelope);
        return result.IsValid ? result.Manifest : throw new ContentRefusedException(RefusalKind.BadSignature,
            $"stored manifest {name}/{version} no longer verifies: {result.Reason}");
    }

    /// <summary>
    /// Checks the store: every blob hashes to its name and is read-only, every referenced manifest's
    /// blobs are present, no temporary files are left (they are removed: an interrupted atomic write).
    /// </summary>
    public StoreVerification Verify(IEnumerable<ContentManifest> referenced)
    {
        var problems = new List<string>();
        var removed = new List<string>();
        var blobs = 0;
        if (Directory.Exists(Layout.BlobsDirectory))
        {
            foreach (var path in Directory.EnumerateFiles(Layout.BlobsDirectory))
            {
                var name = Path.GetFileName(path);
                if (!ManifestRules.IsSha256Hex(name))
                {
                    problems.Add($"stray file in the blob store: {name}");
                    continue;
                }

                blobs++;
                var actual = HashFile(path);
                if (actual != name)
                {
                    problems.Add($"blob {name} is corrupt: it hashes to {actual}");
                }
            }
        }

        foreach (var manifest in referenced)
        {
            foreach (var blob in manifest.Blobs.Where(b => !HasBlob(b)))
            {
                problems.Add($"{manifest.Name}/{manifest.Version} needs blob {blob.Sha256} ({blob.Size} bytes), which is missing or has the wrong size");
            }
        }

        foreach (var directory in new[] { Layout.StateDirectory, Layout.ManifestsDirectory, Layout.GuestsDirectory })
        {
            if (!Directory.Exists(directory))
            {
                continue;
            }

            foreach (var temporary in Directory.EnumerateFiles(directory, "*" + AtomicFile.TemporarySuffix, SearchOption.AllDirectories))
            {
                File.Delete(temporary);
                removed.Add(Path.GetRelativePath(Layout.Root, temporary));
            }
        }

        return new StoreVerification(problems.Count == 0, blobs, problems, removed);
    }

    /// <summary>
    /// Deletes blobs and manifests that none of <paramref name="keep"/> names (the current, last-good
    /// and previous selections, and a transaction in flight). Returns the bytes freed. Partial
    /// downloads stay: the next sync resumes them.
    /// </summary>
    public long CollectGarbage(IEnumerable<ContentManifest> keep)
    {
        var kept = keep.ToList();
        var blobs = kept.SelectMany(m => m.Blobs).Select(b => b.Sha256).ToHashSet(StringComparer.Ordinal);
        var manifests = kept.Select(m => Layout.Manifest(m.Name, m.Version)).ToHashSet(StringComparer.Ordinal);
        long freed = 0;
        if (Directory.Exists(Layout.BlobsDirectory))
        {
            foreach (var path in Directory.EnumerateFiles(Layout.BlobsDirectory).Where(p => !blobs.Contains(Path.GetFileName(p))).ToList())
            {
                freed += new FileInfo(path).Length;
                File.Delete(path);
            }
        }

        if (Directory.Exists(Layout.ManifestsDirectory))
        {
            foreach (var path in Directory.EnumerateFiles(Layout.ManifestsDirectory, "*.json", SearchOption.AllDirectories).Where(p => !manifests.Contains(p)).ToList())
            {
                File.Delete(path);
            }
        }

        Posix.FsyncDirectory(Layout.BlobsDirectory);
        return freed;
    }

    public static string HashFile(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }
}

internal sealed record StoreVerification(bool Consistent, int Blobs, IReadOnlyList<string> Problems, IReadOnlyList<string> RemovedTemporaryFiles);

/// <summary>The downgrade rule and the "asked for what we got" rule.</summary>
internal static class VersionRules
{
    public static void CheckMatches(ContentManifest manifest, ContentRef wanted, ContentKind kind)
    {
        if (manifest.Name != wanted.Name || manifest.Version != wanted.Version || manifest.Kind != kind)
        {
            throw new ContentRefusedException(RefusalKind.WrongContent,
                $"asked for {kind.ToString().ToLowerInvariant()} {wanted.Name}/{wanted.Version}, the manifest is {manifest.Kind.ToString().ToLowerInvariant()} {manifest.Name}/{manifest.Version}");
        }
    }

    /// <summary>An older version than the installed one only as an explicit rollback (rollbackOf ≥ installed).</summary>
    public static void CheckNotDowngrade(ContentManifest manifest, long? installedVersion)
    {
        if (installedVersion is not { } installed || manifest.Version >= installed)
        {
            return;
        }

        if (manifest.RollbackOf is { } from && from >= installed)
        {
            return;
        }

        throw new ContentRefusedException(RefusalKind.Downgrade,
            $"{manifest.Name}/{manifest.Version} is older than the installed version {installed} and is not an explicit rollback");
    }
}
