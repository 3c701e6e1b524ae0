namespace NxTop.Agent;

/// <summary>
/// The reply to <c>status</c> on the control socket. The property names (camelCase) and the
/// nulls are the contract that <c>nxtopctl</c> and the VM tests read.
/// </summary>
internal sealed record AgentStatus(
    bool Healthy,
    string? Reason,
    string AgentVersion,
    int Pid,
    DateTimeOffset StartedAt,
    double UptimeSeconds,
    string CenterUrl,
    int PollIntervalSeconds,
    XenStatus? Xen,
    LifecycleStatus? Lifecycle = null);

internal sealed record XenStatus(
    string XenVersion,
    int XenMajor,
    int XenMinor,
    long TotalMemoryMiB,
    long FreeMemoryMiB,
    int NrCpus,
    string XenCommandline,
    string VirtCaps,
    DateTimeOffset ProbedAt)
{
    public static XenStatus From(XenFacts facts) => new(
        facts.XenVersion,
        facts.XenMajor,
        facts.XenMinor,
        facts.TotalMemoryMiB,
        facts.FreeMemoryMiB,
        facts.NrCpus,
        facts.XenCommandline,
        facts.VirtCaps,
        facts.ProbedAt);
}

/// <summary>The reply to a command the agent does not know.</summary>
internal sealed record ControlError(string Error);

/// <summary>Who this agent process is: fixed when it starts.</summary>
internal sealed record AgentInstance(string Version, int Pid, DateTimeOffset StartedAt);

/// <summary>Builds the status from the probe state; the health rule lives here.</summary>
internal sealed class AgentStatusReporter(
    AgentConfig config, AgentInstance instance, XenProbeState probes, TimeProvider timeProvider, Func<LifecycleStatus?>? lifecycle = null)
{
    /// <summary>How often <c>xl info</c> runs.</summary>
    public static readonly TimeSpan ProbePeriod = TimeSpan.FromSeconds(30);

    /// <summary>A successful probe keeps the agent healthy for strictly less than two probe periods.</summary>
    public static readonly TimeSpan MaxProbeAge = 2 * ProbePeriod;

    public AgentStatus Current()
    {
        var now = timeProvider.GetUtcNow();
        var snapshot = probes.Current;
        var reason = UnhealthyReason(snapshot, now);
        return new AgentStatus(
            Healthy: reason is null,
            Reason: reason,
            AgentVersion: instance.Version,
            Pid: instance.Pid,
            StartedAt: instance.StartedAt,
            UptimeSeconds: Math.Round(Math.Max(0, (now - instance.StartedAt).TotalSeconds), 3),
            CenterUrl: config.CenterUrl,
            PollIntervalSeconds: config.PollIntervalSeconds,
            Xen: snapshot.LastFacts is { } facts ? XenStatus.From(facts) : null,
            Lifecycle: lifecycle?.Invoke());
    }

    private static string? UnhealthyReason(XenProbeSnapshot snapshot, DateTimeOffset now)
    {
        if (snapshot.LastFailure is { } failure)
        {
            return $"xl info failed: {failure}";
        }

        if (snapshot.LastFacts is not { } facts)
        {
            return "xl info has not run yet";
        }

        var age = now - facts.ProbedAt;
        return age < MaxProbeAge
            ? null
            : $"the last xl info probe is {age.TotalSeconds:0} s old (limit {MaxProbeAge.TotalSeconds:0} s)";
    }
}
