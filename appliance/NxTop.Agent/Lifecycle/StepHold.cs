using Microsoft.Extensions.Logging;

namespace NxTop.Agent.Lifecycle;

/// <summary>
/// The power-cut hook of the VM tests. With <c>NXTOP_AGENT_HOLD_AT=STEP</c> in the agent's environment (the tests put
/// it in a drop-in under /run, so it is gone after the power cut), the patch engine stops for good right after that
/// durable step of a transaction and says so in the journal; the test then kills the virtual machine, which is a
/// power cut at exactly that point. Unset, it does nothing. Only root can set a service's environment.
/// </summary>
internal static partial class StepHold
{
    public const string Variable = "NXTOP_AGENT_HOLD_AT";

    /// <summary>Every step the engine and the layering announce, in transaction order.</summary>
    public static IReadOnlyList<string> Steps { get; } =
    [
        "staged", "switching", "guest-stopped", "top-backed-up", "top-rebased", "installed-switched", "switched",
        "guest-started", "committing", "committed-state", "rolling-back", "rollback-top-restored", "rollback-state",
    ];

    /// <summary>The engine's step callback for <paramref name="step"/>, or null when it is unset.</summary>
    /// <exception cref="ArgumentException">The step is not one the engine announces.</exception>
    public static Action<string>? Create(string? step, ILogger logger, Action hold)
    {
        if (string.IsNullOrWhiteSpace(step))
        {
            return null;
        }

        step = step.Trim();
        if (!Steps.Contains(step, StringComparer.Ordinal))
        {
            throw new ArgumentException($"{Variable}='{step}' is not a step of the patch transaction; expected one of: {string.Join(", ", Steps)}.", nameof(step));
        }

        LogArmed(logger, step);
        return reached =>
        {
            if (string.Equals(reached, step, StringComparison.Ordinal))
            {
                LogHolding(logger, step);
                hold();
            }
        };
    }

    /// <summary>Blocks the calling thread for good: the machine is about to lose power.</summary>
    public static void Forever() => Thread.Sleep(Timeout.Infinite);

    [LoggerMessage(EventId = 290, Level = LogLevel.Warning, Message = "Power-cut test hook armed: the patch engine will stop after step '{Step}'")]
    private static partial void LogArmed(ILogger logger, string step);

    [LoggerMessage(EventId = 291, Level = LogLevel.Critical, Message = "Holding after step '{Step}' for a power-cut test")]
    private static partial void LogHolding(ILogger logger, string step);
}
