using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.Extensions.Options;
using NxTop.Center.Security;
using NxTop.Center.Storage;
using NxTop.Contracts.Center;

namespace NxTop.Center.Endpoints;

/// <summary>
/// A small server-rendered dashboard: fleet overview, devices, a device's history, groups and
/// tracks; publishing, promoting and assigning are in <see cref="DashboardActions"/>. The admin signs
/// in with an admin credential, kept in an HttpOnly, SameSite=Strict cookie for these pages only. Every
/// form carries an anti-forgery token (<see cref="DashboardForms"/>), checked on every POST.
/// </summary>
internal static class Dashboard
{
    private const string Root = BearerAuthenticationHandler.DashboardPath;

    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapGet(Root + "/login", () => Page("Sign in", $"""
            <form method="post" action="/dashboard/login">{DashboardForms.Field}
              <label>Admin credential <input type="password" name="token" autocomplete="off" size="60"></label>
              <button type="submit">Sign in</button>
            </form>
            <p>The first credential is in <code>admin-token</code> in the Center's data directory.</p>
            """, signedIn: false)).AllowAnonymous().ExcludeFromDescription();
        app.MapPost(Root + "/login", LoginAsync).AllowAnonymous().ExcludeFromDescription();
        // Cast: a route handler whose IResult is written, not a RequestDelegate (it takes only the HttpContext).
        app.MapPost(Root + "/logout", (Delegate)LogoutAsync).AllowAnonymous().ExcludeFromDescription();

