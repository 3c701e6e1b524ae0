using System.Globalization;
using System.Text;
using System.Text.Json;

namespace NxTop.Agent;

/// <summary><c>nxtop-agent ctl status [--socket PATH] [--json]</c>, which <c>nxtopctl</c> wraps.</summary>
internal static class CtlCommand
{
    public const int ExitHealthy = 0;
    public const int ExitUnhealthy = 1;
    public const int ExitUnreachable = 2;

    public const string Usage = "usage: nxtop-agent ctl status [--socket PATH] [--json]";

    public static async Task<int> RunAsync(
        IReadOnlyList<string> args, TextWriter stdout, TextWriter stderr, TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        if (args.Count == 0 || args[0] is "-h" or "--help" or "help")
        {
            await (args.Count == 0 ? stderr : stdout).WriteLineAsync(Usage).ConfigureAwait(false);
            return args.Count == 0 ? AgentCli.ExitUsage : 0;
        }

        if (args[0] != "status")
        {
            await stderr.WriteLineAsync($"nxtop-agent ctl: unknown command '{args[0]}'\n{Usage}").ConfigureAwait(false);
            return AgentCli.ExitUsage;
        }

        var socketPath = AgentConfig.DefaultSocketPath;
        var json = false;
        for (var i = 1; i < args.Count; i++)
        {
            switch (args[i])
            {
                case "--json":
                    json = true;
                    break;
                case "--socket" when i + 1 < args.Count:
                    socketPath = args[++i];
                    break;
                case var arg when arg.StartsWith("--socket=", StringComparison.Ordinal):
                    socketPath = arg["--socket=".Length..];
                    break;
                default:
                    await stderr.WriteLineAsync($"nxtop-agent ctl: unexpected argument '{args[i]}'\n{Usage}").ConfigureAwait(false);
                    return AgentCli.ExitUsage;
            }
        }

        string reply;
        AgentStatus status;
        try
        {
            reply = await ControlClient.SendAsync(socketPath, "status", ControlClient.DefaultTimeout, timeProvider, cancellationToken)
                .ConfigureAwait(false);
            status = ParseStatus(reply);
        }
        catch (ControlUnreachableException ex)
        {
            await stderr.WriteLineAsync($"nxtop-agent ctl: cannot reach the agent at {socketPath}: {ex.Message}").ConfigureAwait(false);
            return ExitUnreachable;
        }

        await stdout.WriteLineAsync(json ? reply : Format(status)).ConfigureAwait(false);
        return status.Healthy ? ExitHealthy : ExitUnhealthy;
    }

    private static AgentStatus ParseStatus(string reply)
    {
        try
        {
            return JsonSerializer.Deserialize(reply, AgentJson.Context.AgentStatus)
                ?? throw new ControlUnreachableException("the agent replied null");
        }
        catch (JsonException)
        {
            throw new ControlUnreachableException($"the agent's reply is not a status: {Abbreviate(reply)}");
        }
    }

    /// <summary>The human-readable status: one "name: value" line each.</summary>
    public static string Format(AgentStatus status)
    {
        var text = new StringBuilder();
        void Line(string name, string value) =>
            text.Append(CultureInfo.InvariantCulture, $"{name + ":",-16}{value}\n");

        Line("health", status.Healthy ? "healthy" : $"UNHEALTHY: {status.Reason}");
        Line("agent", $"nxtop-agent {status.AgentVersion}, pid {status.Pid}");
        Line("started", $"{Timestamp(status.StartedAt)} (up {Duration(status.UptimeSeconds)})");
        Line("center", status.CenterUrl);
        Line("poll interval", $"{status.PollIntervalSeconds} s");
        if (status.Xen is { } xen)
        {
            Line("xen", $"{xen.XenVersion} ({xen.XenMajor}.{xen.XenMinor})");
            Line("memory", $"{xen.FreeMemoryMiB} MiB free of {xen.TotalMemoryMiB} MiB");
            Line("cpus", xen.NrCpus.ToString(CultureInfo.InvariantCulture));
            Line("virt caps", xen.VirtCaps);
            Line("xen cmdline", xen.XenCommandline);
            Line("probed", Timestamp(xen.ProbedAt));
        }
        else
        {
            Line("xen", "unknown (xl info has not succeeded)");
        }

        return text.ToString().TrimEnd('\n');
    }

    private static string Timestamp(DateTimeOffset at) =>
        at.ToUniversalTime().ToString("yyyy-MM-dd HH:mm:ss 'UTC'", CultureInfo.InvariantCulture);

    private static string Duration(double seconds)
    {
        var span = TimeSpan.FromSeconds(Math.Floor(seconds));
        return span.TotalDays >= 1
            ? string.Create(CultureInfo.InvariantCulture, $"{(int)span.TotalDays}d {span.Hours}h {span.Minutes}m")
            : span.TotalHours >= 1
                ? string.Create(CultureInfo.InvariantCulture, $"{span.Hours}h {span.Minutes}m {span.Seconds}s")
                : string.Create(CultureInfo.InvariantCulture, $"{span.Minutes}m {span.Seconds}s");
    }

    private static string Abbreviate(string text) => text.Length <= 200 ? text : text[..200] + "...";
}
