using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;
using NxTop.Center.Content;
using NxTop.Center.Publishing;
using NxTop.Center.Storage;
using NxTop.Contracts;
using NxTop.Contracts.Center;

namespace NxTop.Center.Endpoints;

/// <summary>
/// The dashboard's write side: publish (upload a file and sign a new version), promote, create a
/// group, and assign a base, apps and a policy to a device or a group. Plain HTML forms, no script.
/// Each POST needs the admin cookie (SameSite=Strict), the form's anti-forgery token (<see cref="DashboardForms"/>)
/// and, when the browser sends an Origin, the Center's own origin: a foreign page cannot make the browser act here.
/// </summary>
internal static class DashboardActions
{
    private const int MaxFieldLength = 4096;

    public static void Map(RouteGroupBuilder pages)
    {
        pages.MapGet("/publish", PublishForm);
        pages.MapPost("/publish", PublishAsync);
        pages.MapPost("/tracks/{name}/promote", PromoteAsync);
        pages.MapPost("/groups", CreateGroupAsync);
        pages.MapGet("/assign/{target}/{id}", AssignFormAsync);
        pages.MapPost("/assign/{target}/{id}", AssignAsync);
    }

    // The token field comes first, so a browser sends it before the file: it is checked before any byte is stored.
    private static IResult PublishForm() => Dashboard.Page("Publish", $$"""
        <form method="post" action="/dashboard/publish" enctype="multipart/form-data" class="form">{{DashboardForms.Field}}
          <label>Kind <select name="kind"><option value="base">base image</option><option value="app">app layer</option></select></label>
          <label>Name <input name="name" required pattern="[a-z0-9][a-z0-9._\-]{0,63}" placeholder="desktop"></label>
          <label>Patch of version <input name="patchOf" type="number" min="1" placeholder="(a new chain)"> <small>a base patch: the file is a qcow2 delta on top of that version's chain; no file republishes that version's content</small></label>
          <label>Disk format <select name="mediaType"><option value="qcow2">qcow2</option><option value="raw">raw</option></select></label>
          <label>Channel <select name="channel"><option value="staged">staged (pilot groups first)</option><option value="current">current (everyone)</option><option value="none">none (pinned assignments only)</option></select></label>
          <label>File <input type="file" name="file"></label>
          <button type="submit">Upload and publish</button>
        </form>
        <p>The first version of a name is always current. The upload is hashed as it streams to disk; nothing is visible to devices until the signed manifest is published.</p>
        """);

    private static async Task<IResult> PublishAsync(HttpContext context, BlobStore blobs, Publisher publisher, IOptions<CenterOptions> options)
    {
        try
        {
            return await PublishStreamedAsync(context, blobs, publisher, options).ConfigureAwait(false);
        }
        catch (ContentLockTimeoutException busy)
        {
            return Problem(busy.Message, 503);
        }
    }

