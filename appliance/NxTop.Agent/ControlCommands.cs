using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Logging;
using NxTop.Agent.Lifecycle;
using NxTop.Agent.Sync;
using NxTop.Contracts;

namespace NxTop.Agent;

/// <summary>The reply to <c>versions</c>.</summary>
internal sealed record VersionsReply(
    VersionRef? Base,
    IReadOnlyList<VersionRef> Apps,
    ImageMode? ImageMode,
    VersionRef? LastKnownGood,
    VersionRef? Previous,
    long AppliedGeneration,
    TransactionSummary? Transaction,
    IReadOnlyList<FailedVersion> Failed);

internal sealed record TransactionSummary(string Id, TransactionPhase Phase, VersionRef To, VersionRef? From, string Cause);

/// <summary>The reply to a command that starts work in the background (<c>sync-now</c>, <c>rollback-now</c>).</summary>
internal sealed record ControlAck(bool Accepted, string Message);

/// <summary>The lifecycle part of <c>status</c>: strings only, so the status contract stays plain.</summary>
internal sealed record LifecycleStatus(
    string? DeviceId,
    string? Running,
    string? LastKnownGood,
    string? Transaction,
    bool CenterReachable,
    DateTimeOffset? LastSyncAt,
    DateTimeOffset? LastContactAt,
    bool LockedOut,
    DateTimeOffset? LocksAt,
    string? LastError);

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    UseStringEnumConverter = true,
    DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(VersionsReply))]
[JsonSerializable(typeof(ControlAck))]
[JsonSerializable(typeof(List<HistoryEntry>))]
[JsonSerializable(typeof(NxTop.Agent.Storage.StoreVerification))]
internal sealed partial class ControlJsonContext : JsonSerializerContext;

internal static class ControlJson
{
    /// <summary>Relaxed escaping, as for the status (a separate class: the generated Default is initialised in the context's own static constructor).</summary>
    public static ControlJsonContext Relaxed { get; } = new(new JsonSerializerOptions(ControlJsonContext.Default.Options)
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    });
}

/// <summary>The life-cycle commands of the control socket: <c>versions</c>, <c>history</c>, <c>sync-now</c>, <c>rollback-now</c>.</summary>
internal sealed partial class ControlCommands(
    NxTop.Agent.Storage.ContentStore store,
    LifecycleEngine engine,
    HistoryLog history,
    SyncTrigger trigger,
    SyncAgent sync,
    DisconnectedState disconnected,
    ILogger<ControlCommands> logger)
{
    public const int HistoryLimit = 200;

    private Task? _rollback;

    public string Versions()
    {
        var installed = engine.Installed;
        var journal = engine.InFlight;
        var reply = new VersionsReply(
            installed.Current?.BaseRef,
            installed.Current?.AppRefs ?? [],
            installed.Current?.Mode,
            installed.LastKnownGood?.BaseRef,
            installed.Previous?.BaseRef,
            installed.AppliedGeneration,
            journal is null ? null : new TransactionSummary(journal.Id, journal.Phase, journal.To.BaseRef, journal.From?.BaseRef, journal.Cause),
            installed.Failed);
        return JsonSerializer.Serialize(reply, ControlJson.Relaxed.VersionsReply);
    }

    public string History()
    {
        var entries = history.Read();
        return JsonSerializer.Serialize(entries.Skip(Math.Max(0, entries.Count - HistoryLimit)).ToList(), ControlJson.Relaxed.ListHistoryEntry);
    }

    /// <summary>Re-hashes every blob and checks that the installed selections have all theirs (takes as long as reading the store).</summary>
    public string Verify()
    {
        var installed = engine.Installed;
        var referenced = new[] { installed.Current, installed.LastKnownGood, installed.Previous }
            .OfType<GuestSelection>()
            .SelectMany(s => s.Apps.Prepend(s.Base));
        return JsonSerializer.Serialize(store.Verify(referenced), ControlJson.Relaxed.StoreVerification);
    }

    public string SyncNow()
    {
        trigger.Request();
        return Ack(true, "sync requested");
    }

    /// <summary>Starts the rollback and replies at once; its outcome lands in the history.</summary>
    public string RollbackNow()
    {
        if (_rollback is { IsCompleted: false })
        {
            return Ack(false, "a rollback is already running");
        }

        _rollback = Task.Run(async () =>
        {
            try
            {
                var result = await engine.RollbackNowAsync(CancellationToken.None).ConfigureAwait(false);
                var outcome = result.Outcome.ToString();
                LogRollbackDone(outcome, result.Message);
            }
            catch (Exception ex)
            {
                LogRollbackFailed(ex.Message);
            }
        });
        return Ack(true, "rollback started; see 'nxtopctl history'");
    }

    /// <summary>Waits for a rollback started by <see cref="RollbackNow"/> (tests).</summary>
    public Task RollbackCompletion => _rollback ?? Task.CompletedTask;

    public LifecycleStatus Status()
    {
        var installed = engine.Installed;
        var last = sync.Last;
        var journal = engine.InFlight;
        return new LifecycleStatus(
            last.DeviceId ?? disconnected.LoadIdentity()?.DeviceId,
            installed.Current?.ToString(),
            installed.LastKnownGood?.ToString(),
            journal is null ? null : $"{journal.Id}: {journal.Phase} to {journal.To}",
            last.CenterReachable,
            last.LastSyncAt,
            disconnected.LastContact,
            last.Lockout.LockedOut,
            last.Lockout.LocksAt,
            engine.LastError ?? last.CenterError);
    }

    private static string Ack(bool accepted, string message) =>
        JsonSerializer.Serialize(new ControlAck(accepted, message), ControlJson.Relaxed.ControlAck);

    [LoggerMessage(EventId = 400, Level = LogLevel.Information, Message = "rollback-now: {Outcome}: {Message}")]
    private partial void LogRollbackDone(string outcome, string message);

    [LoggerMessage(EventId = 401, Level = LogLevel.Error, Message = "rollback-now failed: {Reason}")]
    private partial void LogRollbackFailed(string reason);
}
