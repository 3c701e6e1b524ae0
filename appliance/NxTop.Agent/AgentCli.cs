using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace NxTop.Agent;

/// <summary>
/// The command line: <c>run [--config PATH]</c>, <c>ctl status [--socket PATH] [--json]</c>,
/// <c>stop-guest [--config PATH] [--grace SECONDS]</c>, <c>--version</c>. Exit codes: 0 success, 1 the agent failed (bad configuration, could not start),
/// 64 (EX_USAGE) a bad command line; <c>ctl</c> has its own 0/1/2.
/// </summary>
internal static partial class AgentCli
{
    public const int ExitSuccess = 0;
    public const int ExitFailure = 1;
    public const int ExitUsage = 64;

    public const string Usage = """
        usage: nxtop-agent run [--config PATH]                  run the agent (default config /etc/nxtop/agent.json)
               nxtop-agent ctl status [--socket PATH] [--json]  ask the running agent for its status
               nxtop-agent ctl versions|history|verify [--json] installed versions / patch history / check the store
               nxtop-agent ctl sync-now|rollback-now           sync with the Center now / roll back to the previous version
               nxtop-agent ctl enroll --center URL --token TOKEN [--config PATH]
                                                                enroll with this Center at the agent's next start
               nxtop-agent stop-guest [--config PATH] [--grace SECONDS]
                                                                shut the desktop guest down (grace 60 s, then destroy)
               nxtop-agent --version                            print the version
        """;

    public static Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr) =>
        RunAsync(args, stdout, stderr, TimeProvider.System, CancellationToken.None);

    public static async Task<int> RunAsync(
        IReadOnlyList<string> args, TextWriter stdout, TextWriter stderr, TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        var rest = args.Skip(1).ToArray();
        switch (args.Count == 0 ? null : args[0])
        {
            case "--version" or "version" when rest.Length == 0:
                await stdout.WriteLineAsync(AgentVersion.Short).ConfigureAwait(false);
                return ExitSuccess;
            case "-h" or "--help" or "help":
                await stdout.WriteLineAsync(Usage).ConfigureAwait(false);
                return ExitSuccess;
            case "run":
                return await RunAgentAsync(rest, stderr, timeProvider, cancellationToken).ConfigureAwait(false);
            case "stop-guest":
                return await GuestStopCommand.RunAsync(rest, stdout, stderr, timeProvider, cancellationToken).ConfigureAwait(false);
            case "ctl":
                return await CtlCommand.RunAsync(rest, stdout, stderr, timeProvider, cancellationToken).ConfigureAwait(false);
            case null:
                await stderr.WriteLineAsync(Usage).ConfigureAwait(false);
                return ExitUsage;
            default:
                await stderr.WriteLineAsync($"nxtop-agent: unknown command '{string.Join(' ', args)}'\n{Usage}").ConfigureAwait(false);
                return ExitUsage;
        }
    }

    /// <summary>
    /// <c>--config PATH</c> or <c>--config=PATH</c> at <paramref name="i"/> (which moves past a separate value); false
    /// for any other argument. Shared by every command that reads the configuration.
    /// </summary>
    internal static bool TryConfigOption(IReadOnlyList<string> args, ref int i, ref string configPath)
    {
        if (args[i] == "--config" && i + 1 < args.Count)
        {
            configPath = args[++i];
            return true;
        }

        if (args[i].StartsWith("--config=", StringComparison.Ordinal))
        {
            configPath = args[i]["--config=".Length..];
            return true;
        }

        return false;
    }

    /// <summary>The configuration, or null after writing "<paramref name="command"/>: FILE: FIELD: problem" to stderr.</summary>
    internal static async Task<AgentConfig?> LoadConfigAsync(string configPath, TextWriter stderr, string command)
    {
        try
        {
            return AgentConfigFile.Load(configPath);
        }
        catch (AgentConfigException ex)
        {
            await stderr.WriteLineAsync($"{command}: {ex.Message}").ConfigureAwait(false);
            return null;
        }
    }

    /// <summary>Runs the agent until the host is stopped (SIGTERM, or <paramref name="cancellationToken"/>).</summary>
    public static async Task<int> RunAgentAsync(
        IReadOnlyList<string> args, TextWriter stderr, TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        var configPath = AgentConfig.DefaultPath;
        for (var i = 0; i < args.Count; i++)
        {
            if (!TryConfigOption(args, ref i, ref configPath))
            {
                await stderr.WriteLineAsync($"nxtop-agent run: unexpected argument '{args[i]}'\n{Usage}").ConfigureAwait(false);
                return ExitUsage;
            }
        }

        // The host is built even for a bad configuration so that the error goes out through the
        // same logger (systemd format, journal) as everything else.
        var builder = AgentHost.CreateBuilder(timeProvider);
        AgentConfig? config = null;
        AgentConfigException? configError = null;
        try
        {
            // nxtopctl enroll's Center and token (state/center.json on the data partition) win over the file's.
            config = CenterEnrollment.Apply(AgentConfigFile.Load(configPath));
            builder.Services.AddAgent(config, timeProvider);
        }
        catch (AgentConfigException ex)
        {
            configError = ex;
        }

        using var host = builder.Build();
        var logger = host.Services.GetRequiredService<ILoggerFactory>().CreateLogger("NxTop.Agent");
        if (config is null)
        {
            foreach (var error in configError!.Errors)
            {
                LogInvalidConfig(logger, configError.ConfigPath, error);
            }

            return ExitFailure;
        }

        LogStarting(logger, AgentVersion.Short, AgentVersion.Full, Environment.ProcessId, configPath, config.CenterUrl);
        try
        {
            // Not RunAsync: it disposes the host, and the services are inspected below.
            await host.StartAsync(cancellationToken).ConfigureAwait(false);
            LogReady(logger, config.SocketPath);
            await host.WaitForShutdownAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogFailed(logger, ex.Message);
            return ExitFailure;
        }

        // A background service that faulted has stopped the host; systemd should see a failure.
        var faulted = host.Services.GetServices<IHostedService>()
            .OfType<BackgroundService>()
            .Any(service => service.ExecuteTask is { IsFaulted: true });
        LogStopped(logger, faulted ? ExitFailure : ExitSuccess);
        return faulted ? ExitFailure : ExitSuccess;
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Information,
        Message = "nxtop-agent {Version} ({InformationalVersion}) starting, pid {Pid}, config {ConfigPath}, center {CenterUrl}")]
    private static partial void LogStarting(ILogger logger, string version, string informationalVersion, int pid, string configPath, string centerUrl);

    [LoggerMessage(EventId = 2, Level = LogLevel.Critical, Message = "Invalid configuration {ConfigPath}: {Error}")]
    private static partial void LogInvalidConfig(ILogger logger, string configPath, string error);

    [LoggerMessage(EventId = 3, Level = LogLevel.Critical, Message = "nxtop-agent failed: {Reason}")]
    private static partial void LogFailed(ILogger logger, string reason);

    [LoggerMessage(EventId = 5, Level = LogLevel.Information, Message = "nxtop-agent ready, control socket {SocketPath}")]
    private static partial void LogReady(ILogger logger, string socketPath);

    [LoggerMessage(EventId = 4, Level = LogLevel.Information, Message = "nxtop-agent stopped, exit code {ExitCode}")]
    private static partial void LogStopped(ILogger logger, int exitCode);
}
