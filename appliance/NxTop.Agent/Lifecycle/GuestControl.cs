using System.Globalization;
using NxTop.Contracts;

namespace NxTop.Agent.Lifecycle;

internal sealed record GuestRuntime(GuestState State, int? DomainId);

/// <summary>Starts, stops and inspects the guest domain.</summary>
internal interface IGuestController
{
    Task<GuestRuntime> GetAsync(string name, CancellationToken cancellationToken);

    Task StartAsync(string configPath, CancellationToken cancellationToken);

    /// <summary>A clean shutdown within <paramref name="grace"/>, then destroy. A guest that is not there is fine.</summary>
    Task StopAsync(string name, TimeSpan grace, CancellationToken cancellationToken);

    Task PauseAsync(string name, CancellationToken cancellationToken);

    Task UnpauseAsync(string name, CancellationToken cancellationToken);
}

internal sealed record HealthResult(bool Healthy, string Reason);

/// <summary>Waits for the guest to say it is healthy.</summary>
internal interface IGuestHealthProbe
{
    Task<HealthResult> WaitAsync(string name, TimeSpan deadline, CancellationToken cancellationToken);
}

/// <summary><see cref="IGuestController"/> over <c>xl</c>.</summary>
internal sealed class XlGuestController(ProcessRunner runner, string xlPath) : IGuestController
{
    private static readonly TimeSpan XlTimeout = TimeSpan.FromSeconds(60);

    public async Task<GuestRuntime> GetAsync(string name, CancellationToken cancellationToken)
    {
        var result = await runner.RunAsync(xlPath, ["list", name], XlTimeout, cancellationToken).ConfigureAwait(false);
        return result.ExitCode != 0 ? new GuestRuntime(GuestState.Absent, null) : ParseList(result.StandardOutput, name);
    }

    /// <summary>
    /// Parses <c>xl list NAME</c>: a header, then "Name ID Mem VCPUs State Time(s)" where State is
    /// six flags, e.g. <c>-b----</c> or <c>--p---</c>.
    /// </summary>
    public static GuestRuntime ParseList(string output, string name)
    {
        foreach (var line in output.Split('\n'))
        {
            var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length >= 5 && fields[0] == name && int.TryParse(fields[1], NumberStyles.None, CultureInfo.InvariantCulture, out var domid))
            {
                var flags = fields[4];
                var state = flags.Contains('p', StringComparison.Ordinal) ? GuestState.Paused
                    : flags.Contains('s', StringComparison.Ordinal) || flags.Contains('c', StringComparison.Ordinal) || flags.Contains('d', StringComparison.Ordinal) ? GuestState.Stopped
                    : GuestState.Running;
                return new GuestRuntime(state, domid);
            }
        }

        return new GuestRuntime(GuestState.Absent, null);
    }

    public Task StartAsync(string configPath, CancellationToken cancellationToken) =>
        runner.RunCheckedAsync(xlPath, ["create", configPath], XlTimeout, cancellationToken);

    public async Task StopAsync(string name, TimeSpan grace, CancellationToken cancellationToken)
    {
        if ((await GetAsync(name, cancellationToken).ConfigureAwait(false)).State == GuestState.Absent)
        {
            return;
        }

        var shutdown = await runner.RunAsync(xlPath, ["shutdown", "-w", name], grace, cancellationToken).ConfigureAwait(false)
            is { ExitCode: 0 };
        if (!shutdown && (await GetAsync(name, cancellationToken).ConfigureAwait(false)).State != GuestState.Absent)
        {
            await runner.RunCheckedAsync(xlPath, ["destroy", name], XlTimeout, cancellationToken).ConfigureAwait(false);
        }
    }

    public Task PauseAsync(string name, CancellationToken cancellationToken) =>
        runner.RunCheckedAsync(xlPath, ["pause", name], XlTimeout, cancellationToken);

    public Task UnpauseAsync(string name, CancellationToken cancellationToken) =>
        runner.RunCheckedAsync(xlPath, ["unpause", name], XlTimeout, cancellationToken);
}

/// <summary>
/// The guest reports its health in xenstore: it writes <c>data/nxtop/health</c> (relative to its own
/// domain path, which a guest may write) as <c>ok</c>, or <c>failed: REASON</c>. dom0 polls
/// <c>xenstore-read /local/domain/DOMID/data/nxtop/health</c> until the deadline. A guest that is
/// gone before it said ok has failed.
/// </summary>
internal sealed class XenstoreHealthProbe(
    ProcessRunner runner,
    IGuestController guests,
    string xenstoreReadPath,
    TimeProvider timeProvider) : IGuestHealthProbe
{
    public const string HealthKey = "data/nxtop/health";

    public static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(2);

    public async Task<HealthResult> WaitAsync(string name, TimeSpan deadline, CancellationToken cancellationToken)
    {
        var until = timeProvider.GetUtcNow() + deadline;
        var lastSeen = "no health key yet";
        while (timeProvider.GetUtcNow() < until)
        {
            var guest = await guests.GetAsync(name, cancellationToken).ConfigureAwait(false);
            if (guest.State is GuestState.Absent or GuestState.Stopped || guest.DomainId is not { } domid)
            {
                return new HealthResult(false, $"the guest stopped before it reported healthy ({lastSeen})");
            }

            var read = await runner.RunAsync(xenstoreReadPath, [$"/local/domain/{domid}/{HealthKey}"], TimeSpan.FromSeconds(10), cancellationToken)
                .ConfigureAwait(false);
            if (read.ExitCode == 0)
            {
                var value = read.StandardOutput.Trim();
                if (value == "ok")
                {
                    return new HealthResult(true, "the guest reported ok");
                }

                if (value.StartsWith("failed", StringComparison.Ordinal))
                {
                    return new HealthResult(false, $"the guest reported '{value}'");
                }

                lastSeen = $"last value '{value}'";
            }

            await Task.Delay(PollInterval, timeProvider, cancellationToken).ConfigureAwait(false);
        }

        return new HealthResult(false, $"no healthy signal within {deadline.TotalSeconds:0} s ({lastSeen})");
    }
}
