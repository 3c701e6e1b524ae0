using System.Collections.Concurrent;
using NxTop.Agent.Lifecycle;
using NxTop.Agent.Storage;
using NxTop.Contracts;
using static NxTop.Agent.Tests.Qcow2;

namespace NxTop.Agent.Tests;

/// <summary>Serves signed manifests from memory and blobs from the publisher's directory, through the store's checks.</summary>
internal sealed class FakeFetcher(ContentStore store, Publisher publisher) : IContentFetcher
{
    public Dictionary<(string Name, long Version), SignedManifest> Manifests { get; } = [];

    public List<string> BlobsFetched { get; } = [];

    public Exception? Failure { get; set; }

    public void Add(SignedManifest envelope)
    {
        var manifest = System.Text.Json.JsonSerializer.Deserialize(Convert.FromBase64String(envelope.Payload), ContractsJsonContext.Default.ContentManifest)!;
        Manifests[(manifest.Name, manifest.Version)] = envelope;
    }

    public Task<SignedManifest> GetManifestAsync(ContentRef content, CancellationToken cancellationToken)
    {
        if (Failure is { } failure)
        {
            throw failure;
        }

        return Manifests.TryGetValue((content.Name, content.Version), out var envelope)
            ? Task.FromResult(envelope)
            : throw new HttpRequestException($"no manifest {content.Name}/{content.Version}");
    }

    public Task FetchBlobAsync(ManifestBlob blob, CancellationToken cancellationToken)
    {
        if (Failure is { } failure)
        {
            throw failure;
        }

        BlobsFetched.Add(blob.Sha256);
        store.ImportFile(publisher.BlobPath(blob), blob);
        return Task.CompletedTask;
    }
}

/// <summary>A guest controller that keeps the domain in memory and remembers the configs it started.</summary>
internal sealed class FakeGuests : IGuestController
{
    private int _nextDomid = 1;

    public GuestRuntime Runtime { get; set; } = new(GuestState.Absent, null);

    public List<string> StartedConfigs { get; } = [];

    public List<string> Actions { get; } = [];

    public Func<string, Exception?>? StartFailure { get; set; }

    public Task<GuestRuntime> GetAsync(string name, CancellationToken cancellationToken) => Task.FromResult(Runtime);

    public Task StartAsync(string configPath, CancellationToken cancellationToken)
    {
        var text = File.ReadAllText(configPath);
        Actions.Add("start");
        if (StartFailure?.Invoke(text) is { } failure)
        {
            throw failure;
        }

        StartedConfigs.Add(text);
        Runtime = new GuestRuntime(GuestState.Running, _nextDomid++);
        return Task.CompletedTask;
    }

    /// <summary>Called with the grace of each stop; an exception it returns is thrown (the guest keeps running).</summary>
    public Func<TimeSpan, Exception?>? StopFailure { get; set; }

    public Task StopAsync(string name, TimeSpan grace, CancellationToken cancellationToken)
    {
        Actions.Add("stop");
        if (StopFailure?.Invoke(grace) is { } failure)
        {
            throw failure;
        }

        Runtime = new GuestRuntime(GuestState.Absent, null);
        return Task.CompletedTask;
    }

    public Task PauseAsync(string name, CancellationToken cancellationToken)
    {
        Actions.Add("pause");
        Runtime = Runtime with { State = GuestState.Paused };
        return Task.CompletedTask;
    }

    public Task UnpauseAsync(string name, CancellationToken cancellationToken)
    {
        Actions.Add("unpause");
        Runtime = Runtime with { State = GuestState.Running };
        return Task.CompletedTask;
    }

    public string LastConfig => StartedConfigs[^1];
}

/// <summary>
/// Answers health checks by looking at what the guest was started on: the backing file of its
/// writable top (read with the real qemu-img) and the config's disks.
/// </summary>
internal sealed class FakeHealth(FakeGuests guests, string osTopPath) : IGuestHealthProbe
{
    /// <summary>Blob hashes whose presence in the config makes the guest unhealthy.</summary>
    public HashSet<string> BadBlobs { get; } = [];

    public ConcurrentQueue<TimeSpan> Deadlines { get; } = new();

    public TaskCompletionSource<HealthResult>? Pending { get; set; }

    public Task<HealthResult> WaitAsync(string name, TimeSpan deadline, CancellationToken cancellationToken)
    {
        Deadlines.Enqueue(deadline);
        if (Pending is { } pending)
        {
            return pending.Task.WaitAsync(cancellationToken);
        }

        var backing = BackingOf(osTopPath) ?? "";
        var bad = BadBlobs.FirstOrDefault(b => guests.LastConfig.Contains(b, StringComparison.Ordinal) || backing.EndsWith(b, StringComparison.Ordinal));
        return Task.FromResult(bad is null ? new HealthResult(true, "the guest reported ok") : new HealthResult(false, "no healthy signal within 120 s"));
    }
}

internal static class Qcow2
{
    public static string? BackingOf(string image)
    {
        var json = Publisher.Run("qemu-img", "info", "-U", "--output=json", image);
        using var document = System.Text.Json.JsonDocument.Parse(json);
        return document.RootElement.TryGetProperty("backing-filename", out var backing) ? backing.GetString() : null;
    }
}

/// <summary>A power cut at a named step of the transaction.</summary>
internal sealed class SimulatedPowerCut(string step) : Exception($"power cut at '{step}'")
{
    public string Step { get; } = step;
}
