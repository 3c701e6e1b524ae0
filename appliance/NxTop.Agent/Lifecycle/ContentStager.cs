using NxTop.Agent.Storage;
using NxTop.Contracts;

namespace NxTop.Agent.Lifecycle;

/// <summary>Where manifests and blobs come from: the Center over HTTP, or a fake in tests.</summary>
internal interface IContentFetcher
{
    Task<SignedManifest> GetManifestAsync(ContentRef content, CancellationToken cancellationToken);

    /// <summary>Puts the blob into the store, verified; throws <see cref="ContentRefusedException"/>, <see cref="DiskFullException"/>, ...</summary>
    Task FetchBlobAsync(ManifestBlob blob, CancellationToken cancellationToken);
}

/// <summary>
/// Stage 1 of a patch: fetch and verify a manifest and every blob it names. Nothing the guest uses
/// changes here; new blobs only appear under new names in the store.
/// </summary>
internal sealed class ContentStager(ContentStore store, IContentFetcher fetcher, ManifestVerifier verifier, GuestLayering layering)
{
    /// <param name="installedVersion">The installed version of the same name, for the downgrade rule.</param>
    public async Task<ContentManifest> StageAsync(ContentRef wanted, ContentKind kind, long? installedVersion, CancellationToken cancellationToken)
    {
        var (manifest, envelope) = await GetVerifiedManifestAsync(wanted, kind, installedVersion, cancellationToken).ConfigureAwait(false);

        // Every size is checked before the first byte is downloaded.
        foreach (var blob in manifest.Blobs)
        {
            store.CheckSize(blob);
        }

        foreach (var blob in manifest.Blobs.Where(b => !store.HasBlob(b)))
        {
            await fetcher.FetchBlobAsync(blob, cancellationToken).ConfigureAwait(false);
        }

        if (kind == ContentKind.Base)
        {
            await layering.VerifyChainAsync(manifest, cancellationToken).ConfigureAwait(false);
        }

        if (envelope is not null)
        {
            store.SaveManifest(manifest, envelope);
        }

        return manifest;
    }

    private async Task<(ContentManifest Manifest, SignedManifest? Envelope)> GetVerifiedManifestAsync(
        ContentRef wanted, ContentKind kind, long? installedVersion, CancellationToken cancellationToken)
    {
        // A stored manifest that still passes every rule saves a round trip (and works offline); a
        // rollback re-publishes an old version with rollbackOf, so a stored one that fails the
        // downgrade rule is fetched again.
        try
        {
            if (store.LoadManifest(wanted.Name, wanted.Version, verifier) is { } stored)
            {
                VersionRules.CheckMatches(stored, wanted, kind);
                VersionRules.CheckNotDowngrade(stored, installedVersion);
                return (stored, null);
            }
        }
        catch (ContentRefusedException)
        {
        }

        var envelope = await fetcher.GetManifestAsync(wanted, cancellationToken).ConfigureAwait(false);
        var result = verifier.Verify(envelope);
        if (!result.IsValid)
        {
            var refusal = result.Refusal switch
            {
                ManifestRefusal.NotSigned => RefusalKind.NotSigned,
                ManifestRefusal.UnknownKey => RefusalKind.UnknownKey,
                ManifestRefusal.BadSignature or ManifestRefusal.UnsupportedAlgorithm => RefusalKind.BadSignature,
                _ => RefusalKind.Malformed,
            };
            throw new ContentRefusedException(refusal, $"manifest {wanted.Name}/{wanted.Version}: {result.Reason}");
        }

        var manifest = result.Manifest!;
        VersionRules.CheckMatches(manifest, wanted, kind);
        VersionRules.CheckNotDowngrade(manifest, installedVersion);
        return (manifest, envelope);
    }
}
