using System.Security.Claims;
using System.Text.Json;
using NxTop.Center.Fleet;
using NxTop.Center.Security;
using NxTop.Center.Storage;
using NxTop.Contracts;
using NxTop.Contracts.Center;

namespace NxTop.Center.Endpoints;

/// <summary>The agent protocol (<see cref="ApiRoutes"/>): enrollment, desired state, reports, commands.</summary>
internal static class AgentEndpoints
{
    public const string EnrollmentRateLimit = "enrollment";

    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapPost(ApiRoutes.Enroll, EnrollAsync)
            .RequireRateLimiting(EnrollmentRateLimit)
            .AllowAnonymous()
            .Accepts<EnrollmentRequest>(ApiRoutes.JsonMediaType)
            .Produces<EnrollmentResponse>()
            .ProducesProblem(400).ProducesProblem(403).ProducesProblem(429)
            .WithName("Enroll").WithTags("agent");

        var device = app.MapGroup("").RequireAuthorization(CenterPolicies.Device).WithTags("agent");
        device.MapGet(ApiRoutes.DesiredStateTemplate, DesiredStateAsync)
            .Produces<DesiredState>().Produces(204).Produces<DeviceCommand>(410).ProducesProblem(403)
            .WithName("GetDesiredState");
        device.MapPost(ApiRoutes.ReportsTemplate, ReportAsync)
            .Accepts<StatusReport>(ApiRoutes.JsonMediaType)
            .Produces(202).Produces(200).ProducesProblem(400).ProducesProblem(403)
            .WithName("PostReport");
        device.MapGet(CenterRoutes.CommandsTemplate, CommandsAsync)
            .Produces<DeviceCommands>().ProducesProblem(403)
            .WithName("GetCommands");
    }

    private static async Task<IResult> EnrollAsync(HttpRequest request, ICenterStore store, ILogger<CenterStartup> logger, CancellationToken cancellationToken)
    {
        var (body, problem) = await JsonBody.ReadAsync(request, ContractsJsonContext.Default.EnrollmentRequest).ConfigureAwait(false);
        if (body is null)
        {
            return problem!;
        }

        if (string.IsNullOrWhiteSpace(body.Token) || body.Token.Length > 256)
        {
            return Problems.BadRequest("token must be 1-256 characters");
        }

        if (string.IsNullOrWhiteSpace(body.Hostname) || body.Hostname.Length > 253)
        {
            return Problems.BadRequest("hostname must be 1-253 characters");
        }

        var deviceId = Secrets.NewDeviceId();
        var credential = Secrets.New(Secrets.DevicePrefix);
        var inventory = JsonSerializer.Serialize(body.Inventory, ContractsJsonContext.Default.HardwareInventory);
        var device = await store.RedeemEnrollmentTokenAsync(Secrets.Hash(body.Token), deviceId, body.Hostname, Secrets.Hash(credential), inventory, cancellationToken).ConfigureAwait(false);
        if (device is null)
        {
            Log.EnrollmentRefused(logger, "unknown, used or expired token");
            return Problems.Forbidden("the enrollment token is unknown, already used, or expired");
        }

        Log.Enrolled(logger, deviceId, body.Hostname);
        return Results.Json(new EnrollmentResponse(deviceId, credential), ContractsJsonContext.Default.EnrollmentResponse);
    }

    private static async Task<IResult> DesiredStateAsync(string id, HttpContext context, ICenterStore store, DesiredStateResolver resolver, ContactRecorder contacts, ILogger<CenterStartup> logger, CancellationToken cancellationToken)
    {
        if (Own(context.User, id) is { } refusal)
        {
            return refusal;
        }

        var device = context.AuthenticatedDevice() ?? await store.GetDeviceAsync(id, cancellationToken).ConfigureAwait(false);
        if (device is null)
        {
            return Problems.Forbidden("unknown device");
        }

        if (device.KillRequestedAt is { } killAt)
        {
            await store.MarkKillDeliveredAsync(id, cancellationToken).ConfigureAwait(false);
            if (device.KillDeliveredAt is null)
            {
                Log.KillDelivered(logger, id);
            }

            return Results.Json(KillCommand(device, killAt), CenterJsonContext.Default.DeviceCommand, statusCode: StatusCodes.Status410Gone);
        }

        contacts.Touch(id);
        var desired = await resolver.DesiredStateAsync(device, cancellationToken).ConfigureAwait(false);
        return desired is null ? Results.NoContent() : Results.Json(desired, ContractsJsonContext.Default.DesiredState);
    }

    private static async Task<IResult> ReportAsync(string id, HttpRequest request, ClaimsPrincipal user, ICenterStore store, CancellationToken cancellationToken)
    {
        if (Own(user, id) is { } refusal)
        {
            return refusal;
        }

        var (report, problem) = await JsonBody.ReadAsync(request, ContractsJsonContext.Default.StatusReport).ConfigureAwait(false);
        if (report is null)
        {
            return problem!;
        }

        if (ReportIntake.Validate(report, id) is { } reason)
        {
            return Problems.BadRequest(reason);
        }

        var stored = await store.RecordReportAsync(id, report.ReportId,
            JsonSerializer.Serialize(report, ContractsJsonContext.Default.StatusReport), ReportIntake.Summarise(report), cancellationToken).ConfigureAwait(false);

        // 202 for a new report, 200 for a repeat: either way the agent may drop it from its queue.
        return stored ? Results.Accepted() : Results.Ok();
    }

    private static async Task<IResult> CommandsAsync(string id, HttpContext context, ICenterStore store, ContactRecorder contacts, ILogger<CenterStartup> logger, CancellationToken cancellationToken)
    {
        if (Own(context.User, id) is { } refusal)
        {
            return refusal;
        }

        var device = context.AuthenticatedDevice() ?? await store.GetDeviceAsync(id, cancellationToken).ConfigureAwait(false);
        if (device is null)
        {
            return Problems.Forbidden("unknown device");
        }

        contacts.Touch(id);
        if (device.KillRequestedAt is not { } killAt)
        {
            return Results.Json(new DeviceCommands([]), CenterJsonContext.Default.DeviceCommands);
        }

        await store.MarkKillDeliveredAsync(id, cancellationToken).ConfigureAwait(false);
        if (device.KillDeliveredAt is null)
        {
            Log.KillDelivered(logger, id);
        }

        return Results.Json(new DeviceCommands([KillCommand(device, killAt)]), CenterJsonContext.Default.DeviceCommands);
    }

    private static DeviceCommand KillCommand(DeviceRecord device, long requestedAt) =>
        new($"wipe-{device.Id}", DeviceCommandKind.Wipe, DateTimeOffset.FromUnixTimeMilliseconds(requestedAt));

    /// <summary>A device may act only on its own id.</summary>
    private static IResult? Own(ClaimsPrincipal user, string id) =>
        string.Equals(user.DeviceId(), id, StringComparison.Ordinal) ? null : Problems.Forbidden("a device may only use its own id");
}
