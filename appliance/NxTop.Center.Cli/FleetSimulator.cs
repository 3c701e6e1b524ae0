using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using NxTop.Agent.Storage;
using NxTop.Agent.Sync;
using NxTop.Contracts;
using NxTop.Contracts.Center;

namespace NxTop.Center.Cli;

/// <param name="InterruptDownloads">Cut every first blob response off half way, so that the agent's Range resume finishes each download.</param>
/// <param name="WorkDirectory">Where the agents keep their state (kept afterwards); null: a temporary directory, deleted at the end.</param>
public sealed record SimulationOptions(int Devices, TimeSpan Interval, TimeSpan Duration, int Concurrency, string Group = "simulated", string BaseName = "sim-desktop",
    bool InterruptDownloads = true, string? WorkDirectory = null);

public sealed record LatencySummary(string Operation, int Count, int Errors, double P50Ms, double P99Ms, double MaxMs);

public sealed record SimulationResult(
    int Devices,
    TimeSpan Interval,
    TimeSpan Duration,
    LatencySummary Enroll,
    LatencySummary CheckIn,
    LatencySummary SteadyCheckIn,
    LatencySummary Report,
    LatencySummary Download,
    double? CenterCpuPercent,
    IReadOnlyDictionary<string, int> ErrorKinds,
    ServerTimings? Server = null,
    int InterruptedDownloads = 0,
    int ResumedDownloads = 0);

/// <summary>
/// N simulated agents against one Center, each running the agent's own sync client
/// (<see cref="CenterClient"/>, <see cref="BlobDownloader"/> into its own <see cref="ContentStore"/>,
/// <see cref="ReportOutbox"/>) over one shared HTTP transport: enroll with a one-time token, then
/// every interval poll the desired state, fetch and verify the signed manifest and the blobs when the
/// generation moves, and post a status report through the outbox. With
/// <see cref="SimulationOptions.InterruptDownloads"/> every first blob response is cut off half way,
/// so each download is finished by the agent's Range resume. Devices are spread evenly over the
/// interval, as a real fleet's timers drift apart.
/// </summary>
public sealed class FleetSimulator(HttpClient admin, HttpMessageHandler transport, Uri centerUrl, TextWriter log, TimeProvider? time = null)
{
    private readonly ConcurrentDictionary<string, int> errorKinds = new(StringComparer.Ordinal);
    private readonly TimeProvider clock = time ?? TimeProvider.System;

    /// <summary>The agents' retries: as the agent's, but with short waits (a simulated drop is retried at once).</summary>
    private static readonly RetryPolicy SimulatorRetries = new(4, TimeSpan.FromMilliseconds(20), TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(60));

    public async Task<SimulationResult> RunAsync(SimulationOptions options, int? centerPid, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        await PrepareAsync(options, cancellationToken).ConfigureAwait(false);
        using var verifier = ManifestVerifier.FromPublicKeyPems([await admin.GetStringAsync(CenterRoutes.AdminPublisherKey, cancellationToken).ConfigureAwait(false)]);

        var tokens = new List<string>(options.Devices);
        for (var issued = 0; issued < options.Devices; issued += 10_000)
        {
            var count = Math.Min(10_000, options.Devices - issued);
            using var response = await admin.PostAsJsonAsync(CenterRoutes.AdminEnrollmentTokens, new EnrollmentTokenRequest(options.Group, count, 24),
                CenterJsonContext.Default.EnrollmentTokenRequest, cancellationToken).ConfigureAwait(false);
            await EnsureAsync(response, "issue tokens").ConfigureAwait(false);
            tokens.AddRange((await response.Content.ReadFromJsonAsync(CenterJsonContext.Default.EnrollmentTokensIssued, cancellationToken).ConfigureAwait(false))!.Tokens);
        }

        var root = options.WorkDirectory ?? DefaultWorkDirectory();
        Directory.CreateDirectory(root);
        try
        {
            using var interrupter = new InterruptingHandler(transport, options.InterruptDownloads);
            using var http = new HttpClient(interrupter, disposeHandler: false) { Timeout = Timeout.InfiniteTimeSpan };
            var center = new CenterClient(http, centerUrl);
            var result = await RunAgentsAsync(options, tokens, root, http, center, verifier, centerPid, cancellationToken).ConfigureAwait(false);
            return result with { InterruptedDownloads = interrupter.Interrupted, ResumedDownloads = interrupter.Resumed };
        }
        finally
        {
            if (options.WorkDirectory is null)
            {
                TryDeleteDirectory(root);
            }
        }
    }

