using System.Globalization;
using System.Text;
using System.Text.Json;

namespace NxTop.Agent;

/// <summary>
/// <c>nxtop-agent ctl status|versions|history|sync-now|rollback-now [--socket PATH] [--json]</c>, which
/// <c>nxtopctl</c> wraps. <c>status</c> exits 0 healthy / 1 unhealthy; the others 0 done / 1 refused;
/// all 2 when the agent cannot be reached.
/// </summary>
internal static class CtlCommand
{
    public const int ExitHealthy = 0;
    public const int ExitUnhealthy = 1;
    public const int ExitUnreachable = 2;

    public const string Usage = "usage: nxtop-agent ctl status|versions|history|verify|sync-now|rollback-now [--socket PATH] [--json]\n"
        + "       nxtop-agent ctl enroll --center URL --token TOKEN [--config PATH]";

    /// <summary>verify hashes the whole store; it may take minutes.</summary>
    public static readonly TimeSpan VerifyTimeout = TimeSpan.FromMinutes(30);

    private static readonly string[] Commands = ["status", "versions", "history", "verify", "sync-now", "rollback-now"];

    public static async Task<int> RunAsync(
        IReadOnlyList<string> args, TextWriter stdout, TextWriter stderr, TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        if (args.Count == 0 || args[0] is "-h" or "--help" or "help")
        {
            await (args.Count == 0 ? stderr : stdout).WriteLineAsync(Usage).ConfigureAwait(false);
            return args.Count == 0 ? AgentCli.ExitUsage : 0;
        }

        var command = args[0];
        if (command == "enroll")
        {
            return await EnrollAsync(args, stdout, stderr, timeProvider).ConfigureAwait(false);
        }

        if (!Commands.Contains(command))
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

        if (command != "status")
        {
            return await RunLifecycleCommandAsync(command, socketPath, json, stdout, stderr, timeProvider, cancellationToken).ConfigureAwait(false);
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

    /// <summary>
    /// <c>enroll --center URL --token TOKEN [--config PATH]</c>: writes <c>state/center.json</c> under the
    /// configuration's state directory and forgets the old credential; the agent enrolls at its next start. Local
    /// (root can write the state directory), so it works while the agent is stopped.
    /// </summary>
    private static async Task<int> EnrollAsync(IReadOnlyList<string> args, TextWriter stdout, TextWriter stderr, TimeProvider timeProvider)
    {
        string? center = null;
        string? token = null;
        var configPath = AgentConfig.DefaultPath;
        for (var i = 1; i < args.Count; i++)
        {
            switch (args[i])
            {
                case "--center" when i + 1 < args.Count:
                    center = args[++i];
                    break;
                case "--token" when i + 1 < args.Count:
                    token = args[++i];
                    break;
                case var _ when AgentCli.TryConfigOption(args, ref i, ref configPath):
                    break;
                default:
                    await stderr.WriteLineAsync($"nxtop-agent ctl enroll: unexpected argument '{args[i]}'\n{Usage}").ConfigureAwait(false);
                    return AgentCli.ExitUsage;
            }
        }

        if (center is null || token is null)
        {
            await stderr.WriteLineAsync($"nxtop-agent ctl enroll: --center and --token are required\n{Usage}").ConfigureAwait(false);
            return AgentCli.ExitUsage;
        }

        if (await AgentCli.LoadConfigAsync(configPath, stderr, "nxtop-agent ctl enroll").ConfigureAwait(false) is not { } config)
        {
            return ExitUnhealthy;
        }

        var errors = CenterEnrollment.Write(config, center, token, timeProvider.GetUtcNow());
        if (errors.Count > 0)
        {
            await stderr.WriteLineAsync($"nxtop-agent ctl enroll: {string.Join("; ", errors)}").ConfigureAwait(false);
            return ExitUnhealthy;
        }

        await stdout.WriteLineAsync(
            $"enrollment with {center} saved in {CenterEnrollment.PathFor(config.StateDirectory)}; the agent enrolls when it next starts (systemctl restart nxtop-agent)")
            .ConfigureAwait(false);
        return ExitHealthy;
    }

    private static async Task<int> RunLifecycleCommandAsync(
        string command, string socketPath, bool json, TextWriter stdout, TextWriter stderr, TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        string reply;
        try
        {
            var timeout = command == "verify" ? VerifyTimeout : ControlClient.DefaultTimeout;
            reply = await ControlClient.SendAsync(socketPath, command, timeout, timeProvider, cancellationToken).ConfigureAwait(false);
        }
        catch (ControlUnreachableException ex)
        {
            await stderr.WriteLineAsync($"nxtop-agent ctl: cannot reach the agent at {socketPath}: {ex.Message}").ConfigureAwait(false);
            return ExitUnreachable;
        }

        try
        {
            using var document = JsonDocument.Parse(reply);
            if (document.RootElement.ValueKind == JsonValueKind.Object && document.RootElement.TryGetProperty("error", out var error))
            {
                await stderr.WriteLineAsync($"nxtop-agent ctl {command}: {error.GetString()}").ConfigureAwait(false);
                return ExitUnhealthy;
            }

            if (json)
            {
                await stdout.WriteLineAsync(reply).ConfigureAwait(false);
            }
            else
            {
                await stdout.WriteLineAsync(FormatLifecycle(command, document.RootElement)).ConfigureAwait(false);
            }

            var refused = document.RootElement.ValueKind == JsonValueKind.Object
                && ((document.RootElement.TryGetProperty("accepted", out var accepted) && accepted.ValueKind == JsonValueKind.False)
                    || (document.RootElement.TryGetProperty("consistent", out var consistent) && consistent.ValueKind == JsonValueKind.False));
            return refused ? ExitUnhealthy : ExitHealthy;
        }
        catch (JsonException)
        {
            await stderr.WriteLineAsync($"nxtop-agent ctl: the agent's reply is not JSON: {Abbreviate(reply)}").ConfigureAwait(false);
            return ExitUnreachable;
        }
    }

    /// <summary>The human-readable form of the lifecycle replies.</summary>
    public static string FormatLifecycle(string command, JsonElement reply)
    {
        var text = new StringBuilder();
        void Line(string name, string value) =>
            text.Append(CultureInfo.InvariantCulture, $"{name + ":",-16}{value}\n");
        static string Ref(JsonElement element) =>
            element.ValueKind == JsonValueKind.Object
                ? $"{element.GetProperty("name").GetString()}/{element.GetProperty("version").GetInt64()}"
                : "none";

        switch (command)
        {
            case "versions":
                Line("base", Ref(reply.GetProperty("base")));
                Line("apps", string.Join(", ", reply.GetProperty("apps").EnumerateArray().Select(Ref)) is { Length: > 0 } apps ? apps : "none");
                Line("image mode", reply.GetProperty("imageMode").ValueKind == JsonValueKind.String ? reply.GetProperty("imageMode").GetString()! : "none");
                Line("last good", Ref(reply.GetProperty("lastKnownGood")));
                Line("previous", Ref(reply.GetProperty("previous")));
                Line("generation", reply.GetProperty("appliedGeneration").GetInt64().ToString(CultureInfo.InvariantCulture));
                if (reply.GetProperty("transaction") is { ValueKind: JsonValueKind.Object } transaction)
                {
                    Line("transaction", $"{transaction.GetProperty("id").GetString()} {transaction.GetProperty("phase").GetString()} to {Ref(transaction.GetProperty("to"))}");
                }

                foreach (var failed in reply.GetProperty("failed").EnumerateArray())
                {
                    Line("failed", $"{failed.GetProperty("name").GetString()}/{failed.GetProperty("version").GetInt64()} (generation {failed.GetProperty("generation").GetInt64()}): {failed.GetProperty("reason").GetString()}");
                }

                break;
            case "history":
                foreach (var entry in reply.EnumerateArray())
                {
                    var from = entry.GetProperty("fromVersion").ValueKind == JsonValueKind.Number ? $" (from {entry.GetProperty("fromVersion").GetInt64()})" : "";
                    text.Append(CultureInfo.InvariantCulture,
                        $"{Timestamp(entry.GetProperty("at").GetDateTimeOffset())}  {entry.GetProperty("event").GetString(),-10}  {entry.GetProperty("name").GetString()}/{entry.GetProperty("version").GetInt64()}{from}  {entry.GetProperty("reason").GetString()}\n");
                }

                if (text.Length == 0)
                {
                    text.Append("no history yet\n");
                }

                break;
            case "verify":
                Line("store", reply.GetProperty("consistent").GetBoolean() ? "consistent" : "INCONSISTENT");
                Line("blobs", reply.GetProperty("blobs").GetInt32().ToString(CultureInfo.InvariantCulture));
                foreach (var problem in reply.GetProperty("problems").EnumerateArray())
                {
                    Line("problem", problem.GetString()!);
                }

                foreach (var removed in reply.GetProperty("removedTemporaryFiles").EnumerateArray())
                {
                    Line("removed", removed.GetString()!);
                }

                break;
            default:
                text.Append(reply.GetProperty("message").GetString()).Append('\n');
                break;
        }

        return text.ToString().TrimEnd('\n');
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

        if (status.Lifecycle is { } life)
        {
            Line("device", life.DeviceId ?? "not enrolled");
            Line("running", life.Running ?? "nothing installed");
            Line("last good", life.LastKnownGood ?? "none");
            if (life.Transaction is not null)
            {
                Line("transaction", life.Transaction);
            }

            Line("center link", (life.CenterReachable ? "reachable" : "unreachable")
                + (life.LastContactAt is { } contact ? $", last contact {Timestamp(contact)}" : ", never contacted"));
            Line("lockout", life.LockedOut ? "LOCKED OUT" : life.LocksAt is { } at ? $"at {Timestamp(at)} without contact" : "off");
            if (life.LastError is not null)
            {
                Line("last error", life.LastError);
            }
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
