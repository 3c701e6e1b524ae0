using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using NxTop.Center.Content;
using NxTop.Center.Fleet;
using NxTop.Center.Publishing;
using NxTop.Center.Security;
using NxTop.Center.Storage;
using NxTop.Contracts;
using NxTop.Contracts.Center;

namespace NxTop.Center.Endpoints;

/// <summary>The admin API (<see cref="CenterRoutes"/>): publishing, tracks, enrollment tokens, devices, groups, assignments.</summary>
internal static class AdminEndpoints
{
    public const int MaxTokensPerRequest = 10_000;
    public const int MaxDevicesPerRequest = 100_000;

    public static void Map(IEndpointRouteBuilder app)
    {
        var admin = app.MapGroup("").RequireAuthorization(CenterPolicies.Admin).WithTags("admin");

        admin.MapPut(CenterRoutes.AdminBlobs, UploadBlobAsync)
            .Accepts<Stream>("application/octet-stream")
            .Produces<BlobUploaded>(201).ProducesProblem(400).ProducesProblem(413).ProducesProblem(503)
            .WithName("UploadBlob").WithSummary("Stream a blob (base image, patch delta, app layer) into the content store");
        admin.MapPost(CenterRoutes.AdminContent, PublishAsync)
            .Accepts<PublishRequest>(ApiRoutes.JsonMediaType)
            .Produces<PublishedContent>(201).ProducesProblem(400).ProducesProblem(409).ProducesProblem(503)
            .WithName("Publish").WithSummary("Sign and publish a new version of a base image or an app layer");
        admin.MapGet(CenterRoutes.AdminTracks, ListTracksAsync).Produces<IReadOnlyList<TrackInfo>>().WithName("ListTracks");
        admin.MapGet(CenterRoutes.AdminTrackTemplate, GetTrackAsync).Produces<TrackInfo>().ProducesProblem(404).WithName("GetTrack");
        admin.MapPut(CenterRoutes.AdminTrackTemplate, SetTrackAsync)
            .Accepts<TrackUpdate>(ApiRoutes.JsonMediaType).Produces<TrackInfo>().ProducesProblem(400).ProducesProblem(404).ProducesProblem(409)
            .WithName("SetTrack");
        admin.MapPost(CenterRoutes.AdminPromoteTemplate, PromoteAsync).Produces<TrackInfo>().ProducesProblem(404).ProducesProblem(409).WithName("Promote");
        admin.MapGet(CenterRoutes.AdminPublisherKey, (PublisherKey key) => Results.Text(key.PublicKeyPem, "application/x-pem-file"))
            .Produces<string>(contentType: "application/x-pem-file").WithName("GetPublisherKey");

        admin.MapPost(CenterRoutes.AdminEnrollmentTokens, IssueTokensAsync)
            .Accepts<EnrollmentTokenRequest>(ApiRoutes.JsonMediaType).Produces<EnrollmentTokensIssued>(201).ProducesProblem(400)
            .WithName("IssueEnrollmentTokens");

        admin.MapGet(CenterRoutes.AdminDevices, ListDevicesAsync).Produces<IReadOnlyList<DeviceSummary>>().WithName("ListDevices");
        admin.MapGet(CenterRoutes.AdminDeviceTemplate, GetDeviceAsync).Produces<DeviceDetail>().ProducesProblem(404).WithName("GetDevice");
        admin.MapPost(CenterRoutes.AdminDeviceKillTemplate, KillAsync).Produces(202).ProducesProblem(404).WithName("KillDevice")
            .WithSummary("Wipe a lost device's local content at its next contact");
        admin.MapPut(CenterRoutes.AdminDeviceAssignmentTemplate, (string id, HttpRequest request, ICenterStore store, TimeProvider time, CancellationToken ct) =>
                PutAssignmentAsync(AssignmentTarget.Device, id, request, store, time, ct))
            .Accepts<AssignmentRequest>(ApiRoutes.JsonMediaType).Produces<AssignmentInfo>().ProducesProblem(400).ProducesProblem(404)
            .WithName("AssignDevice");
        admin.MapGet(CenterRoutes.AdminDeviceAssignmentTemplate, (string id, ICenterStore store, CancellationToken ct) => GetAssignmentAsync(AssignmentTarget.Device, id, store, ct))
            .Produces<AssignmentInfo>().ProducesProblem(404).WithName("GetDeviceAssignment");
        admin.MapDelete(CenterRoutes.AdminDeviceAssignmentTemplate, (string id, ICenterStore store, CancellationToken ct) => DeleteAssignmentAsync(AssignmentTarget.Device, id, store, ct))
            .Produces(204).ProducesProblem(404).WithName("UnassignDevice");

        admin.MapGet(CenterRoutes.AdminGroups, ListGroupsAsync).Produces<IReadOnlyList<GroupInfo>>().WithName("ListGroups");
        admin.MapPost(CenterRoutes.AdminGroups, PutGroupAsync).Accepts<GroupRequest>(ApiRoutes.JsonMediaType).Produces<GroupInfo>().ProducesProblem(400).WithName("PutGroup");
        admin.MapGet(CenterRoutes.AdminGroupTemplate, GetGroupAsync).Produces<GroupInfo>().ProducesProblem(404).WithName("GetGroup");
        admin.MapPost(CenterRoutes.AdminGroupMembersTemplate, MoveMembersAsync)
            .Accepts<GroupMembersRequest>(ApiRoutes.JsonMediaType).Produces<GroupMembersResult>().ProducesProblem(400).ProducesProblem(404)
            .WithName("MoveDevicesIntoGroup");
        admin.MapPut(CenterRoutes.AdminGroupAssignmentTemplate, async (string name, HttpRequest request, ICenterStore store, TimeProvider time, CancellationToken ct) =>
                await store.GetGroupAsync(name, ct).ConfigureAwait(false) is null
                    ? Problems.NotFound($"no group '{name}'")
                    : await PutAssignmentAsync(AssignmentTarget.Group, name, request, store, time, ct).ConfigureAwait(false))
            .Accepts<AssignmentRequest>(ApiRoutes.JsonMediaType).Produces<AssignmentInfo>().ProducesProblem(400).ProducesProblem(404)
            .WithName("AssignGroup").WithSummary("Give every device of a group a base image, apps and a policy: one action for 1,000 devices");
        admin.MapGet(CenterRoutes.AdminGroupAssignmentTemplate, (string name, ICenterStore store, CancellationToken ct) => GetAssignmentAsync(AssignmentTarget.Group, name, store, ct))
            .Produces<AssignmentInfo>().ProducesProblem(404).WithName("GetGroupAssignment");
        admin.MapDelete(CenterRoutes.AdminGroupAssignmentTemplate, (string name, ICenterStore store, CancellationToken ct) => DeleteAssignmentAsync(AssignmentTarget.Group, name, store, ct))
            .Produces(204).ProducesProblem(404).WithName("UnassignGroup");

        admin.MapPost(CenterRoutes.AdminBlobCollect, CollectBlobsAsync).Produces<BlobsCollected>().ProducesProblem(400).ProducesProblem(503)
            .WithName("CollectBlobs").WithSummary("Delete blobs that no published manifest names (older than the grace period)");
        admin.MapGet(CenterRoutes.AdminCredentials, ListCredentialsAsync).Produces<IReadOnlyList<AdminCredentialInfo>>().WithName("ListAdminCredentials");
        admin.MapPost(CenterRoutes.AdminCredentials, AddCredentialAsync).Accepts<AdminCredentialRequest>(ApiRoutes.JsonMediaType)
            .Produces<AdminCredentialIssued>(201).ProducesProblem(400).WithName("AddAdminCredential");
        admin.MapDelete(CenterRoutes.AdminCredentialTemplate, RevokeCredentialAsync).Produces(204).ProducesProblem(404).ProducesProblem(409)
            .WithName("RevokeAdminCredential").WithSummary("Revoke an admin credential at once (not the last one)");

        admin.MapGet(CenterRoutes.AdminFleet, FleetAsync).Produces<FleetOverview>().WithName("FleetOverview");
        admin.MapGet(CenterRoutes.AdminTimings, (RequestTimings timings) => Results.Json(timings.Snapshot(), CenterJsonContext.Default.ServerTimings))
            .Produces<ServerTimings>().WithName("GetTimings").WithSummary("Server-side durations of the agents' calls");
        admin.MapDelete(CenterRoutes.AdminTimings, (RequestTimings timings) =>
        {
            timings.Clear();
            return Results.NoContent();
        }).Produces(204).WithName("ClearTimings");
    }

