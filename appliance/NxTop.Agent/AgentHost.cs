using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using NxTop.Agent.Inventory;
using NxTop.Agent.Lifecycle;
using NxTop.Agent.Storage;
using NxTop.Agent.Sync;
using NxTop.Contracts;

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
        services.AddLifecycle(config);
        services.AddSingleton(provider => new AgentStatusReporter(
            config,
            provider.GetRequiredService<AgentInstance>(),
            provider.GetRequiredService<XenProbeState>(),
            timeProvider,
            provider.GetRequiredService<ControlCommands>().Status));

        // Hosted services start in this order: the state directory, then the first xl info probe,
        // then the control socket, so that the first status query already has the Xen facts; the
        // sync loop (recovery first) starts last.
        services.AddHostedService<StateDirectory>();
        services.AddHostedService<XenProbeService>();
        services.AddHostedService<ControlSocketServer>();
        services.AddHostedService<SyncService>();
    }

    /// <summary>The content store, the patch engine, the Center client and the sync loop.</summary>
    private static void AddLifecycle(this IServiceCollection services, AgentConfig config)
    {
        var layout = new StoreLayout(config.StateDirectory);
        services.AddSingleton(layout);
        services.AddSingleton(new ContentStore(layout, config.MaxBlobBytes));
        services.AddSingleton(provider => ManifestVerifier.FromPublicKeyPems(TrustedKeys.Load(config.TrustedKeysDirectory)));
        services.AddSingleton(new GuestSettings(config.GuestName, config.GuestMemoryMiB, config.GuestVcpus, config.GuestBridge,
            config.GuestKernel, config.GuestExtra, MacSeed: config.CenterUrl));
        services.AddSingleton(provider => new QemuImg(provider.GetRequiredService<ProcessRunner>(), config.QemuImgPath));
        services.AddSingleton<GuestLayering>();
        services.AddSingleton<IGuestController>(provider => new XlGuestController(provider.GetRequiredService<ProcessRunner>(), config.XlPath, scopeRunPath: config.GuestScopeRunPath));
        services.AddSingleton<IGuestHealthProbe>(provider => new XenstoreHealthProbe(
            provider.GetRequiredService<ProcessRunner>(), provider.GetRequiredService<IGuestController>(), config.XenstoreReadPath,
            provider.GetRequiredService<TimeProvider>(), config.GuestConsoleLogDirectory));
        services.AddSingleton<LifecycleStateStore>();
        services.AddSingleton<HistoryLog>();
        services.AddSingleton<DisconnectedState>();
        services.AddSingleton(new ReportOutbox(layout));
        services.AddSingleton(new HttpClient(CenterHttp.CreateHandler(config.CenterCaFile))
        {
            Timeout = Timeout.InfiniteTimeSpan,
        });
        services.AddSingleton(provider => new CenterClient(provider.GetRequiredService<HttpClient>(), new Uri(config.CenterUrl)));
        services.AddSingleton(provider => new BlobDownloader(
            provider.GetRequiredService<HttpClient>(), provider.GetRequiredService<ContentStore>(), RetryPolicy.Default,
            provider.GetRequiredService<TimeProvider>(), provider.GetRequiredService<ILogger<BlobDownloader>>()));
        services.AddSingleton<IContentFetcher, CenterContentFetcher>();
        services.AddSingleton<ContentStager>();
        services.AddSingleton(provider =>
        {
            var engine = ActivatorUtilities.CreateInstance<LifecycleEngine>(provider);
            engine.Step = StepHold.Create(
                Environment.GetEnvironmentVariable(StepHold.Variable), provider.GetRequiredService<ILogger<LifecycleEngine>>(), StepHold.Forever);
            return engine;
        });
        services.AddSingleton(provider => new InventoryCollector(config.InventoryRoot, provider.GetRequiredService<XenProbeState>()));
        services.AddSingleton<SyncTrigger>();
        services.AddSingleton<SyncAgent>();
        services.AddSingleton<ControlCommands>();
    }
}
