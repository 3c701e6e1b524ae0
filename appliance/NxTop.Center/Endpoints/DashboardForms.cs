using System.Text;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.AspNetCore.DataProtection.Repositories;
using Microsoft.Extensions.Options;
using NxTop.Center.Security;

namespace NxTop.Center.Endpoints;

/// <summary>
/// Anti-forgery tokens for the dashboard's forms (ASP.NET Core antiforgery, double-submit: an HttpOnly cookie
/// plus a hidden field bound to it and to the signed-in admin). Every form the dashboard renders carries
/// <see cref="Field"/>, which <see cref="DashboardPage"/> replaces with the hidden input; every dashboard POST
/// calls <see cref="RefuseForgedAsync"/> before it changes anything. The Origin check stays as a second layer.
/// </summary>
internal static class DashboardForms
{
    public const string CookieName = "nxtop_antiforgery";
    public const string FieldName = "__nxtop_antiforgery";

    // The validator reads the request token from this header only, never from the body itself: the publish
    // form is streamed section by section, and letting the validator read the form would buffer a whole image.
    // Each handler reads the hidden field itself and hands it over here.
    public const string HeaderName = "X-NxTop-Antiforgery";

    /// <summary>Where a form's hidden token goes. An HTML comment: it cannot come out of encoded text.</summary>
    public const string Field = "<!--nxtop:antiforgery-->";

    public const string KeysDirectoryName = "data-protection-keys";

    public static void AddDashboardAntiforgery(this IServiceCollection services)
    {
        // The keys that protect the tokens live in the data directory (0700), so a restart, or a second Center
        // on the same data directory, accepts the forms already open in a browser.
        services.AddDataProtection().SetApplicationName("nxtop-center");
        services.AddOptions<KeyManagementOptions>().Configure<IOptions<CenterOptions>, ILoggerFactory>((keys, center, loggers) =>
        {
            center.Value.EnsureDataDirectory();
            var directory = Path.Combine(center.Value.DataDirectory, KeysDirectoryName);
            if (!Directory.Exists(directory))
            {
                Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            }

            keys.XmlRepository = new FileSystemXmlRepository(new DirectoryInfo(directory), loggers);
        });
        services.AddAntiforgery(options =>
        {
            options.Cookie.Name = CookieName;
            options.Cookie.Path = BearerAuthenticationHandler.DashboardPath;
            options.Cookie.HttpOnly = true;
            options.Cookie.SameSite = SameSiteMode.Strict;
            options.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            options.FormFieldName = FieldName;
            options.HeaderName = HeaderName;
            options.SuppressReadingTokenFromFormBody = true;
        });
    }

    /// <summary>
    /// Null when <paramref name="token"/> (the form's hidden field) matches this browser's antiforgery cookie and
    /// the signed-in admin; else a 400 page with the reason.
    /// </summary>
    public static async Task<IResult?> RefuseForgedAsync(HttpContext context, string? token)
    {
        if (string.IsNullOrEmpty(token))
        {
            context.Request.Headers.Remove(HeaderName);
        }
        else
        {
            context.Request.Headers[HeaderName] = token;
        }

        try
        {
            await context.RequestServices.GetRequiredService<IAntiforgery>().ValidateRequestAsync(context).ConfigureAwait(false);
            return null;
        }
        catch (AntiforgeryValidationException e)
        {
            return DashboardActions.Problem($"This form's anti-forgery token is missing or does not belong to this browser's session ({e.Message}). Reload the page and send the form again.", 400);
        }
    }

    /// <summary>A posted form, or an empty one when the body is not a form at all (then the token is missing: 400, not 500).</summary>
    public static async Task<IFormCollection> ReadFormAsync(HttpContext context) =>
        context.Request.HasFormContentType ? await context.Request.ReadFormAsync(context.RequestAborted).ConfigureAwait(false) : FormCollection.Empty;

    /// <summary>The page with each form's <see cref="Field"/> replaced by the hidden token input (and its cookie set).</summary>
    public static string WithTokens(HttpContext context, string html)
    {
        if (!html.Contains(Field, StringComparison.Ordinal))
        {
            return html;
        }

        var tokens = context.RequestServices.GetRequiredService<IAntiforgery>().GetAndStoreTokens(context);
        var input = new StringBuilder("<input type=\"hidden\" name=\"").Append(Dashboard.E(tokens.FormFieldName))
            .Append("\" value=\"").Append(Dashboard.E(tokens.RequestToken ?? "")).Append("\">").ToString();
        return html.Replace(Field, input, StringComparison.Ordinal);
    }
}

/// <summary>A dashboard page: HTML whose forms get their anti-forgery token when it is sent.</summary>
internal sealed class DashboardPage(string html, int status) : IResult
{
    public Task ExecuteAsync(HttpContext httpContext) =>
        Results.Content(DashboardForms.WithTokens(httpContext, html), "text/html; charset=utf-8", Encoding.UTF8, status).ExecuteAsync(httpContext);
}
