using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Net.Http.Headers;
using NxTop.Center.Content;
using NxTop.Center.Fleet;
using NxTop.Center.Security;
using NxTop.Center.Storage;
using NxTop.Contracts;

namespace NxTop.Center.Endpoints;

/// <summary>
/// Signed manifests and blobs over plain HTTP: strong ETags from the sha256, Range requests (206),
/// If-None-Match (304) and long-lived caching, so agents resume downloads and a cache can sit in front.
/// A device reads only what its desired state names; an admin reads everything.
/// </summary>
internal static class ContentEndpoints
{
    private const string CacheForever = "private, max-age=31536000, immutable";

    public static void Map(IEndpointRouteBuilder app)
    {
        var content = app.MapGroup("").RequireAuthorization(CenterPolicies.DeviceOrAdmin).WithTags("content");
        content.MapGet(ApiRoutes.ManifestTemplate, ManifestAsync)
            .Produces<SignedManifest>().Produces(304).ProducesProblem(403).ProducesProblem(404)
            .WithName("GetManifest");
        content.MapGet(ApiRoutes.BlobTemplate, BlobAsync)
            .Produces(200, contentType: "application/octet-stream").Produces(206).Produces(304).Produces(416).ProducesProblem(403).ProducesProblem(404)
            .WithName("GetBlob");
    }

    private static async Task<IResult> ManifestAsync(string name, long version, HttpContext context, ClaimsPrincipal user, ICenterStore store, DesiredStateResolver resolver, CancellationToken cancellationToken)
    {
        if (!user.IsAdmin())
        {
            var allowed = await AllowedAsync(context, user, store, resolver, cancellationToken).ConfigureAwait(false);
            if (!allowed.Any(v => v.Name == name && v.Version == version))
            {
                return Problems.Forbidden($"{name} version {version} is not in this device's desired state");
            }
        }

        var artifact = await store.GetArtifactAsync(name, version, cancellationToken).ConfigureAwait(false);
        if (artifact is null)
        {
            return Problems.NotFound($"{name} version {version} is not published");
        }

        var bytes = Encoding.UTF8.GetBytes(artifact.SignedManifest);
        context.Response.Headers.CacheControl = CacheForever;
        return Results.Bytes(bytes, ApiRoutes.JsonMediaType,
            lastModified: DateTimeOffset.FromUnixTimeMilliseconds(artifact.CreatedAt),
            entityTag: new EntityTagHeaderValue($"\"{Convert.ToHexStringLower(SHA256.HashData(bytes))}\""));
    }

    private static async Task<IResult> BlobAsync(string hash, HttpContext context, ClaimsPrincipal user, ICenterStore store, BlobStore blobs, DesiredStateResolver resolver, CancellationToken cancellationToken)
    {
        if (!ManifestRules.IsSha256Hex(hash))
        {
            return Problems.BadRequest("the blob name must be a lower-case hex sha256");
        }

        if (user.IsAdmin())
        {
            if (!await store.IsBlobReferencedAsync(hash, cancellationToken).ConfigureAwait(false) && blobs.PathOf(hash) is null)
            {
                return Problems.NotFound($"no blob {hash}");
            }
        }
        else
        {
            var allowed = false;
            foreach (var version in await AllowedAsync(context, user, store, resolver, cancellationToken).ConfigureAwait(false))
            {
                var artifact = await store.GetArtifactAsync(version.Name, version.Version, cancellationToken).ConfigureAwait(false);
                if (artifact is not null && artifact.Blobs.Any(b => b.Sha256 == hash))
                {
                    allowed = true;
                    break;
                }
            }

            if (!allowed)
            {
                return Problems.Forbidden($"blob {hash} is not in this device's desired state");
            }
        }

        if (blobs.PathOf(hash) is not { } path)
        {
            return Problems.NotFound($"no blob {hash}");
        }

        context.Response.Headers.CacheControl = CacheForever;
        return Results.File(path, "application/octet-stream",
            lastModified: File.GetLastWriteTimeUtc(path),
            entityTag: new EntityTagHeaderValue($"\"{hash}\""),
            enableRangeProcessing: true);
    }

    private static async Task<IReadOnlyList<VersionRef>> AllowedAsync(HttpContext context, ClaimsPrincipal user, ICenterStore store, DesiredStateResolver resolver, CancellationToken cancellationToken)
    {
        if (user.DeviceId() is not { } id || (context.AuthenticatedDevice() ?? await store.GetDeviceAsync(id, cancellationToken).ConfigureAwait(false)) is not { } device
            || device.KillRequestedAt is not null)
        {
            return [];
        }

        var resolved = await resolver.ResolveAsync(device, cancellationToken).ConfigureAwait(false);
        return resolved is null ? [] : [.. resolved.All];
    }
}
