using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace NxTop.Agent;

/// <summary>Composes the agent's Generic Host; <c>run</c> and the in-process tests share it.</summary>
internal static class AgentHost
{
    /// <summary>
    /// A slim builder: no appsettings, environment or command-line configuration (the agent has its
    /// own strict file), console logging only. Under systemd, AddSystemd switches the console to
    /// the journal's format and sends READY=1/STOPPING=1 over NOTIFY_SOCKET for Type=notify.
    /// </summary>
    public static HostApplicationBuilder CreateBuilder(TimeProvider timeProvider)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings
        {
            ApplicationName = "nxtop-agent",
            ContentRootPath = "/",
        });
        builder.Logging.AddConsole();

        // The agent logs its own start and stop lines; drop the console lifetime's "Press Ctrl+C".
        builder.Services.Configure<ConsoleLifetimeOptions>(options => options.SuppressStatusMessages = true);
        builder.Services.AddSystemd();
        builder.Services.AddSingleton(timeProvider);
        return builder;
    }

    /// <summary>Adds the agent's services for a configuration that has been validated.</summary>
    public static void AddAgent(this IServiceCollection services, AgentConfig config, TimeProvider timeProvider)
    {
        services.AddSingleton(config);
        services.AddSingleton(new AgentInstance(AgentVersion.Short, Environment.ProcessId, timeProvider.GetUtcNow()));
        services.AddSingleton<ProcessRunner>();
        services.AddSingleton<XenProbeState>();
        services.AddSingleton<AgentStatusReporter>();

        // Hosted services start in this order: the state directory, then the first xl info probe,
        // then the control socket, so that the first status query already has the Xen facts.
        services.AddHostedService<StateDirectory>();
        services.AddHostedService<XenProbeService>();
        services.AddHostedService<ControlSocketServer>();
    }
}
