using System.Text.Json;
using NxTop.Center.Content;
using NxTop.Center.Storage;
using NxTop.Contracts;
using NxTop.Contracts.Center;

namespace NxTop.Center.Publishing;

/// <summary>The result of a publishing step: the value, or the HTTP status and reason of a refusal.</summary>
public sealed record Outcome<T>(T? Value, int Status, string? Reason)
    where T : class;

public static class Outcome
{
    public static Outcome<T> Ok<T>(T value)
        where T : class => new(value, StatusCodes.Status200OK, null);

    public static Outcome<T> Refuse<T>(int status, string reason)
        where T : class => new(null, status, reason);
}

/// <summary>
/// Turns uploaded blobs into a signed, published version. Nothing is visible to devices until
/// the one transaction that records the manifest and moves the track commits.
/// </summary>
public sealed class Publisher(ICenterStore store, BlobStore blobs, PublisherKey key, TimeProvider time, ILogger<Publisher> logger)
{
    public async Task<Outcome<PublishedContent>> PublishAsync(PublishRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (!ManifestRules.IsValidName(request.Name))
        {
            return Outcome.Refuse<PublishedContent>(400, $"name '{request.Name}' is not [a-z0-9._-]{{1,64}} starting with a letter or digit");
        }

        if (request.Blobs.Count == 0 && request.PatchOf is null)
        {
            return Outcome.Refuse<PublishedContent>(400, "no blobs: upload them first (PUT " + CenterRoutes.AdminBlobs + ")");
        }

        // From the size check to the commit, the collector may not delete these blobs.
        using var gate = await blobs.EnterAsync(cancellationToken).ConfigureAwait(false);
        var newBlobs = new List<ManifestBlob>();
        foreach (var blob in request.Blobs)
        {
            if (!ManifestRules.IsSha256Hex(blob.Sha256))
            {
                return Outcome.Refuse<PublishedContent>(400, $"blob '{blob.Sha256}' is not a lower-case hex sha256");
            }

            if (blobs.SizeOf(blob.Sha256) is not { } size)
            {
                return Outcome.Refuse<PublishedContent>(400, $"blob {blob.Sha256} has not been uploaded");
            }

            newBlobs.Add(new ManifestBlob(blob.Sha256, size, blob.Role, blob.MediaType));
        }

        var track = await store.GetTrackAsync(request.Name, cancellationToken).ConfigureAwait(false);
        if (track is not null && track.Kind != request.Kind)
        {
            return Outcome.Refuse<PublishedContent>(409, $"'{request.Name}' is already published as {Wire(track.Kind)}, not {Wire(request.Kind)}");
        }

        var versions = await store.ListVersionsAsync(request.Name, cancellationToken).ConfigureAwait(false);
        var latest = versions.Count == 0 ? 0 : versions[^1];
        var version = request.Version ?? latest + 1;
        if (version <= latest)
        {
            return Outcome.Refuse<PublishedContent>(409,
                $"{request.Name} version {version} is not above the latest ({latest}); versions only go up (to go back, publish the older content as a new version with patchOf and no blobs)");
        }

        var manifestBlobs = newBlobs;
        if (request.PatchOf is { } patchOf)
        {
            var prior = await store.GetArtifactAsync(request.Name, patchOf, cancellationToken).ConfigureAwait(false);
            if (prior is null)
            {
                return Outcome.Refuse<PublishedContent>(400, $"patchOf: {request.Name} version {patchOf} is not published");
            }

            manifestBlobs = Chain(request.Kind, prior.Blobs, newBlobs);
        }

        var manifest = new ContentManifest(request.Kind, request.Name, version, manifestBlobs, time.GetUtcNow(), null, request.KernelCommandLine);
        if (ManifestRules.Check(manifest) is { } problem)
        {
            return Outcome.Refuse<PublishedContent>(400, problem);
        }

        var signed = key.Signer.Sign(manifest);
        var record = new ArtifactRecord(request.Kind, request.Name, version,
            JsonSerializer.Serialize(signed, ContractsJsonContext.Default.SignedManifest), manifestBlobs, manifest.Created.ToUnixTimeMilliseconds());
        var first = track?.Current is null;
        var published = await store.PublishArtifactAsync(record,
            makeCurrent: first || request.Channel == PublishChannel.Current,
            makeStaged: !first && request.Channel == PublishChannel.Staged,
            cancellationToken).ConfigureAwait(false);
        if (!published)
        {
            return Outcome.Refuse<PublishedContent>(409, $"{request.Name} version {version} is already published");
        }

        Log.Published(logger, Wire(request.Kind), request.Name, version, manifestBlobs.Count);
        return Outcome.Ok<PublishedContent>(new PublishedContent(request.Kind, request.Name, version, ApiRoutes.Manifest(request.Name, version), manifestBlobs, key.KeyId));
    }

