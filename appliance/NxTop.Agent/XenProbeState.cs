namespace NxTop.Agent;

/// <summary>The outcome of the latest <c>xl info</c> probe, and the facts of the latest one that succeeded.</summary>
internal sealed record XenProbeSnapshot(XenFacts? LastFacts, string? LastFailure, DateTimeOffset? LastProbeAt)
{
    public static XenProbeSnapshot None { get; } = new(null, null, null);
}

/// <summary>Shared between the probe loop and the control socket; each update swaps one immutable snapshot.</summary>
internal sealed class XenProbeState
{
    private XenProbeSnapshot _current = XenProbeSnapshot.None;

    public XenProbeSnapshot Current => Volatile.Read(ref _current);

    public void RecordSuccess(XenFacts facts) =>
        Volatile.Write(ref _current, new XenProbeSnapshot(facts, null, facts.ProbedAt));

    public void RecordFailure(string reason, DateTimeOffset at)
    {
        XenProbeSnapshot seen, next;
        do
        {
            seen = Current;
            next = new XenProbeSnapshot(seen.LastFacts, reason, at);
        }
        while (!ReferenceEquals(Interlocked.CompareExchange(ref _current, next, seen), seen));
    }
}
