using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;
using NxTop.Center.Storage;

namespace NxTop.Center.Security;

/// <summary>
/// Authenticates <c>Authorization: Bearer nxa_...</c> (an admin) or <c>Bearer nxd_...</c> (a device)
/// by the hash of the secret. A device's identity is its id claim; endpoints compare it with the route.
/// </summary>
public sealed class BearerAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    ICenterStore store)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "NxTopBearer";
    public const string AdminRole = "admin";
    public const string DeviceRole = "device";
    public const string DeviceIdClaim = "nxtop:device";
    internal const string DeviceItem = "nxtop.device";
    public const string DashboardPath = "/dashboard";
    public const string DashboardCookie = "nxtop_admin";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        string? header = Request.Headers.Authorization;
        string secret;
        if (!string.IsNullOrEmpty(header) && header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            secret = header["Bearer ".Length..].Trim();
        }
        else if (Request.Path.StartsWithSegments(DashboardPath) && Request.Cookies[DashboardCookie] is { Length: > 0 } cookie
                 && cookie.StartsWith(Secrets.AdminPrefix, StringComparison.Ordinal))
        {
            // The dashboard's cookie (HttpOnly, SameSite=Strict) is honoured on the dashboard's pages only,
            // so that it can never authorise an API call a foreign page makes the browser send.
            secret = cookie;
        }
        else
        {
            return AuthenticateResult.NoResult();
        }

        if (secret.StartsWith(Secrets.AdminPrefix, StringComparison.Ordinal))
        {
            var admin = await store.FindAdminCredentialAsync(Secrets.Hash(secret), Context.RequestAborted).ConfigureAwait(false);
            return admin is null
                ? AuthenticateResult.Fail("unknown admin credential")
                : Success([new Claim(ClaimTypes.Name, admin.Name), new Claim(ClaimTypes.Role, AdminRole)]);
        }

        if (secret.StartsWith(Secrets.DevicePrefix, StringComparison.Ordinal))
        {
            var device = await store.FindDeviceByCredentialAsync(Secrets.Hash(secret), Context.RequestAborted).ConfigureAwait(false);
            if (device is not null)
            {
                Context.Items[DeviceItem] = device;
            }

            return device is null
                ? AuthenticateResult.Fail("unknown device credential")
                : Success([new Claim(ClaimTypes.Name, device.Name), new Claim(ClaimTypes.Role, DeviceRole), new Claim(DeviceIdClaim, device.Id)]);
        }

        return AuthenticateResult.Fail("not an NxTop credential");
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        if (Request.Path.StartsWithSegments(DashboardPath) && HttpMethods.IsGet(Request.Method))
        {
            Response.Redirect(DashboardPath + "/login");
            return Task.CompletedTask;
        }

        return base.HandleChallengeAsync(properties);
    }

    private AuthenticateResult Success(Claim[] claims) =>
        AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(new ClaimsIdentity(claims, SchemeName)), SchemeName));
}

public static class CenterPolicies
{
    public const string Admin = "admin";
    public const string Device = "device";
    public const string DeviceOrAdmin = "device-or-admin";

    /// <summary>The device id of a device caller, else null.</summary>
    public static string? DeviceId(this ClaimsPrincipal user) => user.FindFirstValue(BearerAuthenticationHandler.DeviceIdClaim);

    /// <summary>The device row read while authenticating this request (saves reading it twice).</summary>
    public static DeviceRecord? AuthenticatedDevice(this HttpContext context) =>
        context.Items.TryGetValue(BearerAuthenticationHandler.DeviceItem, out var device) ? device as DeviceRecord : null;

    public static bool IsAdmin(this ClaimsPrincipal user) => user.IsInRole(BearerAuthenticationHandler.AdminRole);
}
