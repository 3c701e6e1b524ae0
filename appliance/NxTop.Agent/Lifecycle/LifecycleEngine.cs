using Microsoft.Extensions.Logging;
using NxTop.Agent.Storage;
using NxTop.Contracts;

namespace NxTop.Agent.Lifecycle;

internal enum ReconcileOutcome
{
    UpToDate,
    Committed,
    RolledBack,
    Refused,
    Failed,
    NotRetried,
    NoContent,
}

internal sealed record ReconcileResult(ReconcileOutcome Outcome, string Message);

/// <summary>
/// The patch transaction. Every step is recorded in <c>state/journal.json</c> before the next one
/// changes anything, and every step is idempotent, so <see cref="RecoverAsync"/> can finish or undo
/// a transaction cut at any instant:
/// <code>
/// staged      -> drop the journal: nothing had changed                       => old version
/// switching   -> stop guest, restore the custom top copy, current = from     => old version
/// switched    -> same (the health check did not finish; not marked failed)   => old version
/// rollingBack -> finish the rollback, mark the version failed                => old version
/// committing  -> finish the commit (current = lkg = to), drop the top copy   => new version
/// </code>
/// </summary>
internal sealed partial class LifecycleEngine(
    LifecycleStateStore state,
    HistoryLog history,
    GuestLayering layering,
    IGuestController guests,
    IGuestHealthProbe health,
    ContentStager stager,
    ContentStore store,
    GuestSettings settings,
    TimeProvider timeProvider,
    ILogger<LifecycleEngine> logger) : IDisposable
{
    public static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(60);

    private readonly SemaphoreSlim _gate = new(1, 1);
    private CancellationTokenSource? _healthAbort;
    private volatile string? _lastError;
    private volatile bool _lockedOut;

    /// <summary>Called with a step name after each durable step; tests cut the power here.</summary>
    public Action<string>? Step { get; set; }

    public string? LastError => _lastError;

    /// <summary>While locked out the engine does not start the guest.</summary>
    public bool LockedOut
    {
        get => _lockedOut;
        set => _lockedOut = value;
    }

    public InstalledState Installed => state.LoadInstalled();

    public TransactionJournal? InFlight => state.LoadJournal();

    public void Dispose() => _gate.Dispose();

    /// <summary>Finishes or undoes a transaction that a crash or power cut interrupted; call once at start.</summary>
    public async Task RecoverAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await RecoverLockedAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// The recovery itself, under the gate. Besides the start after a crash, every reconcile runs it first: a
    /// transaction that an error cut short in this process (xl failing in the middle of a rollback, say) is finished
    /// or undone at the next sync exactly as after a power cut, instead of staying in flight until a restart.
    /// </summary>
    private async Task RecoverLockedAsync(CancellationToken cancellationToken)
    {
        if (state.LoadJournal() is not { } journal)
        {
            return;
        }

        var installed = state.LoadInstalled();
        switch (journal.Phase)
        {
            case TransactionPhase.Staged:
                state.DeleteJournal();
                Record(HistoryEvent.Recovered, journal.To.BaseRef, journal.From?.Base.Version, $"dropped the staged transaction {journal.Id}; nothing had changed");
                break;
            case TransactionPhase.Switching or TransactionPhase.Switched or TransactionPhase.RollingBack:
                await guests.StopAsync(settings.Name, StopGrace, cancellationToken).ConfigureAwait(false);
                layering.RestoreRollbackTop();
                var failed = journal.Phase == TransactionPhase.RollingBack
                    ? AddFailed(installed.Failed, journal, journal.Reason ?? "the health check failed")
                    : installed.Failed;
                state.SaveInstalled(installed with { Current = journal.From, Failed = failed });
                state.DeleteJournal();
                Record(HistoryEvent.Recovered, journal.To.BaseRef, journal.From?.Base.Version,
                    $"transaction {journal.Id} was interrupted at '{PhaseName(journal.Phase)}'; back on {Describe(journal.From)}");
                break;
            case TransactionPhase.Committing:
                state.SaveInstalled(installed with { Current = journal.To, LastKnownGood = journal.To, Previous = journal.From, AppliedGeneration = journal.Generation });
                layering.DropRollbackTop();
                state.DeleteJournal();
                Record(HistoryEvent.Recovered, journal.To.BaseRef, journal.From?.Base.Version,
                    $"transaction {journal.Id} was interrupted while committing; finished: {journal.To} is last-known-good");
                break;
        }

        LogRecovered(journal.Id, PhaseName(journal.Phase), Describe(state.LoadInstalled().Current));
    }

    /// <summary>Brings the guest to the desired state: stage, switch, health check, commit or roll back.</summary>
    public async Task<ReconcileResult> ReconcileAsync(DesiredState desired, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(desired);
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await RecoverLockedAsync(cancellationToken).ConfigureAwait(false);
            var result = await ReconcileLockedAsync(desired, cancellationToken).ConfigureAwait(false);
            await EnsureGuestRunningLockedAsync(cancellationToken).ConfigureAwait(false);
            return result;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// <c>rollback-now</c>: aborts a health check in flight (which rolls back), or else goes back to
    /// the version committed before the current one and marks the current one failed.
    /// </summary>
    public async Task<ReconcileResult> RollbackNowAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _healthAbort) is { } abort)
        {
            await abort.CancelAsync().ConfigureAwait(false);
            return new ReconcileResult(ReconcileOutcome.RolledBack, "the transaction in flight is being rolled back");
        }

        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var installed = state.LoadInstalled();
            if (installed.Current is not { } current || installed.Previous is not { } previous
                || installed.HasFailed(previous.Base.Name, previous.Base.Version, installed.AppliedGeneration))
            {
                return new ReconcileResult(ReconcileOutcome.NoContent, "there is no earlier committed version to roll back to");
            }

            const string reason = "rollback requested by the operator (nxtopctl rollback-now)";
            Record(HistoryEvent.RolledBack, previous.BaseRef, current.Base.Version, reason);
            var failed = installed.Failed.Append(new FailedVersion(current.Base.Name, current.Base.Version, installed.AppliedGeneration, reason, timeProvider.GetUtcNow()));
            installed = installed with { Failed = [.. failed] };
            state.SaveInstalled(installed);
            var result = await ApplyAsync(installed, previous, installed.AppliedGeneration, StopGrace * 5, "operator rollback", cancellationToken).ConfigureAwait(false);
            await EnsureGuestRunningLockedAsync(cancellationToken).ConfigureAwait(false);
            return result;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// The Center's wipe order for a lost or stolen device: destroy the guest, then delete the
    /// content, the user's differencing disks, the state and the credential. Only a marker
    /// (<see cref="StoreLayout.Wiped"/>) stays, so the agent stays idle afterwards.
    /// </summary>
    public async Task WipeAsync(string commandId, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            _lockedOut = true;
            await guests.StopAsync(settings.Name, TimeSpan.Zero, cancellationToken).ConfigureAwait(false);
            var layout = store.Layout;
            AtomicFile.WriteAllText(layout.Wiped, $"{{\"command\":\"{commandId}\",\"at\":\"{timeProvider.GetUtcNow():O}\"}}");
            foreach (var directory in new[] { layout.GuestsDirectory, Path.Combine(layout.Root, "blobs"), layout.ManifestsDirectory, layout.StateDirectory })
            {
                if (Directory.Exists(directory))
                {
                    Directory.Delete(directory, recursive: true);
                }
            }

            Posix.FsyncDirectory(layout.Root);
            LogWiped(commandId);
        }
        finally
        {
            _gate.Release();
        }
    }

    public bool IsWiped => File.Exists(store.Layout.Wiped);

    /// <summary>Starts the guest from the installed chain if it is not running (and not locked out). The guest runs from the local cache only.</summary>
    public async Task EnsureGuestRunningAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await EnsureGuestRunningLockedAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task EnsureGuestRunningLockedAsync(CancellationToken cancellationToken)
    {
        if (_lockedOut || IsWiped || state.LoadInstalled().Current is not { } current)
        {
            return;
        }

        var guest = await guests.GetAsync(settings.Name, cancellationToken).ConfigureAwait(false);
        if (guest.State is GuestState.Absent or GuestState.Stopped)
        {
            if (guest.State == GuestState.Stopped)
            {
                await guests.StopAsync(settings.Name, StopGrace, cancellationToken).ConfigureAwait(false);
            }

            // Shared mode: PrepareForStart recreates the top, so what the user did is discarded here.
            var config = await layering.PrepareForStartAsync(current, cancellationToken).ConfigureAwait(false);
            await guests.StartAsync(config, cancellationToken).ConfigureAwait(false);
            var running = current.ToString();
            LogGuestStarted(settings.Name, running);
        }
    }

    private async Task<ReconcileResult> ReconcileLockedAsync(DesiredState desired, CancellationToken cancellationToken)
    {
        var installed = state.LoadInstalled();
        var current = installed.Current;
        if (current is not null
            && current.Mode == desired.Policy.ImageMode
            && current.BaseRef == new VersionRef(desired.Base.Name, desired.Base.Version)
            && current.AppRefs.SequenceEqual(desired.Apps.Select(a => new VersionRef(a.Name, a.Version))))
        {
            _lastError = null;
            return new ReconcileResult(ReconcileOutcome.UpToDate, $"running {current}");
        }

        var wanted = desired.Apps.Prepend(desired.Base);
        if (wanted.FirstOrDefault(c => installed.HasFailed(c.Name, c.Version, desired.Generation)) is { } failedBefore)
        {
            var message = $"{failedBefore.Name}/{failedBefore.Version} failed under generation {desired.Generation} or later; not retried until the Center re-issues it";
            _lastError = message;
            return new ReconcileResult(ReconcileOutcome.NotRetried, message);
        }

        GuestSelection to;
        try
        {
            var baseManifest = await stager.StageAsync(desired.Base, ContentKind.Base,
                current?.Base.Name == desired.Base.Name ? current.Base.Version : null, cancellationToken).ConfigureAwait(false);
            var apps = new List<ContentManifest>();
            foreach (var app in desired.Apps)
            {
                var installedApp = current?.Apps.FirstOrDefault(a => a.Name == app.Name)?.Version;
                apps.Add(await stager.StageAsync(app, ContentKind.App, installedApp, cancellationToken).ConfigureAwait(false));
            }

            to = new GuestSelection(baseManifest, apps, desired.Policy.ImageMode);
        }
        catch (ContentRefusedException ex)
        {
            _lastError = $"refused ({ex.Kind}): {ex.Message}";
            Record(HistoryEvent.Refused, new VersionRef(desired.Base.Name, desired.Base.Version), current?.Base.Version, _lastError);
            LogRefused(ex.Kind.ToString(), ex.Message);
            return new ReconcileResult(ReconcileOutcome.Refused, _lastError);
        }
        catch (Exception ex) when (ex is DiskFullException or DownloadFailedException or HttpRequestException or IOException or ProcessFailedException or TransientDownloadException)
        {
            _lastError = $"staging failed, {Describe(current)} keeps running: {ex.Message}";
            LogStageFailed(_lastError);
            return new ReconcileResult(ReconcileOutcome.Failed, _lastError);
        }

        var deadline = TimeSpan.FromSeconds(Math.Max(1, desired.Policy.HealthCheckDeadlineSeconds));
        return await ApplyAsync(installed, to, desired.Generation, deadline, "desired state", cancellationToken).ConfigureAwait(false);
    }

    private async Task<ReconcileResult> ApplyAsync(
        InstalledState installed, GuestSelection to, long generation, TimeSpan deadline, string cause, CancellationToken cancellationToken)
    {
        // rollback-now at any point of the transaction cancels this; it takes effect at the health check.
        using var abort = new CancellationTokenSource();
        Volatile.Write(ref _healthAbort, abort);
        try
        {
            return await ApplyCoreAsync(installed, to, generation, deadline, cause, abort, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            Volatile.Write(ref _healthAbort, null);
        }
    }

    private async Task<ReconcileResult> ApplyCoreAsync(
        InstalledState installed, GuestSelection to, long generation, TimeSpan deadline, string cause, CancellationTokenSource abort, CancellationToken cancellationToken)
    {
        var from = installed.Current;
        var journal = new TransactionJournal(
            Guid.CreateVersion7(timeProvider.GetUtcNow()).ToString("n")[..12], TransactionPhase.Staged, from, to, generation, timeProvider.GetUtcNow(), cause, null);
        state.SaveJournal(journal);
        Record(HistoryEvent.Staged, to.BaseRef, from?.Base.Version, $"{to} staged ({cause}, generation {generation})");
        Step?.Invoke("staged");

        journal = Advance(journal, TransactionPhase.Switching, null);
        Step?.Invoke("switching");
        await guests.StopAsync(settings.Name, StopGrace, cancellationToken).ConfigureAwait(false);
        Step?.Invoke("guest-stopped");
        await layering.SwitchBaseAsync(from, to, cancellationToken, Step).ConfigureAwait(false);
        installed = installed with { Current = to };
        state.SaveInstalled(installed);
        Step?.Invoke("installed-switched");
        journal = Advance(journal, TransactionPhase.Switched, null);
        Record(HistoryEvent.Applied, to.BaseRef, from?.Base.Version, $"switched from {Describe(from)} to {to}; health check within {deadline.TotalSeconds:0} s");
        Step?.Invoke("switched");

        var result = await StartAndCheckAsync(to, deadline, abort, cancellationToken).ConfigureAwait(false);
        if (result.Healthy)
        {
            journal = Advance(journal, TransactionPhase.Committing, null);
            Step?.Invoke("committing");
            installed = installed with { Current = to, LastKnownGood = to, Previous = from, AppliedGeneration = generation };
            state.SaveInstalled(installed);
            Step?.Invoke("committed-state");
            layering.DropRollbackTop();
            state.DeleteJournal();
            CollectGarbage(installed);
            _lastError = null;
            Record(HistoryEvent.Committed, to.BaseRef, from?.Base.Version, $"{result.Reason}; {to} is last-known-good");
            var committed = to.ToString();
            LogCommitted(committed, result.Reason);
            return new ReconcileResult(ReconcileOutcome.Committed, $"{to} committed: {result.Reason}");
        }

        var failedSelection = to.ToString();
        LogHealthCheckFailed(failedSelection, result.Reason);
        journal = Advance(journal, TransactionPhase.RollingBack, result.Reason);
        Step?.Invoke("rolling-back");

        // Destroyed, not shut down: it failed its check, and the previous version should run again
        // within seconds (its writes to a custom top are discarded with the restored copy anyway).
        await guests.StopAsync(settings.Name, TimeSpan.Zero, cancellationToken).ConfigureAwait(false);
        layering.RestoreRollbackTop();
        Step?.Invoke("rollback-top-restored");
        installed = installed with { Current = from, Failed = AddFailed(installed.Failed, journal, result.Reason) };
        state.SaveInstalled(installed);
        Step?.Invoke("rollback-state");
        state.DeleteJournal();
        _lastError = $"{to} failed its health check and was rolled back: {result.Reason}";
        Record(HistoryEvent.RolledBack, to.BaseRef, from?.Base.Version, result.Reason);
        LogRolledBack(to.ToString(), Describe(from), result.Reason);
        if (from is not null && !_lockedOut)
        {
            var config = await layering.PrepareForStartAsync(from, cancellationToken).ConfigureAwait(false);
            await guests.StartAsync(config, cancellationToken).ConfigureAwait(false);
            var previous = from.ToString();
            LogGuestStarted(settings.Name, previous);
        }

        return new ReconcileResult(ReconcileOutcome.RolledBack, _lastError);
    }

    private async Task<HealthResult> StartAndCheckAsync(GuestSelection to, TimeSpan deadline, CancellationTokenSource abort, CancellationToken cancellationToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, abort.Token);
        try
        {
            var config = await layering.PrepareForStartAsync(to, cancellationToken).ConfigureAwait(false);
            await guests.StartAsync(config, cancellationToken).ConfigureAwait(false);
            Step?.Invoke("guest-started");
            return await health.WaitAsync(settings.Name, deadline, linked.Token).ConfigureAwait(false);
        }
        catch (ProcessFailedException ex)
        {
            return new HealthResult(false, $"the guest did not start: {ex.Message}");
        }
        catch (OperationCanceledException) when (abort.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            return new HealthResult(false, "rollback requested by the operator (nxtopctl rollback-now)");
        }
    }

    /// <summary>After a commit, content that no kept selection names is deleted (the journal is gone, so nothing in flight needs it).</summary>
    private void CollectGarbage(InstalledState installed)
    {
        var keep = new[] { installed.Current, installed.LastKnownGood, installed.Previous }
            .OfType<GuestSelection>()
            .SelectMany(s => s.Apps.Prepend(s.Base));
        var freed = store.CollectGarbage(keep);
        if (freed > 0)
        {
            LogCollected(freed);
        }
    }

    private TransactionJournal Advance(TransactionJournal journal, TransactionPhase phase, string? reason)
    {
        var next = journal with { Phase = phase, Reason = reason ?? journal.Reason };
        state.SaveJournal(next);
        return next;
    }

    /// <summary>The versions that changed in the failed transaction are remembered under its generation.</summary>
    private IReadOnlyList<FailedVersion> AddFailed(IReadOnlyList<FailedVersion> failed, TransactionJournal journal, string reason)
    {
        var now = timeProvider.GetUtcNow();
        var changed = new List<VersionRef>();
        if (journal.From?.BaseRef != journal.To.BaseRef)
        {
            changed.Add(journal.To.BaseRef);
        }

        changed.AddRange(journal.To.AppRefs.Where(a => journal.From?.AppRefs.Contains(a) != true));
        if (changed.Count == 0)
        {
            changed.Add(journal.To.BaseRef);
        }

        return [.. failed.Where(f => !changed.Any(c => c.Name == f.Name && c.Version == f.Version)),
            .. changed.Select(c => new FailedVersion(c.Name, c.Version, journal.Generation, reason, now))];
    }

    private void Record(HistoryEvent kind, VersionRef version, long? fromVersion, string reason) =>
        history.Append(new HistoryEntry(timeProvider.GetUtcNow(), kind, version.Name, version.Version, fromVersion, reason));

    private static string Describe(GuestSelection? selection) => selection?.ToString() ?? "nothing";

    private static string PhaseName(TransactionPhase phase) => phase switch
    {
        TransactionPhase.Staged => "staged",
        TransactionPhase.Switching => "switching",
        TransactionPhase.Switched => "switched",
        TransactionPhase.RollingBack => "rollingBack",
        _ => "committing",
    };

    [LoggerMessage(EventId = 200, Level = LogLevel.Information, Message = "Committed {Selection}: {Reason}")]
    private partial void LogCommitted(string selection, string reason);

    [LoggerMessage(EventId = 201, Level = LogLevel.Warning, Message = "{Selection} failed its health check, rolled back to {Previous}: {Reason}")]
    private partial void LogRolledBack(string selection, string previous, string reason);

    /// <summary>The instant the health check failed: the start of the time to the previous version running.</summary>
    [LoggerMessage(EventId = 208, Level = LogLevel.Warning, Message = "Health check of {Selection} failed, rolling back: {Reason}")]
    private partial void LogHealthCheckFailed(string selection, string reason);

    [LoggerMessage(EventId = 202, Level = LogLevel.Error, Message = "Content refused ({Kind}): {Reason}")]
    private partial void LogRefused(string kind, string reason);

    [LoggerMessage(EventId = 203, Level = LogLevel.Warning, Message = "{Message}")]
    private partial void LogStageFailed(string message);

    [LoggerMessage(EventId = 204, Level = LogLevel.Warning, Message = "Recovered transaction {Id} interrupted at '{Phase}'; back on {Current} (the guest starts when the next reconcile has decided what runs)")]
    private partial void LogRecovered(string id, string phase, string current);

    [LoggerMessage(EventId = 207, Level = LogLevel.Critical, Message = "Wiped this device on the Center's order {CommandId}: guest destroyed, content, disks, state and credential deleted")]
    private partial void LogWiped(string commandId);

    [LoggerMessage(EventId = 206, Level = LogLevel.Information, Message = "Freed {Bytes} bytes of content that no kept version uses")]
    private partial void LogCollected(long bytes);

    [LoggerMessage(EventId = 205, Level = LogLevel.Information, Message = "Started guest {Guest} on {Selection}")]
    private partial void LogGuestStarted(string guest, string selection);
}
