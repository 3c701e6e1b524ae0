using System.Text.Json;
using System.Text.Json.Serialization;
using NxTop.Agent.Storage;
using NxTop.Contracts;

namespace NxTop.Agent.Lifecycle;

/// <summary>A version whose health check failed under a desired-state generation; not retried until the generation moves on.</summary>
internal sealed record FailedVersion(string Name, long Version, long Generation, string Reason, DateTimeOffset At);

/// <summary>
/// <c>state/installed.json</c>: what the guest runs (<see cref="Current"/>), the last version that
/// passed its health check, the one committed before it (what <c>rollback-now</c> returns to), and
/// the versions that failed.
/// </summary>
internal sealed record InstalledState(
    GuestSelection? Current,
    GuestSelection? LastKnownGood,
    GuestSelection? Previous,
    IReadOnlyList<FailedVersion> Failed,
    long AppliedGeneration)
{
    public static InstalledState Empty { get; } = new(null, null, null, [], 0);

    public bool HasFailed(string name, long version, long generation) =>
        Failed.Any(f => f.Name == name && f.Version == version && f.Generation >= generation);
}

internal enum TransactionPhase
{
    /// <summary>Downloaded and verified; nothing running has changed.</summary>
    [JsonStringEnumMemberName("staged")] Staged,

    /// <summary>Stopping the guest and moving it to the new chain.</summary>
    [JsonStringEnumMemberName("switching")] Switching,

    /// <summary>The guest runs the new chain and is being health-checked.</summary>
    [JsonStringEnumMemberName("switched")] Switched,

    /// <summary>Going back to <see cref="TransactionJournal.From"/>.</summary>
    [JsonStringEnumMemberName("rollingBack")] RollingBack,

    /// <summary>Making <see cref="TransactionJournal.To"/> last-known-good.</summary>
    [JsonStringEnumMemberName("committing")] Committing,
}

/// <summary><c>state/journal.json</c>: the one transaction in flight; it exists only while one is.</summary>
internal sealed record TransactionJournal(
    string Id,
    TransactionPhase Phase,
    GuestSelection? From,
    GuestSelection To,
    long Generation,
    DateTimeOffset StartedAt,
    string Cause,
    string? Reason);

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    UseStringEnumConverter = true,
    RespectNullableAnnotations = true,
    RespectRequiredConstructorParameters = true,
    AllowDuplicateProperties = false,
    DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(InstalledState))]
[JsonSerializable(typeof(TransactionJournal))]
[JsonSerializable(typeof(HistoryEntry))]
[JsonSerializable(typeof(DesiredState))]
[JsonSerializable(typeof(StatusReport))]
[JsonSerializable(typeof(Sync.DeviceIdentity))]
[JsonSerializable(typeof(Sync.ContactRecord))]
[JsonSerializable(typeof(NxTop.Contracts.Center.DeviceCommand))]
internal sealed partial class AgentStateJsonContext : JsonSerializerContext;

/// <summary>The state files, each written atomically.</summary>
internal sealed class LifecycleStateStore(StoreLayout layout)
{
    public InstalledState LoadInstalled() =>
        AtomicFile.ReadJson(layout.Installed, AgentStateJsonContext.Default.InstalledState) ?? InstalledState.Empty;

    public void SaveInstalled(InstalledState state) =>
        AtomicFile.WriteJson(layout.Installed, state, AgentStateJsonContext.Default.InstalledState);

    public TransactionJournal? LoadJournal() =>
        AtomicFile.ReadJson(layout.Journal, AgentStateJsonContext.Default.TransactionJournal);

    public void SaveJournal(TransactionJournal journal) =>
        AtomicFile.WriteJson(layout.Journal, journal, AgentStateJsonContext.Default.TransactionJournal);

    public void DeleteJournal() => AtomicFile.Delete(layout.Journal);
}

/// <summary><c>state/history.jsonl</c>: append-only, one JSON object a line, fsynced per record.</summary>
internal sealed class HistoryLog(StoreLayout layout)
{
    private readonly Lock _lock = new();

    public void Append(HistoryEntry entry)
    {
        lock (_lock)
        {
            AtomicFile.AppendLine(layout.History, JsonSerializer.Serialize(entry, AgentStateJsonContext.Default.HistoryEntry));
        }
    }

    /// <summary>All complete records, oldest first; a line that does not parse is skipped.</summary>
    public IReadOnlyList<HistoryEntry> Read()
    {
        lock (_lock)
        {
            var entries = new List<HistoryEntry>();
            foreach (var line in AtomicFile.ReadLines(layout.History))
            {
                try
                {
                    if (JsonSerializer.Deserialize(line, AgentStateJsonContext.Default.HistoryEntry) is { } entry)
                    {
                        entries.Add(entry);
                    }
                }
                catch (JsonException)
                {
                }
            }

            return entries;
        }
    }
}