    private async Task<SimulationResult> RunAgentsAsync(SimulationOptions options, List<string> tokens, string root, HttpClient http, CenterClient center, ManifestVerifier verifier,
        int? centerPid, CancellationToken cancellationToken)
    {
        var enrollTimes = new ConcurrentBag<double>();
        var enrolled = new ConcurrentBag<SimulatedAgent>();
        var enrollErrors = 0;
        await log.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"enrolling {options.Devices} devices (the agent's sync client, state under {root}) ...")).ConfigureAwait(false);
        await Parallel.ForEachAsync(Enumerable.Range(0, options.Devices), new ParallelOptions { MaxDegreeOfParallelism = options.Concurrency, CancellationToken = cancellationToken },
            async (i, ct) =>
            {
                var hostname = string.Create(CultureInfo.InvariantCulture, $"sim-{i:D5}");
                var agent = new SimulatedAgent(Path.Combine(root, hostname), center, http, SimulatorRetries, clock);
                var started = Stopwatch.GetTimestamp();
                try
                {
                    var response = await center.EnrollAsync(new EnrollmentRequest(tokens[i], hostname, Inventory(hostname)), ct).ConfigureAwait(false);
                    enrollTimes.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                    agent.State.SaveIdentity(new DeviceIdentity(response.DeviceId, response.Credential, clock.GetUtcNow()));
                    enrolled.Add(agent);
                }
                catch (Exception ex) when (IsAgentError(ex, ct))
                {
                    Count("enroll", ex);
                    Interlocked.Increment(ref enrollErrors);
                }
            }).ConfigureAwait(false);

        var checkIns = new ConcurrentBag<double>();
        var steadyCheckIns = new ConcurrentBag<double>();
        var reports = new ConcurrentBag<double>();
        var downloads = new ConcurrentBag<double>();
        var checkInErrors = 0;
        var steadyErrors = 0;
        var reportErrors = 0;
        var downloadErrors = 0;
        using (var clear = await admin.DeleteAsync(CenterRoutes.AdminTimings, cancellationToken).ConfigureAwait(false))
        {
            await EnsureAsync(clear, "clear the server timings").ConfigureAwait(false);
        }

        var cpuBefore = CpuTime(centerPid);
        var wall = Stopwatch.StartNew();
        await log.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
            $"{enrolled.Count} devices polling every {options.Interval.TotalSeconds:0.#} s for {options.Duration.TotalSeconds:0.#} s ...")).ConfigureAwait(false);
        var list = enrolled.OrderBy(a => a.Directory, StringComparer.Ordinal).ToList();
        var deadline = options.Duration;
        var runs = list.Select((agent, index) => Task.Run(async () =>
        {
            var offset = options.Interval * index / Math.Max(1, list.Count);
            await Task.Delay(offset, clock, cancellationToken).ConfigureAwait(false);
            var identity = agent.State.LoadIdentity()!;
            long seenGeneration = -1;
            var sequence = 0;
            while (wall.Elapsed < deadline && !cancellationToken.IsCancellationRequested)
            {
                var cycle = Stopwatch.GetTimestamp();
                // After the first cycle the fleet is in its steady state: no downloads, only polls and reports.
                var first = sequence == 0;
                var (checkedIn, desired) = await TimedAsync(first ? checkIns : steadyCheckIns, "check-in",
                    () => center.GetDesiredStateAsync(identity, cancellationToken), cancellationToken).ConfigureAwait(false);
                if (!checkedIn)
                {
                    Interlocked.Increment(ref first ? ref checkInErrors : ref steadyErrors);
                }
                else if (desired is not null && desired.Generation != seenGeneration)
                {
                    var (fetched, _) = await TimedAsync(downloads, "download", () => agent.FetchAsync(desired, verifier, cancellationToken), cancellationToken).ConfigureAwait(false);
                    if (fetched)
                    {
                        seenGeneration = desired.Generation;
                    }
                    else
                    {
                        Interlocked.Increment(ref downloadErrors);
                    }
                }

                sequence++;
                agent.Outbox.Enqueue(Report(identity.DeviceId, desired, seenGeneration));
                var (flushed, _) = await TimedAsync<object>(null, "report", async () =>
                {
                    // The agent's own queue: a report that fails stays queued and is sent again (same id) next time.
                    await agent.Outbox.FlushAsync(async (report, ct) =>
                    {
                        var started = Stopwatch.GetTimestamp();
                        await center.PostReportAsync(identity, report, ct).ConfigureAwait(false);
                        reports.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                    }, cancellationToken).ConfigureAwait(false);
                    return null;
                }, cancellationToken).ConfigureAwait(false);
                if (!flushed)
                {
                    Interlocked.Increment(ref reportErrors);
                }

                var rest = options.Interval - Stopwatch.GetElapsedTime(cycle);
                if (rest > TimeSpan.Zero)
                {
                    await Task.Delay(rest, clock, cancellationToken).ConfigureAwait(false);
                }
            }
        }, cancellationToken)).ToList();
        await Task.WhenAll(runs).ConfigureAwait(false);
        wall.Stop();
        var cpuAfter = CpuTime(centerPid);
        double? cpu = cpuBefore is { } before && cpuAfter is { } after ? (after - before).TotalMilliseconds / wall.Elapsed.TotalMilliseconds * 100 : null;
        var server = await admin.GetFromJsonAsync(CenterRoutes.AdminTimings, CenterJsonContext.Default.ServerTimings, cancellationToken).ConfigureAwait(false);

        return new SimulationResult(options.Devices, options.Interval, options.Duration,
            Summarise("enroll", enrollTimes, enrollErrors),
            Summarise("check-in, first (with downloads)", checkIns, checkInErrors),
            Summarise("check-in, steady", steadyCheckIns, steadyErrors),
            Summarise("report", reports, reportErrors),
            Summarise("download (manifest + blobs, verified)", downloads, downloadErrors),
            cpu,
            errorKinds.ToDictionary(StringComparer.Ordinal),
            server);
    }

    /// <summary>Under /dev/shm where there is one: thousands of agents' state files, fsynced as the agent does, cost no disk I/O there.</summary>
    private static string DefaultWorkDirectory()
    {
        var name = "nxtop-sim-" + Guid.NewGuid().ToString("N")[..12];
        return Directory.Exists("/dev/shm") ? Path.Combine("/dev/shm", name) : Path.Combine(Path.GetTempPath(), name);
    }

    private static void TryDeleteDirectory(string path)
    {
        try
        {
            Directory.Delete(path, recursive: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
        }
    }

    public static string Table(SimulationResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        var lines = new List<string>
        {
            string.Create(CultureInfo.InvariantCulture,
                $"{result.Devices} devices, one check-in each per {result.Interval.TotalSeconds:0.#} s, {result.Duration.TotalSeconds:0.#} s")
                + (result.CenterCpuPercent is { } cpu ? string.Create(CultureInfo.InvariantCulture, $", Center CPU {cpu:0.0}% of one core") : ""),
            "| operation | count | errors | p50 ms | p99 ms | max ms |",
            "|---|---:|---:|---:|---:|---:|",
        };
        foreach (var row in new[] { result.Enroll, result.CheckIn, result.SteadyCheckIn, result.Report, result.Download })
        {
            lines.Add(string.Create(CultureInfo.InvariantCulture, $"| {row.Operation} | {row.Count} | {row.Errors} | {row.P50Ms:0.0} | {row.P99Ms:0.0} | {row.MaxMs:0.0} |"));
        }

        if (result.InterruptedDownloads > 0 || result.ResumedDownloads > 0)
        {
            lines.Add(string.Create(CultureInfo.InvariantCulture,
                $"downloads cut off half way: {result.InterruptedDownloads}; finished with a Range resume (206): {result.ResumedDownloads}"));
        }

        foreach (var row in result.Server?.Operations ?? [])
        {
            lines.Add(string.Create(CultureInfo.InvariantCulture, $"| server: {row.Operation} | {row.Count} | | {row.P50Ms:0.0} | {row.P99Ms:0.0} | {row.MaxMs:0.0} |"));
        }

        foreach (var (kind, count) in result.ErrorKinds.OrderBy(e => e.Key, StringComparer.Ordinal))
        {
            lines.Add(string.Create(CultureInfo.InvariantCulture, $"error {kind}: {count}"));
        }

        return string.Join('\n', lines);
    }

    private async Task PrepareAsync(SimulationOptions options, CancellationToken cancellationToken)
    {
        using (var track = await admin.GetAsync(CenterRoutes.AdminTrack(options.BaseName), cancellationToken).ConfigureAwait(false))
        {
            if (track.StatusCode == HttpStatusCode.NotFound)
            {
                using var content = new ByteArrayContent(RandomNumberGenerator.GetBytes(256 * 1024));
                using var upload = await admin.PutAsync(CenterRoutes.AdminBlobs, content, cancellationToken).ConfigureAwait(false);
                await EnsureAsync(upload, "upload").ConfigureAwait(false);
                var blob = (await upload.Content.ReadFromJsonAsync(CenterJsonContext.Default.BlobUploaded, cancellationToken).ConfigureAwait(false))!;
                using var publish = await admin.PostAsJsonAsync(CenterRoutes.AdminContent,
                    new PublishRequest(ContentKind.Base, options.BaseName, null, [new PublishBlob(blob.Sha256, BlobRole.Disk, MediaTypes.Qcow2)], null, PublishChannel.Current, null),
                    CenterJsonContext.Default.PublishRequest, cancellationToken).ConfigureAwait(false);
                await EnsureAsync(publish, "publish").ConfigureAwait(false);
            }
            else
            {
                await EnsureAsync(track, "read the track").ConfigureAwait(false);
            }
        }

        using (var group = await admin.PostAsJsonAsync(CenterRoutes.AdminGroups, new GroupRequest(options.Group, GroupRing.General),
                   CenterJsonContext.Default.GroupRequest, cancellationToken).ConfigureAwait(false))
        {
            await EnsureAsync(group, "create the group").ConfigureAwait(false);
        }

        using var assign = await admin.PutAsJsonAsync(CenterRoutes.AdminGroupAssignment(options.Group),
            new AssignmentRequest(options.BaseName, null, [], new DevicePolicy(ImageMode.Shared, 300, 30, LockoutAction.None)),
            CenterJsonContext.Default.AssignmentRequest, cancellationToken).ConfigureAwait(false);
        await EnsureAsync(assign, "assign the group").ConfigureAwait(false);
    }

    private async Task<(bool Ok, T? Value)> TimedAsync<T>(ConcurrentBag<double>? times, string operation, Func<Task<T?>> call, CancellationToken cancellationToken)
        where T : class
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            var result = await call().ConfigureAwait(false);
            times?.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            return (true, result);
        }
        catch (Exception ex) when (IsAgentError(ex, cancellationToken))
        {
            Count(operation, ex);
            return (false, null);
        }
    }

    /// <summary>What the agent's sync client throws when the Center or the content is at fault (not a bug in the simulator).</summary>
    private static bool IsAgentError(Exception ex, CancellationToken cancellationToken) => ex switch
    {
        OperationCanceledException => !cancellationToken.IsCancellationRequested,
        HttpRequestException or CenterException or ContentRefusedException or DownloadFailedException or TransientDownloadException or IOException => true,
        _ => false,
    };

    private void Count(string operation, Exception ex)
    {
        var reason = ex switch
        {
            CenterException center => ((int)center.Status).ToString(CultureInfo.InvariantCulture),
            ContentRefusedException refused => refused.Kind.ToString(),
            HttpRequestException http when http.HttpRequestError != HttpRequestError.Unknown => http.HttpRequestError.ToString(),
            OperationCanceledException => "timeout",
            _ => ex.GetType().Name,
        };
        errorKinds.AddOrUpdate($"{operation} {reason}", 1, (_, n) => n + 1);
    }

    private static async Task EnsureAsync(HttpResponseMessage response, string what)
    {
        if (!response.IsSuccessStatusCode)
        {
            var body = await response.Content.ReadAsStringAsync().ConfigureAwait(false);
            throw new HttpRequestException($"{what}: {(int)response.StatusCode} {body}", null, response.StatusCode);
        }
    }

    private static LatencySummary Summarise(string operation, ConcurrentBag<double> times, int errors)
    {
        var sorted = times.Order().ToArray();
        return new LatencySummary(operation, sorted.Length, errors, Percentile(sorted, 0.50), Percentile(sorted, 0.99), sorted.Length == 0 ? 0 : sorted[^1]);
    }

    private static double Percentile(double[] sorted, double p) =>
        sorted.Length == 0 ? 0 : sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)];

    /// <summary>User + system CPU time of a process, from /proc (clock ticks of 10 ms on Linux).</summary>
    private static TimeSpan? CpuTime(int? pid)
    {
        if (pid is not { } id || !File.Exists($"/proc/{id}/stat"))
        {
            return null;
        }

        var stat = File.ReadAllText($"/proc/{id}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        return TimeSpan.FromMilliseconds(ticks * 10);
    }

    private StatusReport Report(string deviceId, DesiredState? desired, long installedGeneration) => new(
        Guid.CreateVersion7(clock.GetUtcNow()).ToString("n"),
        deviceId,
        "0.1.0-sim",
        clock.GetUtcNow(),
        new RunningVersions(desired is null || desired.Generation != installedGeneration ? null : new VersionRef(desired.Base.Name, desired.Base.Version), [], null, ImageMode.Shared),
        new GuestStatus("desktop", GuestState.Running, 1, true),
        [],
        null,
        null,
        desired?.Generation ?? 0);

    private static HardwareInventory Inventory(string hostname) => new(
        hostname,
        new CpuInfo("Simulated CPU", 4, "GenuineIntel"),
        8L << 30,
        [new DiskInfo("sda", 256L << 30, "simulated", null, false, false)],
        [new NicInfo("eth0", null, "up", 1000)],
        new DmiInfo("NxTop", "Simulator", null, null, null, null, null, null, null, null, null),
        null);
}