        var pages = app.MapGroup(Root).RequireAuthorization(CenterPolicies.Admin).ExcludeFromDescription();
        pages.MapGet("", OverviewAsync);
        pages.MapGet("/devices", DevicesAsync);
        pages.MapGet("/devices/{id}", DeviceAsync);
        pages.MapGet("/groups/{name}", GroupAsync);
        DashboardActions.Map(pages);
    }

    private static async Task<IResult> LoginAsync(HttpContext context, ICenterStore store)
    {
        var form = await DashboardForms.ReadFormAsync(context).ConfigureAwait(false);
        if (await DashboardForms.RefuseForgedAsync(context, form[DashboardForms.FieldName]).ConfigureAwait(false) is { } forged)
        {
            return forged;
        }

        var token = form["token"].ToString().Trim();
        if (!token.StartsWith(Secrets.AdminPrefix, StringComparison.Ordinal)
            || await store.FindAdminCredentialAsync(Secrets.Hash(token), context.RequestAborted).ConfigureAwait(false) is null)
        {
            return Page("Sign in", "<p class=\"bad\">That is not an admin credential.</p><p><a href=\"/dashboard/login\">Try again</a></p>", signedIn: false, status: 401);
        }

        context.Response.Cookies.Append(BearerAuthenticationHandler.DashboardCookie, token, new CookieOptions
        {
            HttpOnly = true,
            SameSite = SameSiteMode.Strict,
            Secure = context.Request.IsHttps,
            Path = Root,
            MaxAge = TimeSpan.FromHours(12),
        });
        return Results.Redirect(Root);
    }

    private static async Task<IResult> LogoutAsync(HttpContext context)
    {
        var form = await DashboardForms.ReadFormAsync(context).ConfigureAwait(false);
        if (await DashboardForms.RefuseForgedAsync(context, form[DashboardForms.FieldName]).ConfigureAwait(false) is { } forged)
        {
            return forged;
        }

        context.Response.Cookies.Delete(BearerAuthenticationHandler.DashboardCookie, new CookieOptions { Path = Root });
        return Results.Redirect(Root + "/login");
    }

    private static async Task<IResult> OverviewAsync(ICenterStore store, TimeProvider time, IOptions<CenterOptions> options, CancellationToken cancellationToken)
    {
        var minutes = options.Value.OutOfContactMinutes;
        var counts = await store.CountFleetAsync(time.GetUtcNow().AddMinutes(-minutes).ToUnixTimeMilliseconds(), cancellationToken).ConfigureAwait(false);
        var groups = await store.ListGroupsAsync(cancellationToken).ConfigureAwait(false);
        var tracks = await store.ListTracksAsync(cancellationToken).ConfigureAwait(false);
        var html = new StringBuilder();
        html.Append("<div class=\"cards\">");
        Card(html, "devices", counts.Devices, "/dashboard/devices");
        Card(html, $"out of contact (&gt; {minutes} min)", counts.OutOfContact, null);
        Card(html, "with rollbacks", counts.WithRollbacks, null);
        Card(html, "kills pending", counts.KillPending, null);
        html.Append("</div>");
        html.Append("<h2>By base version</h2>");
        Table(html, ["base version", "devices"], counts.ByBaseVersion.Select(c => new[] { E(c.Key), N(c.Count) }));
        html.Append("<h2>By health</h2>");
        Table(html, ["health", "devices"], counts.ByHealth.Select(c => new[] { E(c.Key), N(c.Count) }));
        html.Append("<h2>Groups</h2>");
        Table(html, ["group", "ring", "devices", ""], groups.Select(g => new[]
        {
            Link($"/dashboard/groups/{Uri.EscapeDataString(g.Name)}", g.Name), Ring(g.Ring), N(g.Members), Link($"/dashboard/assign/group/{Uri.EscapeDataString(g.Name)}", "assign"),
        }));
        html.Append($$"""
            <form method="post" action="/dashboard/groups" class="inline">{{DashboardForms.Field}}
              <label>New group <input name="name" required pattern="[a-z0-9][a-z0-9._\-]{0,63}"></label>
              <label><input type="checkbox" name="ring" value="pilot"> pilot</label>
              <button type="submit">Create group</button>
            </form>
            """);
        html.Append("<h2 id=\"content\">Published content</h2><p><a href=\"/dashboard/publish\">Publish a base image, patch or app</a></p>");
        Table(html, ["name", "kind", "current", "staged", ""], tracks.Select(t => new[]
        {
            E(t.Name), t.Kind == NxTop.Contracts.ContentKind.App ? "app" : "base", V(t.Current), V(t.Staged),
            t.Staged is { } staged
                ? $"<form method=\"post\" action=\"/dashboard/tracks/{E(Uri.EscapeDataString(t.Name))}/promote\" class=\"inline\">{DashboardForms.Field}<button type=\"submit\" name=\"promote\" value=\"{E(t.Name)}\">Promote {N(staged)} to current</button></form>"
                : "",
        }));
        return Page("Fleet", html.ToString());
    }

    private static async Task<IResult> DevicesAsync(string? group, ICenterStore store, TimeProvider time, CancellationToken cancellationToken)
    {
        var devices = await store.ListDevicesAsync(group, cancellationToken).ConfigureAwait(false);
        var html = new StringBuilder();
        html.Append(CultureInfo.InvariantCulture, $"<p>{devices.Count} device(s){(group is null ? "" : " in group " + E(group))}.</p>");
        Table(html, ["name", "group", "base", "health", "rollbacks", "last contact", "kill"], devices.Select(d => new[]
        {
            Link($"/dashboard/devices/{Uri.EscapeDataString(d.Id)}", d.Name),
            d.Group is null ? "" : Link($"/dashboard/groups/{Uri.EscapeDataString(d.Group)}", d.Group),
            E(d.BaseVersion ?? ""),
            E(d.Health ?? ""),
            N(d.Rollbacks),
            Ago(d.LastContact, time),
            d.KillDeliveredAt is not null ? "delivered" : d.KillRequestedAt is not null ? "pending" : "",
        }));
        return Page("Devices", html.ToString());
    }

    private static async Task<IResult> DeviceAsync(string id, ICenterStore store, TimeProvider time, CancellationToken cancellationToken)
    {
        var device = await store.GetDeviceAsync(id, cancellationToken).ConfigureAwait(false);
        if (device is null)
        {
            return Page("No such device", $"<p>No device {E(id)}.</p>", status: 404);
        }

        var history = await store.GetHistoryAsync(id, 200, cancellationToken).ConfigureAwait(false);
        var html = new StringBuilder();
        Table(html, ["", ""], new[]
        {
            new[] { "id", E(device.Id) },
            new[] { "group", device.Group is null ? "" : Link($"/dashboard/groups/{Uri.EscapeDataString(device.Group)}", device.Group) },
            new[] { "base version", E(device.BaseVersion ?? "") },
            new[] { "health", E(device.Health ?? "") },
            new[] { "rollbacks", N(device.Rollbacks) },
            new[] { "enrolled", Ago(device.EnrolledAt, time) },
            new[] { "last contact", Ago(device.LastContact, time) },
            new[] { "kill", device.KillDeliveredAt is not null ? "delivered" : device.KillRequestedAt is not null ? "pending" : "" },
            new[] { "desired generation", N(device.DesiredGeneration) },
        });
        var own = await store.GetAssignmentAsync(AssignmentTarget.Device, id, cancellationToken).ConfigureAwait(false);
        html.Append(CultureInfo.InvariantCulture, $"<p>Own assignment: {(own is null ? "none (the group's applies)" : E(own.BaseName) + (own.BaseVersion is { } pin ? " pinned to " + N(pin) : " following its track"))}. ");
        html.Append(Link($"/dashboard/assign/device/{Uri.EscapeDataString(device.Id)}", "Assign to this device")).Append("</p>");
        html.Append("<h2>History</h2>");
        Table(html, ["when", "event", "name", "version", "detail"], history.Select(h => new[]
        {
            E(DateTimeOffset.FromUnixTimeMilliseconds(h.At).ToString("u", CultureInfo.InvariantCulture)), E(h.Event), E(h.Name ?? ""), V(h.Version), E(h.Detail ?? ""),
        }));
        return Page(device.Name, html.ToString());
    }

    private static async Task<IResult> GroupAsync(string name, ICenterStore store, CancellationToken cancellationToken)
    {
        var group = await store.GetGroupAsync(name, cancellationToken).ConfigureAwait(false);
        if (group is null)
        {
            return Page("No such group", $"<p>No group {E(name)}.</p>", status: 404);
        }

        var assignment = await store.GetAssignmentAsync(AssignmentTarget.Group, name, cancellationToken).ConfigureAwait(false);
        var html = new StringBuilder();
        html.Append(CultureInfo.InvariantCulture, $"<p>Ring: {Ring(group.Ring)}. {Link($"/dashboard/devices?group={Uri.EscapeDataString(name)}", $"{group.Members} device(s)")}.</p>");
        if (assignment is null)
        {
            html.Append("<p>No assignment.</p>");
        }
        else
        {
            Table(html, ["", ""], new[]
            {
                new[] { "base", E(assignment.BaseName) + " " + (assignment.BaseVersion is { } v ? "pinned to " + N(v) : "follows its track") },
                new[] { "apps", E(string.Join(", ", assignment.Apps.Select(a => a.Version is { } av ? $"{a.Name}@{av}" : a.Name))) },
                new[] { "image mode", assignment.Policy.ImageMode == NxTop.Contracts.ImageMode.Custom ? "custom" : "shared" },
                new[] { "health-check deadline", N(assignment.Policy.HealthCheckDeadlineSeconds) + " s" },
                new[] { "lockout", assignment.Policy.LockoutDays == 0 ? "off" : N(assignment.Policy.LockoutDays) + " days, then " + E(assignment.Policy.LockoutAction.ToString()) },
            });
        }

        html.Append("<p>").Append(Link($"/dashboard/assign/group/{Uri.EscapeDataString(name)}", "Assign to this group")).Append("</p>");
        return Page("Group " + name, html.ToString());
    }

    private static void Card(StringBuilder html, string label, long value, string? href) =>
        html.Append(CultureInfo.InvariantCulture, $"<div class=\"card\"><div class=\"n\">{(href is null ? N(value) : Link(href, N(value)))}</div><div>{label}</div></div>");

    internal static void Table(StringBuilder html, string[] headers, IEnumerable<string[]> rows)
    {
        html.Append("<table><tr>");
        foreach (var header in headers)
        {
            html.Append("<th>").Append(E(header)).Append("</th>");
        }

        html.Append("</tr>");
        foreach (var row in rows)
        {
            html.Append("<tr>");
            foreach (var cell in row)
            {
                html.Append("<td>").Append(cell).Append("</td>");
            }

            html.Append("</tr>");
        }

        html.Append("</table>");
    }

    internal static string E(string text) => HtmlEncoder.Default.Encode(text);

    internal static string N(long value) => value.ToString("N0", CultureInfo.InvariantCulture);

    internal static string V(long? value) => value is { } v ? N(v) : "";

    private static string Ring(GroupRing ring) => ring == GroupRing.Pilot ? "pilot" : "general";

    private static string Link(string href, string text) => $"<a href=\"{E(href)}\">{E(text)}</a>";

    private static string Ago(long? at, TimeProvider time)
    {
        if (at is not { } ms)
        {
            return "never";
        }

        var age = time.GetUtcNow() - DateTimeOffset.FromUnixTimeMilliseconds(ms);
        var text = age.TotalMinutes < 1 ? "just now"
            : age.TotalHours < 1 ? $"{(int)age.TotalMinutes} min ago"
            : age.TotalDays < 1 ? $"{(int)age.TotalHours} h ago"
            : $"{(int)age.TotalDays} days ago";
        return E(text);
    }

    internal static IResult Page(string title, string body, bool signedIn = true, int status = 200) => new DashboardPage($$"""
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><title>{{E(title)}} · NxTop Center</title>
        <style>
          body { font: 14px system-ui, sans-serif; margin: 2em; color: #222; }
          table { border-collapse: collapse; margin: .5em 0 1.5em; } th, td { border-bottom: 1px solid #ddd; padding: .3em .8em; text-align: left; }
          .cards { display: flex; gap: 1em; } .card { border: 1px solid #ccc; border-radius: 6px; padding: .8em 1.2em; min-width: 9em; }
          .card .n { font-size: 2em; font-weight: 600; } .bad { color: #a00; } .ok { color: #060; } nav a { margin-right: 1em; }
          .form label { display: block; margin: .5em 0; } form.inline { display: inline; margin: 0 0 1em; } fieldset { margin: .5em 0; }
        </style></head>
        <body><nav><a href="/dashboard">Fleet</a><a href="/dashboard/devices">Devices</a><a href="/dashboard/publish">Publish</a>{{(signedIn ? "<form method=\"post\" action=\"/dashboard/logout\" style=\"display:inline\">" + DashboardForms.Field + "<button>Sign out</button></form>" : "")}}</nav>
        <h1>{{E(title)}}</h1>
        {{body}}
        </body></html>
        """, status);
}
