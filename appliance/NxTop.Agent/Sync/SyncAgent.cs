using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using NxTop.Agent.Inventory;
using NxTop.Agent.Lifecycle;
using NxTop.Agent.Storage;
using NxTop.Contracts;

namespace NxTop.Agent.Sync;

/// <summary>What the last sync saw; the status and the control socket read it.</summary>
internal sealed record SyncSnapshot(
    DateTimeOffset? LastSyncAt,
    bool CenterReachable,
    string? CenterError,
    LockoutStatus Lockout,
    ReconcileResult? LastResult,
    string? DeviceId,
    long DesiredGeneration)
{
    public static SyncSnapshot None { get; } = new(null, false, null, new LockoutStatus(false, null, null, LockoutAction.None), null, null, 0);
}

/// <summary>Wakes the sync loop early (<c>nxtopctl sync-now</c>); requests made while a sync runs coalesce into one.</summary>
internal sealed class SyncTrigger
{
    // A TaskCompletionSource, not a SemaphoreSlim: a cancelled SemaphoreSlim.WaitAsync can still
    // swallow a later Release before its own cancellation has finished, losing the request.
    private TaskCompletionSource _pending = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Request() => Volatile.Read(ref _pending).TrySetResult();

    /// <summary>Waits for <paramref name="interval"/> on the <paramref name="timeProvider"/>'s clock, or until <see cref="Request"/>.</summary>
    public async Task WaitAsync(TimeSpan interval, TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        var pending = Volatile.Read(ref _pending);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var elapsed = Task.Delay(interval, timeProvider, linked.Token);
        await Task.WhenAny(pending.Task, elapsed).ConfigureAwait(false);
        await linked.CancelAsync().ConfigureAwait(false);
        if (pending.Task.IsCompleted)
        {
            // Consumed: later requests go to a fresh source.
            Interlocked.CompareExchange(ref _pending, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously), pending);
        }

        cancellationToken.ThrowIfCancellationRequested();
    }
}

