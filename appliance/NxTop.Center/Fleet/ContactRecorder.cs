using System.Collections.Concurrent;

namespace NxTop.Center.Fleet;

/// <summary>
/// Last-contact times, kept in memory and written in one transaction every few seconds, so that a
/// device's poll is a read-only request. A crash loses at most the last flush period of contact
/// times (never a report, an enrollment or anything else the Center acknowledged).
/// </summary>
public sealed class ContactRecorder(TimeProvider time)
{
    private ConcurrentDictionary<string, long> pending = new(StringComparer.Ordinal);

    public void Touch(string deviceId) => pending[deviceId] = time.GetUtcNow().ToUnixTimeMilliseconds();

    /// <summary>Takes what was recorded since the last call.</summary>
    public IReadOnlyCollection<KeyValuePair<string, long>> Drain()
    {
        var taken = Interlocked.Exchange(ref pending, new ConcurrentDictionary<string, long>(StringComparer.Ordinal));
        return taken.ToArray();
    }
}

/// <summary>Writes the recorded contact times every two seconds, and once more at shutdown.</summary>
public sealed class ContactFlusher(ContactRecorder contacts, Storage.ICenterStore store, TimeProvider time) : BackgroundService
{
    public static readonly TimeSpan Period = TimeSpan.FromSeconds(2);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Period, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                await FlushAsync(stoppingToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        await FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    public Task FlushAsync(CancellationToken cancellationToken) => store.TouchDevicesAsync(contacts.Drain(), cancellationToken);
}
