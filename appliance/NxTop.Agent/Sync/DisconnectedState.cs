using System.Globalization;
using System.Text.Json;
using NxTop.Agent.Lifecycle;
using NxTop.Agent.Storage;
using NxTop.Contracts;

namespace NxTop.Agent.Sync;

/// <summary><c>state/identity.json</c> (0600): who this device is to the Center.</summary>
internal sealed record DeviceIdentity(string DeviceId, string Credential, DateTimeOffset EnrolledAt);

/// <summary><c>state/contact.json</c>: the last time the Center answered; the lockout clock counts from here.</summary>
internal sealed record ContactRecord(DateTimeOffset LastContactAt);

/// <summary>The state that lets the device work while the Center is away.</summary>
internal sealed class DisconnectedState(StoreLayout layout)
{
    public DeviceIdentity? LoadIdentity() => AtomicFile.ReadJson(layout.Identity, AgentStateJsonContext.Default.DeviceIdentity);

    public void SaveIdentity(DeviceIdentity identity) => AtomicFile.WriteJson(layout.Identity, identity, AgentStateJsonContext.Default.DeviceIdentity);

    /// <summary>The last desired state the Center sent; it holds while the Center is unreachable.</summary>
    public DesiredState? LoadDesired() => AtomicFile.ReadJson(layout.DesiredState, AgentStateJsonContext.Default.DesiredState);

    public void SaveDesired(DesiredState desired) => AtomicFile.WriteJson(layout.DesiredState, desired, AgentStateJsonContext.Default.DesiredState);

    public DateTimeOffset? LastContact => AtomicFile.ReadJson(layout.Contact, AgentStateJsonContext.Default.ContactRecord)?.LastContactAt;

    public void RecordContact(DateTimeOffset at) => AtomicFile.WriteJson(layout.Contact, new ContactRecord(at), AgentStateJsonContext.Default.ContactRecord);
}

/// <summary>
/// <c>state/outbox/</c>: status reports waiting for the Center, one atomic file each, named so that
/// they sort oldest first. At most <see cref="MaxReports"/> are kept; the oldest go first.
/// </summary>
internal sealed class ReportOutbox(StoreLayout layout, int maxReports = ReportOutbox.DefaultMaxReports)
{
    public const int DefaultMaxReports = 1000;

    public int MaxReports { get; } = maxReports;

    public int Count => Files().Count;

    public void Enqueue(StatusReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var name = report.ReportedAt.ToUnixTimeMilliseconds().ToString("D15", CultureInfo.InvariantCulture) + "-" + report.ReportId + ".json";
        AtomicFile.WriteJson(Path.Combine(layout.Outbox, name), report, AgentStateJsonContext.Default.StatusReport);
        var files = Files();
        foreach (var stale in files.Take(Math.Max(0, files.Count - MaxReports)))
        {
            File.Delete(stale);
        }
    }

    public IReadOnlyList<StatusReport> Pending() =>
        [.. Files().Select(Read).OfType<StatusReport>()];

    /// <summary>Sends the queued reports oldest first and deletes each one sent; stops at the first failure. Returns how many went.</summary>
    public async Task<int> FlushAsync(Func<StatusReport, CancellationToken, Task> send, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(send);
        var sent = 0;
        foreach (var file in Files())
        {
            if (Read(file) is { } report)
            {
                await send(report, cancellationToken).ConfigureAwait(false);
                sent++;
            }

            AtomicFile.Delete(file);
        }

        return sent;
    }

    private List<string> Files() =>
        Directory.Exists(layout.Outbox)
            ? [.. Directory.EnumerateFiles(layout.Outbox, "*.json").Order(StringComparer.Ordinal)]
            : [];

    private static StatusReport? Read(string file)
    {
        try
        {
            return AtomicFile.ReadJson(file, AgentStateJsonContext.Default.StatusReport);
        }
        catch (JsonException)
        {
            return null;
        }
    }
}

internal sealed record LockoutStatus(bool LockedOut, DateTimeOffset? LastContact, DateTimeOffset? LocksAt, LockoutAction Action);

/// <summary>How long a device may stay out of contact: the policy's days, counted from the last answer from the Center.</summary>
internal static class LockoutPolicy
{
    public static LockoutStatus Evaluate(DevicePolicy? policy, DateTimeOffset? lastContact, DateTimeOffset now)
    {
        if (policy is null || policy.LockoutDays <= 0 || lastContact is not { } contact)
        {
            return new LockoutStatus(false, lastContact, null, policy?.LockoutAction ?? LockoutAction.None);
        }

        var locksAt = contact + TimeSpan.FromDays(policy.LockoutDays);
        return new LockoutStatus(now >= locksAt, contact, locksAt, policy.LockoutAction);
    }
}
