using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using NxTop.Center.Content;
using NxTop.Center.Endpoints;
using NxTop.Center.Fleet;
using NxTop.Center.Publishing;
using NxTop.Center.Security;
using NxTop.Center.Storage;

namespace NxTop.Center;

/// <summary>Wires the Center: storage chosen by connection string, content store, publisher key, auth, endpoints.</summary>
public static class CenterApp
{
    public static WebApplication Build(string[] args)
    {
        var builder = WebApplication.CreateBuilder(args);
        AddCenter(builder.Services, builder.Configuration);
        var app = builder.Build();
        UseCenter(app);
        return app;
    }

    public static void AddCenter(IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<CenterOptions>().Bind(configuration.GetSection(CenterOptions.Section))
            .Validate(o => o.MaxUploadBytes > 0 && o.EnrollmentPermitsPerMinute > 0 && o.OutOfContactMinutes > 0 && o.ContentLockWaitSeconds > 0, "Center limits must be positive")
            .ValidateOnStart();
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<ICenterStore>(sp =>
        {
            var options = sp.GetRequiredService<IOptions<CenterOptions>>().Value;
            options.EnsureDataDirectory();
            return StoreFactory.Create(options.ResolvedConnectionString, sp.GetRequiredService<TimeProvider>());
        });
        services.AddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<CenterOptions>>().Value;
            options.EnsureDataDirectory();
            return new BlobStore(options.ResolvedContentDirectory, sp.GetRequiredService<TimeProvider>(), TimeSpan.FromSeconds(options.ContentLockWaitSeconds));
        });
        services.AddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<CenterOptions>>().Value;
            options.EnsureDataDirectory();
            return PublisherKey.LoadOrCreate(options.ResolvedPublisherKeyPath);
        });
        services.AddSingleton<Publisher>();
        services.AddSingleton<DesiredStateResolver>();
        services.AddSingleton<ContactRecorder>();
        services.AddSingleton<RequestTimings>();
        services.AddHostedService<CenterStartup>();
        services.AddSingleton<ContactFlusher>();
        services.AddHostedService(sp => sp.GetRequiredService<ContactFlusher>());

        services.AddAuthentication(BearerAuthenticationHandler.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, BearerAuthenticationHandler>(BearerAuthenticationHandler.SchemeName, null);
        services.AddAuthorizationBuilder()
            .AddPolicy(CenterPolicies.Admin, p => p.RequireRole(BearerAuthenticationHandler.AdminRole))
            .AddPolicy(CenterPolicies.Device, p => p.RequireRole(BearerAuthenticationHandler.DeviceRole))
            .AddPolicy(CenterPolicies.DeviceOrAdmin, p => p.RequireRole(BearerAuthenticationHandler.DeviceRole, BearerAuthenticationHandler.AdminRole));

        services.AddRateLimiter(limiter =>
        {
            limiter.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            limiter.AddPolicy(AgentEndpoints.EnrollmentRateLimit, context =>
            {
                var permits = context.RequestServices.GetRequiredService<IOptions<CenterOptions>>().Value.EnrollmentPermitsPerMinute;
                return RateLimitPartition.GetFixedWindowLimiter(
                    context.Connection.RemoteIpAddress?.ToString() ?? "unknown",
                    _ => new FixedWindowRateLimiterOptions { PermitLimit = permits, Window = TimeSpan.FromMinutes(1), QueueLimit = 0 });
            });
        });

        services.AddDashboardAntiforgery();
        services.AddProblemDetails();
        services.AddExceptionHandler<BadRequestExceptionHandler>();
        services.AddExceptionHandler<ContentBusyExceptionHandler>();
        services.AddOpenApi();
    }

    public static void UseCenter(WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.Use(RequestTimings.MiddlewareAsync);
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseAuthentication();
        app.UseAuthorization();
        app.UseRateLimiter();

        app.MapOpenApi();
        app.MapGet("/healthz", () => Results.Text("ok")).AllowAnonymous().ExcludeFromDescription();
        AgentEndpoints.Map(app);
        ContentEndpoints.Map(app);
        AdminEndpoints.Map(app);
        Dashboard.Map(app);
    }
}

/// <summary>
/// The content store stayed locked by another process (a Center or a collection on the same content directory)
/// for longer than the lock wait: 503 with the lock file named, and nothing changed. It is not a bug.
/// </summary>
internal sealed class ContentBusyExceptionHandler(IProblemDetailsService problems) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (exception is not ContentLockTimeoutException busy)
        {
            return false;
        }

        httpContext.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
        httpContext.Response.Headers.RetryAfter = "5";
        return await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = httpContext,
            Exception = exception,
            ProblemDetails = { Status = StatusCodes.Status503ServiceUnavailable, Title = "The content store is busy", Detail = busy.Message },
        }).ConfigureAwait(false);
    }
}

/// <summary>A request the server could not read (too large, cut off, bad framing) is the client's fault: its status, not a 500.</summary>
internal sealed class BadRequestExceptionHandler(IProblemDetailsService problems) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (exception is not BadHttpRequestException bad)
        {
            return false;
        }

        httpContext.Response.StatusCode = bad.StatusCode;
        return await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = httpContext,
            Exception = exception,
            ProblemDetails = { Status = bad.StatusCode, Title = "Bad request", Detail = bad.Message },
        }).ConfigureAwait(false);
    }
}
