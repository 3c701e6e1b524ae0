using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace NxTop.Agent;

/// <summary>Runs <c>xl info</c> once while the host starts, then every probe period.</summary>
internal sealed partial class XenProbeService(
    AgentConfig config,
    ProcessRunner runner,
    XenProbeState state,
    TimeProvider timeProvider,
    ILogger<XenProbeService> logger) : BackgroundService
{
    /// <summary>xl info answers in well under a second; a hung toolstack must not wedge the agent.</summary>
    public static readonly TimeSpan XlTimeout = TimeSpan.FromSeconds(10);

    private static readonly string[] XlInfoArguments = ["info"];

    private PeriodicTimer? _timer;

    // Only the probe loop touches these: it logs the facts when the agent starts or recovers, and
    // a failure when its reason changes, so that a broken toolstack does not flood the journal.
    private bool _previousSucceeded;
    private string? _previousFailure;

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        // The first probe runs before the host reports ready (sd_notify READY=1), so that a status
        // query right after `systemctl start` already sees the Xen facts.
        await ProbeAsync(cancellationToken).ConfigureAwait(false);

        // Created here, not in ExecuteAsync (which runs on the thread pool), so that the probe
        // period counts from the end of the first probe, deterministically for a FakeTimeProvider.
        _timer = new PeriodicTimer(AgentStatusReporter.ProbePeriod, timeProvider);
        await base.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var timer = _timer ?? throw new InvalidOperationException("the probe service has not started");
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                await ProbeAsync(stoppingToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    public override void Dispose()
    {
        _timer?.Dispose();
        base.Dispose();
    }

    /// <summary>Runs one probe and records its outcome; failures never escape, they make the agent unhealthy.</summary>
    public async Task ProbeAsync(CancellationToken cancellationToken)
    {
        try
        {
            var result = await runner.RunCheckedAsync(config.XlPath, XlInfoArguments, XlTimeout, cancellationToken).ConfigureAwait(false);
            var facts = XlInfo.ParseFacts(result.StandardOutput, timeProvider.GetUtcNow());
            state.RecordSuccess(facts);
            if (!_previousSucceeded)
            {
                LogXenFacts(facts.XenVersion, facts.XenMajor, facts.XenMinor, facts.TotalMemoryMiB, facts.FreeMemoryMiB,
                    facts.NrCpus, facts.VirtCaps, facts.XenCaps, facts.XenCommandline);
            }
            else
            {
                LogProbeSucceeded(facts.FreeMemoryMiB);
            }

            _previousSucceeded = true;
            _previousFailure = null;
        }
        catch (Exception ex) when (ex is ProcessFailedException or XlInfoFormatException or OverflowException)
        {
            state.RecordFailure(ex.Message, timeProvider.GetUtcNow());
            if (ex.Message != _previousFailure)
            {
                LogProbeFailed(ex.Message);
            }
            else
            {
                LogProbeStillFailing(ex.Message);
            }

            _previousSucceeded = false;
            _previousFailure = ex.Message;
        }
    }

    [LoggerMessage(EventId = 10, Level = LogLevel.Information,
        Message = "Xen {XenVersion} ({XenMajor}.{XenMinor}): total_memory={TotalMemoryMiB} MiB free_memory={FreeMemoryMiB} MiB nr_cpus={NrCpus} virt_caps='{VirtCaps}' xen_caps='{XenCaps}' xen_commandline='{XenCommandline}'")]
    private partial void LogXenFacts(string xenVersion, int xenMajor, int xenMinor, long totalMemoryMiB, long freeMemoryMiB,
        int nrCpus, string virtCaps, string xenCaps, string xenCommandline);

    [LoggerMessage(EventId = 11, Level = LogLevel.Debug, Message = "xl info probe succeeded, free_memory={FreeMemoryMiB} MiB")]
    private partial void LogProbeSucceeded(long freeMemoryMiB);

    [LoggerMessage(EventId = 12, Level = LogLevel.Warning, Message = "xl info probe failed, the agent is unhealthy: {Reason}")]
    private partial void LogProbeFailed(string reason);

    [LoggerMessage(EventId = 13, Level = LogLevel.Debug, Message = "xl info probe still fails: {Reason}")]
    private partial void LogProbeStillFailing(string reason);
}
