using System.Diagnostics;
using System.Globalization;
using NxTop.Agent.Lifecycle;
using NxTop.Contracts;

namespace NxTop.Agent;

/// <summary>
/// <c>nxtop-agent stop-guest [--config PATH] [--grace SECONDS]</c>: shuts the desktop guest down cleanly within the
/// grace, then destroys it, and returns once its domain is gone. It is the <c>ExecStop</c> of
/// <c>nxtop-guest-stop.service</c>, which dom0 stops after the agent and before xen, so a reboot or
/// power-off gives the guest its clean shutdown; a stop or restart of the agent alone leaves the guest running.
/// Exit codes: 0 stopped (or not running), 1 the guest could not be stopped or the configuration is bad, 64 usage.
/// </summary>
internal static class GuestStopCommand
{
    public const int MaxGraceSeconds = 3600;

    public static async Task<int> RunAsync(
        IReadOnlyList<string> args, TextWriter stdout, TextWriter stderr, TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        var configPath = AgentConfig.DefaultPath;
        var grace = LifecycleEngine.StopGrace;
        for (var i = 0; i < args.Count; i++)
        {
            switch (args[i])
            {
                case var _ when AgentCli.TryConfigOption(args, ref i, ref configPath):
                    break;
                case "--grace" when i + 1 < args.Count:
                    var text = args[++i];
                    if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds) || seconds > MaxGraceSeconds)
                    {
                        await stderr.WriteLineAsync($"nxtop-agent stop-guest: --grace must be a whole number of seconds from 0 to {MaxGraceSeconds}, got '{text}'").ConfigureAwait(false);
                        return AgentCli.ExitUsage;
                    }

                    grace = TimeSpan.FromSeconds(seconds);
                    break;
                default:
                    await stderr.WriteLineAsync($"nxtop-agent stop-guest: unexpected argument '{args[i]}'\n{AgentCli.Usage}").ConfigureAwait(false);
                    return AgentCli.ExitUsage;
            }
        }

        if (await AgentCli.LoadConfigAsync(configPath, stderr, "nxtop-agent stop-guest").ConfigureAwait(false) is not { } config)
        {
            return AgentCli.ExitFailure;
        }

        var xl = new XlGuestController(new ProcessRunner(timeProvider), config.XlPath);
        var name = config.GuestName;
        try
        {
            var before = await xl.GetAsync(name, cancellationToken).ConfigureAwait(false);
            if (before.State == GuestState.Absent)
            {
                await stdout.WriteLineAsync($"nxtop-agent stop-guest: guest {name} is not running").ConfigureAwait(false);
                return AgentCli.ExitSuccess;
            }

            var started = Stopwatch.GetTimestamp();
            await xl.StopAsync(name, grace, cancellationToken).ConfigureAwait(false);
            await stdout.WriteLineAsync(
                $"nxtop-agent stop-guest: guest {name} (domain {before.DomainId}) stopped in {Stopwatch.GetElapsedTime(started).TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture)} s (grace {grace.TotalSeconds:0} s)")
                .ConfigureAwait(false);
            return AgentCli.ExitSuccess;
        }
        catch (ProcessFailedException ex)
        {
            await stderr.WriteLineAsync($"nxtop-agent stop-guest: guest {name} could not be stopped: {ex.Message}").ConfigureAwait(false);
            return AgentCli.ExitFailure;
        }
    }
}