/// <summary>
/// One sync: enroll if needed, fetch the desired state (or fall back to the cached one, then the
/// local file), apply the lockout policy, reconcile the guest, queue a status report and flush the
/// queue. Nothing here needs the Center to be reachable.
/// </summary>
internal sealed partial class SyncAgent(
    AgentConfig config,
    CenterClient center,
    DisconnectedState disconnected,
    ReportOutbox outbox,
    LifecycleEngine engine,
    IGuestController guests,
    HistoryLog history,
    InventoryCollector inventory,
    TimeProvider timeProvider,
    ILogger<SyncAgent> logger)
{
    public const int HistoryPerReport = 50;

    private SyncSnapshot _last = SyncSnapshot.None;

    public SyncSnapshot Last => Volatile.Read(ref _last);

    public async Task RunOnceAsync(CancellationToken cancellationToken)
    {
        if (engine.IsWiped)
        {
            Volatile.Write(ref _last, SyncSnapshot.None with { LastSyncAt = timeProvider.GetUtcNow(), CenterError = "this device was wiped on the Center's order" });
            return;
        }

        string? centerError = null;
        var reachable = false;
        var identity = disconnected.LoadIdentity();
        DesiredState? desired = null;
        try
        {
            identity ??= await EnrollAsync(cancellationToken).ConfigureAwait(false);
            if (identity is not null)
            {
                desired = await center.GetDesiredStateAsync(identity, cancellationToken).ConfigureAwait(false);
                reachable = true;
                disconnected.RecordContact(timeProvider.GetUtcNow());
                if (desired is not null)
                {
                    disconnected.SaveDesired(desired);
                }
            }
        }
        catch (Exception ex) when (ex is HttpRequestException or CenterException)
        {
            centerError = ex.Message;
            LogCenterUnreachable(ex.Message);
        }
        catch (DeviceWipeOrderedException ex)
        {
            await engine.WipeAsync(ex.Command.Id, cancellationToken).ConfigureAwait(false);
            Volatile.Write(ref _last, SyncSnapshot.None with { LastSyncAt = timeProvider.GetUtcNow(), CenterError = ex.Message });
            return;
        }

        desired ??= disconnected.LoadDesired() ?? LoadLocalDesiredState();
        var lockout = await ApplyLockoutAsync(desired?.Policy, cancellationToken).ConfigureAwait(false);

        ReconcileResult? result = null;
        if (desired is not null && !lockout.LockedOut)
        {
            result = await engine.ReconcileAsync(desired, cancellationToken).ConfigureAwait(false);
        }

        if (identity is not null)
        {
            outbox.Enqueue(await BuildReportAsync(identity, desired, lockout, cancellationToken).ConfigureAwait(false));
            if (reachable)
            {
                try
                {
                    var sent = await outbox.FlushAsync((report, ct) => center.PostReportAsync(identity, report, ct), cancellationToken).ConfigureAwait(false);
                    LogReportsSent(sent);
                }
                catch (Exception ex) when (ex is HttpRequestException or CenterException)
                {
                    centerError = ex.Message;
                    LogCenterUnreachable(ex.Message);
                }
            }
        }

        Volatile.Write(ref _last, new SyncSnapshot(timeProvider.GetUtcNow(), reachable && centerError is null, centerError, lockout, result,
            identity?.DeviceId, desired?.Generation ?? 0));
    }

    public async Task<StatusReport> BuildReportAsync(DeviceIdentity identity, DesiredState? desired, LockoutStatus lockout, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(identity);
        ArgumentNullException.ThrowIfNull(lockout);
        var installed = engine.Installed;
        GuestRuntime runtime;
        try
        {
            runtime = await guests.GetAsync(config.GuestName, cancellationToken).ConfigureAwait(false);
        }
        catch (ProcessFailedException)
        {
            runtime = new GuestRuntime(GuestState.Unknown, null);
        }

        var now = timeProvider.GetUtcNow();
        var current = installed.Current;
        var entries = history.Read();
        return new StatusReport(
            Guid.CreateVersion7(now).ToString("n"),
            identity.DeviceId,
            AgentVersion.Short,
            now,
            new RunningVersions(current?.BaseRef, current?.AppRefs ?? [], installed.LastKnownGood?.BaseRef, current?.Mode),
            new GuestStatus(config.GuestName, lockout.LockedOut ? GuestState.LockedOut : runtime.State, runtime.DomainId,
                current is null ? null : runtime.State == GuestState.Running && engine.InFlight is null && current.SameContentAs(installed.LastKnownGood)),
            [.. entries.Skip(Math.Max(0, entries.Count - HistoryPerReport))],
            inventory.Collect(),
            engine.LastError,
            desired?.Generation ?? 0);
    }

    private async Task<DeviceIdentity?> EnrollAsync(CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(config.EnrollmentToken))
        {
            return null;
        }

        var hardware = inventory.Collect();
        var response = await center.EnrollAsync(new EnrollmentRequest(config.EnrollmentToken, hardware.Hostname, hardware), cancellationToken).ConfigureAwait(false);
        var identity = new DeviceIdentity(response.DeviceId, response.Credential, timeProvider.GetUtcNow());
        disconnected.SaveIdentity(identity);
        LogEnrolled(identity.DeviceId);
        return identity;
    }

    private DesiredState? LoadLocalDesiredState()
    {
        if (config.DesiredStateFile is not { } path || !File.Exists(path))
        {
            return null;
        }

        try
        {
            return AtomicFile.ReadJson(path, AgentStateJsonContext.Default.DesiredState);
        }
        catch (System.Text.Json.JsonException ex)
        {
            LogBadLocalDesiredState(path, ex.Message);
            return null;
        }
    }

    private async Task<LockoutStatus> ApplyLockoutAsync(DevicePolicy? policy, CancellationToken cancellationToken)
    {
        var status = LockoutPolicy.Evaluate(policy, disconnected.LastContact, timeProvider.GetUtcNow());
        if (status.LockedOut && !engine.LockedOut)
        {
            engine.LockedOut = true;
            var reason = $"no contact with the Center since {status.LastContact:u} (limit {policy!.LockoutDays} days); action {status.Action}";
            LogLockedOut(reason);
            history.Append(new HistoryEntry(timeProvider.GetUtcNow(), HistoryEvent.Lockout, config.GuestName, 0, null, reason));
            switch (status.Action)
            {
                case LockoutAction.StopGuest:
                    await guests.StopAsync(config.GuestName, LifecycleEngine.StopGrace, cancellationToken).ConfigureAwait(false);
                    break;
                case LockoutAction.PauseGuest when (await guests.GetAsync(config.GuestName, cancellationToken).ConfigureAwait(false)).State == GuestState.Running:
                    await guests.PauseAsync(config.GuestName, cancellationToken).ConfigureAwait(false);
                    break;
            }
        }
        else if (!status.LockedOut && engine.LockedOut)
        {
            engine.LockedOut = false;
            history.Append(new HistoryEntry(timeProvider.GetUtcNow(), HistoryEvent.Lockout, config.GuestName, 0, null, "lockout lifted: the Center answered"));
            LogLockoutLifted();
            if ((await guests.GetAsync(config.GuestName, cancellationToken).ConfigureAwait(false)).State == GuestState.Paused)
            {
                await guests.UnpauseAsync(config.GuestName, cancellationToken).ConfigureAwait(false);
            }

            await engine.EnsureGuestRunningAsync(cancellationToken).ConfigureAwait(false);
        }

        return status;
    }

    [LoggerMessage(EventId = 300, Level = LogLevel.Warning, Message = "The Center is unreachable, working from the local cache: {Reason}")]
    private partial void LogCenterUnreachable(string reason);

    [LoggerMessage(EventId = 301, Level = LogLevel.Information, Message = "Enrolled as device {DeviceId}")]
    private partial void LogEnrolled(string deviceId);

    [LoggerMessage(EventId = 302, Level = LogLevel.Debug, Message = "Sent {Count} queued status reports")]
    private partial void LogReportsSent(int count);

    [LoggerMessage(EventId = 303, Level = LogLevel.Warning, Message = "Locked out: {Reason}")]
    private partial void LogLockedOut(string reason);

    [LoggerMessage(EventId = 304, Level = LogLevel.Information, Message = "Lockout lifted")]
    private partial void LogLockoutLifted();

    [LoggerMessage(EventId = 305, Level = LogLevel.Error, Message = "The local desired state {Path} does not parse: {Reason}")]
    private partial void LogBadLocalDesiredState(string path, string reason);
}

/// <summary>Recovers an interrupted transaction, then syncs every poll interval (or on <c>sync-now</c>) until stopped.</summary>
internal sealed partial class SyncService(
    AgentConfig config,
    LifecycleEngine engine,
    SyncAgent agent,
    SyncTrigger trigger,
    TimeProvider timeProvider,
    ILogger<SyncService> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await engine.RecoverAsync(stoppingToken).ConfigureAwait(false);
            while (!stoppingToken.IsCancellationRequested)
            {
                try
                {
                    await agent.RunOnceAsync(stoppingToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    // One bad sync must not stop the agent; the next one tries again.
                    LogSyncFailed(ex.GetType().Name, ex.Message);
                }

                await trigger.WaitAsync(TimeSpan.FromSeconds(config.PollIntervalSeconds), timeProvider, stoppingToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    [LoggerMessage(EventId = 310, Level = LogLevel.Error, Message = "Sync failed ({Type}): {Reason}")]
    private partial void LogSyncFailed(string type, string reason);
}