    private static async Task<IResult> PublishStreamedAsync(HttpContext context, BlobStore blobs, Publisher publisher, IOptions<CenterOptions> options)
    {
        if (ForeignOrigin(context) is { } foreign)
        {
            return foreign;
        }

        var limit = options.Value.MaxUploadBytes;
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } sizeFeature)
        {
            sizeFeature.MaxRequestBodySize = limit;
        }

        if (!MediaTypeHeaderValue.TryParse(context.Request.ContentType, out var contentType)
            || !contentType.MediaType.Equals("multipart/form-data", StringComparison.OrdinalIgnoreCase)
            || HeaderUtilities.RemoveQuotes(contentType.Boundary).Value is not { Length: > 0 } boundary)
        {
            return Problem("The form must be sent as multipart/form-data.", 400);
        }

        // Streamed section by section: a base image of many GiB never sits in memory or in a form buffer.
        var reader = new MultipartReader(boundary, context.Request.Body) { BodyLengthLimit = limit };
        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        BlobReceipt? receipt = null;
        var tokenChecked = false;
        MultipartSection? section;
        while ((section = await reader.ReadNextSectionAsync(context.RequestAborted).ConfigureAwait(false)) is not null)
        {
            if (!ContentDispositionHeaderValue.TryParse(section.ContentDisposition, out var disposition) || disposition.Name.Value is not { } field)
            {
                continue;
            }

            if (disposition.IsFileDisposition())
            {
                if (string.IsNullOrEmpty(disposition.FileName.Value) && string.IsNullOrEmpty(disposition.FileNameStar.Value))
                {
                    await section.Body.CopyToAsync(Stream.Null, context.RequestAborted).ConfigureAwait(false);
                    continue;
                }

                if (receipt is not null)
                {
                    return Problem("One file per publish.", 400);
                }

                // Nothing is stored for a forged form: its token must come before the file.
                if (await DashboardForms.RefuseForgedAsync(context, Field(fields, DashboardForms.FieldName)).ConfigureAwait(false) is { } forged)
                {
                    return forged;
                }

                tokenChecked = true;
                receipt = await blobs.ReceiveAsync(section.Body, null, limit, context.RequestAborted).ConfigureAwait(false);
                if (!receipt.IsStored)
                {
                    return Problem(receipt.Refusal!, 400);
                }
            }
            else
            {
                using var text = new StreamReader(section.Body, Encoding.UTF8);
                var buffer = new char[MaxFieldLength + 1];
                var length = await text.ReadBlockAsync(buffer, context.RequestAborted).ConfigureAwait(false);
                if (length > MaxFieldLength)
                {
                    return Problem($"The field '{field}' is too long.", 400);
                }

                fields[field] = new string(buffer, 0, length).Trim();
            }
        }

        if (!tokenChecked && await DashboardForms.RefuseForgedAsync(context, Field(fields, DashboardForms.FieldName)).ConfigureAwait(false) is { } forgedForm)
        {
            return forgedForm;
        }

        var kind = Field(fields, "kind") switch
        {
            "base" => ContentKind.Base,
            "app" => ContentKind.App,
            _ => (ContentKind?)null,
        };
        var channel = Field(fields, "channel") switch
        {
            null or "" or "staged" => PublishChannel.Staged,
            "current" => PublishChannel.Current,
            "none" => PublishChannel.None,
            _ => (PublishChannel?)null,
        };
        var mediaType = Field(fields, "mediaType") switch
        {
            null or "" => kind == ContentKind.App ? MediaTypes.Raw : MediaTypes.Qcow2,
            "qcow2" => MediaTypes.Qcow2,
            "raw" => MediaTypes.Raw,
            _ => null,
        };
        if (kind is null || channel is null || mediaType is null)
        {
            return Problem("Choose a kind (base or app), a channel (staged, current or none) and a disk format (qcow2 or raw).", 400);
        }

        long? patchOf = null;
        if (Field(fields, "patchOf") is { Length: > 0 } patchText)
        {
            if (!long.TryParse(patchText, NumberStyles.None, CultureInfo.InvariantCulture, out var version) || version < 1)
            {
                return Problem($"'{patchText}' is not a version number.", 400);
            }

            patchOf = version;
        }

        var name = Field(fields, "name") ?? "";
        var request = new PublishRequest(kind.Value, name, null,
            receipt is null ? [] : [new PublishBlob(receipt.Sha256!, BlobRole.Disk, mediaType)], patchOf, channel.Value, null);
        var outcome = await publisher.PublishAsync(request, context.RequestAborted).ConfigureAwait(false);
        if (outcome.Value is not { } published)
        {
            return Problem(outcome.Reason!, outcome.Status);
        }

        var html = new StringBuilder();
        html.Append(CultureInfo.InvariantCulture, $"<p class=\"ok\">Published {Dashboard.E(published.Name)} version {published.Version}, signed with key {Dashboard.E(published.KeyId)}.</p>");
        Dashboard.Table(html, ["blob", "size", "role"], published.Blobs.Select(b => new[] { "<code>" + b.Sha256 + "</code>", Dashboard.N(b.Size), Dashboard.E(b.Role.ToString()) }));
        html.Append("<p><a href=\"/dashboard\">Fleet</a> · <a href=\"/dashboard/publish\">Publish another</a></p>");
        return Dashboard.Page("Published", html.ToString(), status: 201);
    }

    private static async Task<IResult> PromoteAsync(string name, HttpContext context, Publisher publisher)
    {
        if (ForeignOrigin(context) is { } foreign)
        {
            return foreign;
        }

        var form = await DashboardForms.ReadFormAsync(context).ConfigureAwait(false);
        if (await DashboardForms.RefuseForgedAsync(context, form[DashboardForms.FieldName]).ConfigureAwait(false) is { } forged)
        {
            return forged;
        }

        var outcome = await publisher.PromoteAsync(name, context.RequestAborted).ConfigureAwait(false);
        return outcome.Value is null ? Problem(outcome.Reason!, outcome.Status) : Results.Redirect("/dashboard#content", permanent: false, preserveMethod: false);
    }

    private static async Task<IResult> CreateGroupAsync(HttpContext context, ICenterStore store)
    {
        if (ForeignOrigin(context) is { } foreign)
        {
            return foreign;
        }

        var form = await DashboardForms.ReadFormAsync(context).ConfigureAwait(false);
        if (await DashboardForms.RefuseForgedAsync(context, form[DashboardForms.FieldName]).ConfigureAwait(false) is { } forged)
        {
            return forged;
        }

        var name = form["name"].ToString().Trim();
        if (!ManifestRules.IsValidName(name))
        {
            return Problem($"A group name is [a-z0-9._-]{{1,64}}, not '{name}'.", 400);
        }

        var ring = form["ring"].ToString() == "pilot" ? GroupRing.Pilot : GroupRing.General;
        await store.PutGroupAsync(name, ring, context.RequestAborted).ConfigureAwait(false);
        return Results.Redirect($"/dashboard/groups/{Uri.EscapeDataString(name)}");
    }

    private static async Task<IResult> AssignFormAsync(string target, string id, ICenterStore store, CancellationToken cancellationToken)
    {
        if (await TargetAsync(target, id, store, cancellationToken).ConfigureAwait(false) is not { } kind)
        {
            return Dashboard.Page("Not found", $"<p>No {Dashboard.E(target)} {Dashboard.E(id)}.</p>", status: 404);
        }

        var tracks = await store.ListTracksAsync(cancellationToken).ConfigureAwait(false);
        var existing = await store.GetAssignmentAsync(kind, id, cancellationToken).ConfigureAwait(false);
        var policy = existing?.Policy ?? new DevicePolicy(ImageMode.Shared, 300, 0, LockoutAction.None);
        var html = new StringBuilder();
        var action = $"/dashboard/assign/{(kind == AssignmentTarget.Group ? "group" : "device")}/{Uri.EscapeDataString(id)}";
        html.Append(CultureInfo.InvariantCulture, $"<form method=\"post\" action=\"{Dashboard.E(action)}\" class=\"form\">{DashboardForms.Field}");
        html.Append("<label>Base image <select name=\"base\" required>");
        foreach (var track in tracks.Where(t => t.Kind == ContentKind.Base))
        {
            html.Append(CultureInfo.InvariantCulture, $"<option value=\"{Dashboard.E(track.Name)}\"{(existing?.BaseName == track.Name ? " selected" : "")}>{Dashboard.E(track.Name)} (current {Dashboard.V(track.Current)})</option>");
        }

        html.Append("</select></label>");
        html.Append(CultureInfo.InvariantCulture, $"<label>Pin base version <input name=\"baseVersion\" type=\"number\" min=\"1\" value=\"{Dashboard.V(existing?.BaseVersion)}\" placeholder=\"(follow the track)\"></label>");
        html.Append("<fieldset><legend>Apps</legend>");
        foreach (var track in tracks.Where(t => t.Kind == ContentKind.App))
        {
            var assigned = existing?.Apps.FirstOrDefault(a => a.Name == track.Name);
            html.Append(CultureInfo.InvariantCulture,
                $"<label><input type=\"checkbox\" name=\"app\" value=\"{Dashboard.E(track.Name)}\"{(assigned is null ? "" : " checked")}> {Dashboard.E(track.Name)}</label> ");
            html.Append(CultureInfo.InvariantCulture,
                $"<label>pin <input name=\"appVersion:{Dashboard.E(track.Name)}\" type=\"number\" min=\"1\" value=\"{Dashboard.V(assigned?.Version)}\" placeholder=\"(track)\" size=\"6\"></label><br>");
        }

        html.Append("</fieldset>");
        html.Append(CultureInfo.InvariantCulture, $"<label>Image mode <select name=\"mode\"><option value=\"shared\">shared</option><option value=\"custom\"{(policy.ImageMode == ImageMode.Custom ? " selected" : "")}>custom</option></select></label>");
        html.Append(CultureInfo.InvariantCulture, $"<label>Health-check deadline (s) <input name=\"deadline\" type=\"number\" min=\"10\" max=\"86400\" value=\"{policy.HealthCheckDeadlineSeconds}\"></label>");
        html.Append(CultureInfo.InvariantCulture, $"<label>Lockout after days without contact <input name=\"lockoutDays\" type=\"number\" min=\"0\" max=\"3650\" value=\"{policy.LockoutDays}\"> <small>0: never</small></label>");
        html.Append("<label>Then <select name=\"lockoutAction\">");
        foreach (var (value, text) in new[] { ("none", "only report"), ("stopGuest", "stop the guest"), ("pauseGuest", "pause the guest") })
        {
            var selected = LockoutActionOf(value) == policy.LockoutAction ? " selected" : "";
            html.Append(CultureInfo.InvariantCulture, $"<option value=\"{value}\"{selected}>{text}</option>");
        }

        html.Append("</select></label><button type=\"submit\">Assign</button></form>");
        if (kind == AssignmentTarget.Device)
        {
            html.Append("<p>A device's own assignment wins over its group's.</p>");
        }

        return Dashboard.Page($"Assign to {(kind == AssignmentTarget.Group ? "group" : "device")} {id}", html.ToString());
    }

    private static async Task<IResult> AssignAsync(string target, string id, HttpContext context, ICenterStore store, TimeProvider time)
    {
        if (ForeignOrigin(context) is { } foreign)
        {
            return foreign;
        }

        var cancellationToken = context.RequestAborted;
        var form = await DashboardForms.ReadFormAsync(context).ConfigureAwait(false);
        if (await DashboardForms.RefuseForgedAsync(context, form[DashboardForms.FieldName]).ConfigureAwait(false) is { } forged)
        {
            return forged;
        }

        if (await TargetAsync(target, id, store, cancellationToken).ConfigureAwait(false) is not { } kind)
        {
            return Problem($"No {target} '{id}'.", 404);
        }

        if (!TryNumber(form["baseVersion"], out var baseVersion) || !TryNumber(form["deadline"], out var deadline) || !TryNumber(form["lockoutDays"], out var lockoutDays)
            || deadline is null || lockoutDays is null)
        {
            return Problem("The versions, the deadline and the lockout days must be whole numbers.", 400);
        }

        var apps = new List<AppAssignment>();
        foreach (var app in form["app"].Select(a => a ?? "").Where(a => a.Length > 0))
        {
            if (!TryNumber(form["appVersion:" + app], out var appVersion))
            {
                return Problem($"The version of {app} must be a whole number.", 400);
            }

            apps.Add(new AppAssignment(app, appVersion));
        }

        var mode = form["mode"].ToString() == "custom" ? ImageMode.Custom : ImageMode.Shared;
        var policy = new DevicePolicy(mode, (int)Math.Clamp(deadline.Value, int.MinValue, int.MaxValue), (int)Math.Clamp(lockoutDays.Value, int.MinValue, int.MaxValue),
            LockoutActionOf(form["lockoutAction"].ToString()));
        var request = new AssignmentRequest(form["base"].ToString(), baseVersion, apps, policy);
        if (await AdminEndpoints.CheckAssignmentAsync(request, store, cancellationToken).ConfigureAwait(false) is { } reason)
        {
            return Problem(reason, 400);
        }

        await store.PutAssignmentAsync(new Assignment(kind, id, request.BaseName, request.BaseVersion, request.Apps, request.Policy, time.GetUtcNow().ToUnixTimeMilliseconds()),
            cancellationToken).ConfigureAwait(false);
        return Results.Redirect(kind == AssignmentTarget.Group ? $"/dashboard/groups/{Uri.EscapeDataString(id)}" : $"/dashboard/devices/{Uri.EscapeDataString(id)}");
    }

    private static async Task<AssignmentTarget?> TargetAsync(string target, string id, ICenterStore store, CancellationToken cancellationToken) => target switch
    {
        "group" when await store.GetGroupAsync(id, cancellationToken).ConfigureAwait(false) is not null => AssignmentTarget.Group,
        "device" when await store.GetDeviceAsync(id, cancellationToken).ConfigureAwait(false) is not null => AssignmentTarget.Device,
        _ => null,
    };

    private static LockoutAction LockoutActionOf(string value) => value switch
    {
        "stopGuest" => LockoutAction.StopGuest,
        "pauseGuest" => LockoutAction.PauseGuest,
        _ => LockoutAction.None,
    };

    private static bool TryNumber(string? text, out long? value)
    {
        value = null;
        if (string.IsNullOrWhiteSpace(text))
        {
            return true;
        }

        if (long.TryParse(text.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var parsed))
        {
            value = parsed;
            return true;
        }

        return false;
    }

    private static string? Field(Dictionary<string, string> fields, string name) => fields.TryGetValue(name, out var value) ? value : null;

    /// <summary>A 403 when the browser says the form came from another origin.</summary>
    private static IResult? ForeignOrigin(HttpContext context)
    {
        var origin = context.Request.Headers.Origin.ToString();
        if (string.IsNullOrEmpty(origin))
        {
            return null;
        }

        var own = $"{context.Request.Scheme}://{context.Request.Host}";
        return string.Equals(origin, own, StringComparison.OrdinalIgnoreCase) ? null : Problem("This form was sent from another site.", 403);
    }

    internal static IResult Problem(string reason, int status) =>
        Dashboard.Page("Not done", $"<p class=\"bad\">{Dashboard.E(reason)}</p><p><a href=\"javascript:history.back()\">Back</a> · <a href=\"/dashboard\">Fleet</a></p>", status: status);
}