    /// <summary>
    /// Moves a name's pointers. Current never goes down: an agent refuses a downgrade, so going back
    /// means publishing the older content again as a new version.
    /// </summary>
    public async Task<Outcome<Track>> SetTrackAsync(string name, TrackUpdate update, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(update);
        var track = await store.GetTrackAsync(name, cancellationToken).ConfigureAwait(false);
        if (track is null)
        {
            return Outcome.Refuse<Track>(404, $"nothing named '{name}' is published");
        }

        if (update.Current is not { } current)
        {
            return Outcome.Refuse<Track>(400, "current is required");
        }

        var versions = await store.ListVersionsAsync(name, cancellationToken).ConfigureAwait(false);
        foreach (var version in new[] { update.Current, update.Staged })
        {
            if (version is { } v && !versions.Contains(v))
            {
                return Outcome.Refuse<Track>(400, $"{name} version {v} is not published");
            }
        }

        if (track.Current is { } was && current < was)
        {
            return Outcome.Refuse<Track>(409, $"current would go down from {was} to {current}; publish the older content as a new version instead");
        }

        var next = track with { Current = current, Staged = update.Staged };
        await store.SetTrackAsync(next, cancellationToken).ConfigureAwait(false);
        return Outcome.Ok<Track>(next);
    }

    /// <summary>Staged becomes current: the pilot went well.</summary>
    public async Task<Outcome<Track>> PromoteAsync(string name, CancellationToken cancellationToken)
    {
        var track = await store.GetTrackAsync(name, cancellationToken).ConfigureAwait(false);
        if (track is null)
        {
            return Outcome.Refuse<Track>(404, $"nothing named '{name}' is published");
        }

        if (track.Staged is not { } staged)
        {
            return Outcome.Refuse<Track>(409, $"{name} has no staged version");
        }

        return await SetTrackAsync(name, new TrackUpdate(staged, null), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// A base patch is the prior disk chain plus the new delta(s) on top; kernel and ramdisk are
    /// replaced when given, else kept. An app is one layer: new blobs replace it.
    /// </summary>
    private static List<ManifestBlob> Chain(ContentKind kind, IReadOnlyList<ManifestBlob> prior, List<ManifestBlob> added)
    {
        if (added.Count == 0)
        {
            return [.. prior];
        }

        if (kind == ContentKind.App)
        {
            return added;
        }

        var chain = prior.Where(b => b.Role == BlobRole.Disk).ToList();
        chain.AddRange(added.Where(b => b.Role == BlobRole.Disk));
        foreach (var role in new[] { BlobRole.Kernel, BlobRole.Ramdisk })
        {
            var blob = added.FirstOrDefault(b => b.Role == role) ?? prior.FirstOrDefault(b => b.Role == role);
            if (blob is not null)
            {
                chain.Add(blob);
            }
        }

        return chain;
    }

    internal static string Wire(ContentKind kind) => kind == ContentKind.App ? "app" : "base";
}