    private static async Task<IResult> UploadBlobAsync(HttpContext context, string? sha256, BlobStore blobs, IOptions<CenterOptions> options, ILogger<CenterStartup> logger)
    {
        if (sha256 is not null && !ManifestRules.IsSha256Hex(sha256))
        {
            return Problems.BadRequest("sha256 must be 64 lower-case hex digits");
        }

        var limit = options.Value.MaxUploadBytes;
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } sizeFeature)
        {
            sizeFeature.MaxRequestBodySize = limit;
        }

        if (context.Request.ContentLength > limit)
        {
            return Results.Problem(detail: $"the upload is larger than the limit of {limit} bytes", statusCode: StatusCodes.Status413PayloadTooLarge);
        }

        var receipt = await blobs.ReceiveAsync(context.Request.Body, sha256, limit, context.RequestAborted).ConfigureAwait(false);
        if (!receipt.IsStored)
        {
            Log.UploadRefused(logger, receipt.Refusal!);
            return Problems.BadRequest(receipt.Refusal!);
        }

        return Results.Json(new BlobUploaded(receipt.Sha256!, receipt.Size), CenterJsonContext.Default.BlobUploaded, statusCode: StatusCodes.Status201Created);
    }

    private static async Task<IResult> CollectBlobsAsync(int? graceMinutes, BlobStore blobs, ICenterStore store, TimeProvider time, IOptions<CenterOptions> options,
        ILogger<CenterStartup> logger, CancellationToken cancellationToken)
    {
        var grace = graceMinutes ?? options.Value.BlobGraceMinutes;
        if (grace is < 1 or > 525_600)
        {
            return Problems.BadRequest("graceMinutes must be 1-525600: an upload waiting to be published must not be collected");
        }

        var result = await blobs.CollectAsync(store.ListReferencedBlobsAsync, time.GetUtcNow().AddMinutes(-grace), cancellationToken).ConfigureAwait(false);
        Log.BlobsCollected(logger, result.Deleted, result.BytesFreed, result.KeptReferenced, result.KeptYoung);
        return Results.Json(new BlobsCollected(result.Deleted, result.BytesFreed, result.KeptReferenced, result.KeptYoung, grace), CenterJsonContext.Default.BlobsCollected);
    }

    private static async Task<IResult> ListCredentialsAsync(ICenterStore store, CancellationToken cancellationToken)
    {
        var credentials = await store.ListAdminCredentialsAsync(cancellationToken).ConfigureAwait(false);
        return Results.Json<IReadOnlyList<AdminCredentialInfo>>(
            [.. credentials.Select(c => new AdminCredentialInfo(c.Id, c.Name, DateTimeOffset.FromUnixTimeMilliseconds(c.CreatedAt)))],
            CenterJsonContext.Default.IReadOnlyListAdminCredentialInfo);
    }

    private static async Task<IResult> AddCredentialAsync(HttpRequest request, ICenterStore store, CancellationToken cancellationToken)
    {
        var (body, problem) = await JsonBody.ReadAsync(request, CenterJsonContext.Default.AdminCredentialRequest).ConfigureAwait(false);
        if (body is null)
        {
            return problem!;
        }

        if (!ManifestRules.IsValidName(body.Name))
        {
            return Problems.BadRequest($"credential name '{body.Name}' is not [a-z0-9._-]{{1,64}}");
        }

        var token = Secrets.New(Secrets.AdminPrefix);
        var hash = Secrets.Hash(token);
        await store.AddAdminCredentialAsync(body.Name, hash, cancellationToken).ConfigureAwait(false);
        var added = await store.FindAdminCredentialAsync(hash, cancellationToken).ConfigureAwait(false);
        return Results.Json(new AdminCredentialIssued(added!.Id, added.Name, token), CenterJsonContext.Default.AdminCredentialIssued, statusCode: StatusCodes.Status201Created);
    }

    private static async Task<IResult> RevokeCredentialAsync(long id, ICenterStore store, ILogger<CenterStartup> logger, CancellationToken cancellationToken)
    {
        var outcome = await store.RevokeAdminCredentialAsync(id, cancellationToken).ConfigureAwait(false);
        switch (outcome)
        {
            case AdminRevocation.Revoked:
                Log.AdminCredentialRevoked(logger, id);
                return Results.NoContent();
            case AdminRevocation.LastCredential:
                return Results.Problem(detail: "this is the last admin credential; add another first (nobody could administer the Center)", statusCode: StatusCodes.Status409Conflict);
            default:
                return Problems.NotFound(string.Create(CultureInfo.InvariantCulture, $"no admin credential {id}"));
        }
    }

    private static async Task<IResult> PublishAsync(HttpRequest request, Publisher publisher, CancellationToken cancellationToken)
    {
        var (body, problem) = await JsonBody.ReadAsync(request, CenterJsonContext.Default.PublishRequest).ConfigureAwait(false);
        if (body is null)
        {
            return problem!;
        }

        var outcome = await publisher.PublishAsync(body, cancellationToken).ConfigureAwait(false);
        return outcome.Value is { } published
            ? Results.Json(published, CenterJsonContext.Default.PublishedContent, statusCode: StatusCodes.Status201Created)
            : Results.Problem(detail: outcome.Reason, statusCode: outcome.Status);
    }

    private static async Task<IResult> ListTracksAsync(ICenterStore store, CancellationToken cancellationToken)
    {
        var tracks = await store.ListTracksAsync(cancellationToken).ConfigureAwait(false);
        var infos = new List<TrackInfo>();
        foreach (var track in tracks)
        {
            infos.Add(await InfoAsync(track, store, cancellationToken).ConfigureAwait(false));
        }

        return Results.Json<IReadOnlyList<TrackInfo>>(infos, CenterJsonContext.Default.IReadOnlyListTrackInfo);
    }

    private static async Task<IResult> GetTrackAsync(string name, ICenterStore store, CancellationToken cancellationToken) =>
        await store.GetTrackAsync(name, cancellationToken).ConfigureAwait(false) is { } track
            ? Results.Json(await InfoAsync(track, store, cancellationToken).ConfigureAwait(false), CenterJsonContext.Default.TrackInfo)
            : Problems.NotFound($"nothing named '{name}' is published");

    private static async Task<IResult> SetTrackAsync(string name, HttpRequest request, Publisher publisher, ICenterStore store, CancellationToken cancellationToken)
    {
        var (body, problem) = await JsonBody.ReadAsync(request, CenterJsonContext.Default.TrackUpdate).ConfigureAwait(false);
        if (body is null)
        {
            return problem!;
        }

        return await TrackResultAsync(await publisher.SetTrackAsync(name, body, cancellationToken).ConfigureAwait(false), store, cancellationToken).ConfigureAwait(false);
    }

    private static async Task<IResult> PromoteAsync(string name, Publisher publisher, ICenterStore store, CancellationToken cancellationToken) =>
        await TrackResultAsync(await publisher.PromoteAsync(name, cancellationToken).ConfigureAwait(false), store, cancellationToken).ConfigureAwait(false);

    private static async Task<IResult> TrackResultAsync(Outcome<Track> outcome, ICenterStore store, CancellationToken cancellationToken) =>
        outcome.Value is { } track
            ? Results.Json(await InfoAsync(track, store, cancellationToken).ConfigureAwait(false), CenterJsonContext.Default.TrackInfo)
            : Results.Problem(detail: outcome.Reason, statusCode: outcome.Status);

    private static async Task<TrackInfo> InfoAsync(Track track, ICenterStore store, CancellationToken cancellationToken) =>
        new(track.Name, track.Kind, track.Current, track.Staged, await store.ListVersionsAsync(track.Name, cancellationToken).ConfigureAwait(false));

    private static async Task<IResult> IssueTokensAsync(HttpRequest request, ICenterStore store, TimeProvider time, CancellationToken cancellationToken)
    {
        var (body, problem) = await JsonBody.ReadAsync(request, CenterJsonContext.Default.EnrollmentTokenRequest).ConfigureAwait(false);
        if (body is null)
        {
            return problem!;
        }

        if (body.Count is < 1 or > MaxTokensPerRequest)
        {
            return Problems.BadRequest($"count must be 1-{MaxTokensPerRequest}");
        }

        if (body.ValidHours is < 1 or > 24 * 365)
        {
            return Problems.BadRequest("validHours must be 1-8760");
        }

        if (body.Group is not null && await store.GetGroupAsync(body.Group, cancellationToken).ConfigureAwait(false) is null)
        {
            return Problems.BadRequest($"no group '{body.Group}'");
        }

        var now = time.GetUtcNow();
        var expires = now.AddHours(body.ValidHours);
        var tokens = Enumerable.Range(0, body.Count).Select(_ => Secrets.New(Secrets.EnrollmentPrefix)).ToList();
        await store.AddEnrollmentTokensAsync(
            [.. tokens.Select(token => new EnrollmentTokenRecord(Secrets.Hash(token), body.Group, now.ToUnixTimeMilliseconds(), expires.ToUnixTimeMilliseconds()))],
            cancellationToken).ConfigureAwait(false);

        return Results.Json(new EnrollmentTokensIssued(tokens, body.Group, expires), CenterJsonContext.Default.EnrollmentTokensIssued, statusCode: StatusCodes.Status201Created);
    }

    private static async Task<IResult> ListDevicesAsync(string? group, ICenterStore store, CancellationToken cancellationToken)
    {
        var devices = await store.ListDevicesAsync(group, cancellationToken).ConfigureAwait(false);
        return Results.Json<IReadOnlyList<DeviceSummary>>([.. devices.Select(Summary)], CenterJsonContext.Default.IReadOnlyListDeviceSummary);
    }

    private static async Task<IResult> GetDeviceAsync(string id, ICenterStore store, DesiredStateResolver resolver, CancellationToken cancellationToken)
    {
        var device = await store.GetDeviceAsync(id, cancellationToken).ConfigureAwait(false);
        if (device is null)
        {
            return Problems.NotFound($"no device '{id}'");
        }

        var history = await store.GetHistoryAsync(id, 200, cancellationToken).ConfigureAwait(false);
        var resolved = await resolver.ResolveAsync(device, cancellationToken).ConfigureAwait(false);
        var detail = new DeviceDetail(
            Summary(device),
            device.Inventory is null ? null : JsonSerializer.Deserialize(device.Inventory, ContractsJsonContext.Default.HardwareInventory),
            device.LastReport is null ? null : JsonSerializer.Deserialize(device.LastReport, ContractsJsonContext.Default.StatusReport),
            resolved is null ? null : resolver.ToContract(id, resolved, device.DesiredGeneration),
            [.. history.Select(e => new DeviceEventInfo(DateTimeOffset.FromUnixTimeMilliseconds(e.At), e.Event, e.Name, e.Version, e.Detail))]);
        return Results.Json(detail, CenterJsonContext.Default.DeviceDetail);
    }

    private static async Task<IResult> KillAsync(string id, ICenterStore store, ILogger<CenterStartup> logger, CancellationToken cancellationToken)
    {
        if (!await store.RequestKillAsync(id, cancellationToken).ConfigureAwait(false))
        {
            return Problems.NotFound($"no device '{id}'");
        }

        Log.KillRequested(logger, id);
        return Results.Accepted();
    }

    internal static DeviceSummary Summary(DeviceRecord d) => new(
        d.Id, d.Name, d.Group, DateTimeOffset.FromUnixTimeMilliseconds(d.EnrolledAt), Time(d.LastContact), d.BaseVersion, d.Health, d.Rollbacks,
        Time(d.KillRequestedAt), Time(d.KillDeliveredAt));

    private static DateTimeOffset? Time(long? ms) => ms is { } v ? DateTimeOffset.FromUnixTimeMilliseconds(v) : null;

    private static async Task<IResult> PutAssignmentAsync(AssignmentTarget target, string targetId, HttpRequest request, ICenterStore store, TimeProvider time, CancellationToken cancellationToken)
    {
        if (target == AssignmentTarget.Device && await store.GetDeviceAsync(targetId, cancellationToken).ConfigureAwait(false) is null)
        {
            return Problems.NotFound($"no device '{targetId}'");
        }

        var (body, problem) = await JsonBody.ReadAsync(request, CenterJsonContext.Default.AssignmentRequest).ConfigureAwait(false);
        if (body is null)
        {
            return problem!;
        }

        if (await CheckAssignmentAsync(body, store, cancellationToken).ConfigureAwait(false) is { } reason)
        {
            return Problems.BadRequest(reason);
        }

        var assignment = new Assignment(target, targetId, body.BaseName, body.BaseVersion, body.Apps, body.Policy, time.GetUtcNow().ToUnixTimeMilliseconds());
        await store.PutAssignmentAsync(assignment, cancellationToken).ConfigureAwait(false);
        return Results.Json(Info(assignment), CenterJsonContext.Default.AssignmentInfo);
    }

    internal static async Task<string?> CheckAssignmentAsync(AssignmentRequest body, ICenterStore store, CancellationToken cancellationToken)
    {
        if (body.Policy.HealthCheckDeadlineSeconds is < 10 or > 86_400)
        {
            return "policy.healthCheckDeadlineSeconds must be 10-86400";
        }

        if (body.Policy.LockoutDays is < 0 or > 3650)
        {
            return "policy.lockoutDays must be 0-3650 (0: no lockout)";
        }

        if (await CheckContentAsync(body.BaseName, body.BaseVersion, ContentKind.Base, store, cancellationToken).ConfigureAwait(false) is { } baseProblem)
        {
            return baseProblem;
        }

        if (body.Apps.Select(a => a.Name).Distinct(StringComparer.Ordinal).Count() != body.Apps.Count)
        {
            return "an app is listed twice";
        }

        foreach (var app in body.Apps)
        {
            if (await CheckContentAsync(app.Name, app.Version, ContentKind.App, store, cancellationToken).ConfigureAwait(false) is { } appProblem)
            {
                return appProblem;
            }
        }

        return null;
    }

    private static async Task<string?> CheckContentAsync(string name, long? version, ContentKind kind, ICenterStore store, CancellationToken cancellationToken)
    {
        var track = ManifestRules.IsValidName(name) ? await store.GetTrackAsync(name, cancellationToken).ConfigureAwait(false) : null;
        if (track is null)
        {
            return $"nothing named '{name}' is published";
        }

        if (track.Kind != kind)
        {
            return $"'{name}' is a {Publisher.Wire(track.Kind)}, not a {Publisher.Wire(kind)}";
        }

        if (version is { } v && await store.GetArtifactAsync(name, v, cancellationToken).ConfigureAwait(false) is null)
        {
            return string.Create(CultureInfo.InvariantCulture, $"{name} version {v} is not published");
        }

        return null;
    }

    private static async Task<IResult> GetAssignmentAsync(AssignmentTarget target, string targetId, ICenterStore store, CancellationToken cancellationToken) =>
        await store.GetAssignmentAsync(target, targetId, cancellationToken).ConfigureAwait(false) is { } assignment
            ? Results.Json(Info(assignment), CenterJsonContext.Default.AssignmentInfo)
            : Problems.NotFound($"no assignment for {Target(target)} '{targetId}'");

    private static async Task<IResult> DeleteAssignmentAsync(AssignmentTarget target, string targetId, ICenterStore store, CancellationToken cancellationToken) =>
        await store.DeleteAssignmentAsync(target, targetId, cancellationToken).ConfigureAwait(false)
            ? Results.NoContent()
            : Problems.NotFound($"no assignment for {Target(target)} '{targetId}'");

    private static AssignmentInfo Info(Assignment a) =>
        new(Target(a.Target), a.TargetId, a.BaseName, a.BaseVersion, a.Apps, a.Policy, DateTimeOffset.FromUnixTimeMilliseconds(a.UpdatedAt));

    private static string Target(AssignmentTarget target) => target == AssignmentTarget.Group ? "group" : "device";

    private static async Task<IResult> ListGroupsAsync(ICenterStore store, CancellationToken cancellationToken)
    {
        var groups = await store.ListGroupsAsync(cancellationToken).ConfigureAwait(false);
        return Results.Json<IReadOnlyList<GroupInfo>>([.. groups.Select(GroupInfo)], CenterJsonContext.Default.IReadOnlyListGroupInfo);
    }

    private static async Task<IResult> PutGroupAsync(HttpRequest request, ICenterStore store, CancellationToken cancellationToken)
    {
        var (body, problem) = await JsonBody.ReadAsync(request, CenterJsonContext.Default.GroupRequest).ConfigureAwait(false);
        if (body is null)
        {
            return problem!;
        }

        if (!ManifestRules.IsValidName(body.Name))
        {
            return Problems.BadRequest($"group name '{body.Name}' is not [a-z0-9._-]{{1,64}}");
        }

        await store.PutGroupAsync(body.Name, body.Ring, cancellationToken).ConfigureAwait(false);
        var group = await store.GetGroupAsync(body.Name, cancellationToken).ConfigureAwait(false);
        return Results.Json(GroupInfo(group!), CenterJsonContext.Default.GroupInfo);
    }

    private static async Task<IResult> GetGroupAsync(string name, ICenterStore store, CancellationToken cancellationToken) =>
        await store.GetGroupAsync(name, cancellationToken).ConfigureAwait(false) is { } group
            ? Results.Json(GroupInfo(group), CenterJsonContext.Default.GroupInfo)
            : Problems.NotFound($"no group '{name}'");

    private static async Task<IResult> MoveMembersAsync(string name, HttpRequest request, ICenterStore store, CancellationToken cancellationToken)
    {
        if (await store.GetGroupAsync(name, cancellationToken).ConfigureAwait(false) is null)
        {
            return Problems.NotFound($"no group '{name}'");
        }

        var (body, problem) = await JsonBody.ReadAsync(request, CenterJsonContext.Default.GroupMembersRequest).ConfigureAwait(false);
        if (body is null)
        {
            return problem!;
        }

        if (body.DeviceIds.Count > MaxDevicesPerRequest)
        {
            return Problems.BadRequest($"at most {MaxDevicesPerRequest} devices per request");
        }

        var ids = body.DeviceIds.Distinct(StringComparer.Ordinal).ToList();
        var moved = await store.SetGroupAsync(ids, name, cancellationToken).ConfigureAwait(false);
        return Results.Json(new GroupMembersResult(moved, ids.Count - moved), CenterJsonContext.Default.GroupMembersResult);
    }

    private static GroupInfo GroupInfo(GroupRecord g) => new(g.Name, g.Ring, g.Members, DateTimeOffset.FromUnixTimeMilliseconds(g.CreatedAt));

    private static async Task<IResult> FleetAsync(ICenterStore store, TimeProvider time, IOptions<CenterOptions> options, CancellationToken cancellationToken)
    {
        var minutes = options.Value.OutOfContactMinutes;
        var counts = await store.CountFleetAsync(time.GetUtcNow().AddMinutes(-minutes).ToUnixTimeMilliseconds(), cancellationToken).ConfigureAwait(false);
        return Results.Json(new FleetOverview(counts.Devices, counts.OutOfContact, counts.WithRollbacks, counts.KillPending, counts.ByBaseVersion, counts.ByHealth, minutes),
            CenterJsonContext.Default.FleetOverview);
    }
}
