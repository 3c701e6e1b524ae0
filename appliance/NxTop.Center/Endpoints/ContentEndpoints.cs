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
/// If-None-Match (304), If-Range and long-lived caching, so agents resume downloads and a cache can sit in front.
/// A device reads only what its desired state names; an admin reads everything. With
/// <see cref="CenterOptions.PublicBlobs"/>, published blobs are served to anyone as <c>public</c>, for a shared cache or CDN.
/// </summary>
internal static class ContentEndpoints
{
    private const string CacheForever = "private, max-age=31536000, immutable";
    private const string SharedCacheForever = "public, max-age=31536000, immutable";

    public static void Map(IEndpointRouteBuilder app)
    {
        var content = app.MapGroup("").RequireAuthorization(CenterPolicies.DeviceOrAdmin).WithTags("content");
        content.MapGet(ApiRoutes.ManifestTemplate, ManifestAsync)
            .Produces<SignedManifest>().Produces(304).ProducesProblem(403).ProducesProblem(404)
            .WithName("GetManifest");
        // Anonymous callers reach the handler, which lets them through only in public-blob mode.
        content.MapGet(ApiRoutes.BlobTemplate, BlobAsync).AllowAnonymous()
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

    private static async Task<IResult> BlobAsync(string hash, HttpContext context, ClaimsPrincipal user, ICenterStore store, BlobStore blobs, DesiredStateResolver resolver,
        Microsoft.Extensions.Options.IOptions<CenterOptions> options, CancellationToken cancellationToken)
    {
        if (!ManifestRules.IsSha256Hex(hash))
        {
            return Problems.BadRequest("the blob name must be a lower-case hex sha256");
        }

        if (options.Value.PublicBlobs && await store.IsBlobReferencedAsync(hash, cancellationToken).ConfigureAwait(false))
        {
            // The same bytes for every caller, so a shared cache may store the answer even for a request with
            // Authorization (RFC 9111 3.5: "public").
            return File(hash, context, blobs, SharedCacheForever);
        }

        if (user.Identity?.IsAuthenticated != true)
        {
            return Results.Challenge();
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

        return File(hash, context, blobs, CacheForever);
    }

    private static IResult File(string hash, HttpContext context, BlobStore blobs, string cacheControl)
    {
        if (blobs.PathOf(hash) is not { } path)
        {
            return Problems.NotFound($"no blob {hash}");
        }

        context.Response.Headers.CacheControl = cacheControl;
        return Results.File(path, "application/octet-stream",
            lastModified: System.IO.File.GetLastWriteTimeUtc(path),
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
