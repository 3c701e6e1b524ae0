using System.Collections.Concurrent;
using System.Diagnostics;
using NxTop.Contracts.Center;

namespace NxTop.Center.Fleet;

/// <summary>
/// Server-side durations of the agent's calls (check-in, report, manifest, blob), the last 100,000
/// of each, so that a benchmark can tell the Center's latency from its own client's.
/// </summary>
public sealed class RequestTimings
{
    private const int Capacity = 100_000;
    private readonly ConcurrentDictionary<string, Samples> operations = new(StringComparer.Ordinal);

    public void Record(string operation, double milliseconds) => operations.GetOrAdd(operation, _ => new Samples()).Add(milliseconds);

    public void Clear() => operations.Clear();

    public ServerTimings Snapshot() => new([.. operations.OrderBy(o => o.Key, StringComparer.Ordinal).Select(o => o.Value.Summary(o.Key))]);

    /// <summary>Times the agent routes, by endpoint name.</summary>
    public static async Task MiddlewareAsync(HttpContext context, Func<Task> next)
    {
        var started = Stopwatch.GetTimestamp();
        await next().ConfigureAwait(false);
        var name = context.GetEndpoint()?.Metadata.GetMetadata<IEndpointNameMetadata>()?.EndpointName;
        if (name is "GetDesiredState" or "PostReport" or "GetManifest" or "GetBlob" or "Enroll")
        {
            context.RequestServices.GetRequiredService<RequestTimings>().Record(name, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }
    }

    private sealed class Samples
    {
        private readonly double[] ring = new double[Capacity];
        private long count;

        public void Add(double value)
        {
            var at = Interlocked.Increment(ref count) - 1;
            ring[at % Capacity] = value;
        }

        public ServerTiming Summary(string name)
        {
            var total = Interlocked.Read(ref count);
            var sorted = ring.AsSpan(0, (int)Math.Min(total, Capacity)).ToArray();
            Array.Sort(sorted);
            return sorted.Length == 0
                ? new ServerTiming(name, 0, 0, 0, 0)
                : new ServerTiming(name, total, At(sorted, 0.50), At(sorted, 0.99), sorted[^1]);
        }

        private static double At(double[] sorted, double p) => sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)];
    }
}
