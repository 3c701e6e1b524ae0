namespace NxTop.Contracts.Center;

/// <summary>Request durations as the Center measured them (from routing to the response), over its latest requests.</summary>
public sealed record ServerTiming(string Operation, long Count, double P50Ms, double P99Ms, double MaxMs);

/// <summary>GET <see cref="CenterRoutes.AdminTimings"/>; DELETE clears them.</summary>
public sealed record ServerTimings(IReadOnlyList<ServerTiming> Operations);
