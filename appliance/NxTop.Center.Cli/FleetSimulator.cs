using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using NxTop.Contracts;
using NxTop.Contracts.Center;

namespace NxTop.Center.Cli;

public sealed record SimulationOptions(int Devices, TimeSpan Interval, TimeSpan Duration, int Concurrency, string Group = "simulated", string BaseName = "sim-desktop");

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
    ServerTimings? Server = null);

/// <summary>
/// N simulated agents against one Center, over HTTP with the contract types: enroll with a
/// one-time token, then every interval poll the desired state, fetch the manifest and blobs when
/// the generation moves (with Range, as an agent resumes), and post a status report. Devices are
/// spread evenly over the interval, as a real fleet's timers drift apart.
/// </summary>
public sealed class FleetSimulator(HttpClient admin, HttpClient devices, TextWriter log, TimeProvider? time = null)
{
    private readonly ConcurrentDictionary<string, int> errorKinds = new(StringComparer.Ordinal);

    public async Task<SimulationResult> RunAsync(SimulationOptions options, int? centerPid, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        await PrepareAsync(options, cancellationToken).ConfigureAwait(false);

        var tokens = new List<string>(options.Devices);
        for (var issued = 0; issued < options.Devices; issued += 10_000)
        {
            var count = Math.Min(10_000, options.Devices - issued);
            using var response = await admin.PostAsJsonAsync(CenterRoutes.AdminEnrollmentTokens, new EnrollmentTokenRequest(options.Group, count, 24),
                CenterJsonContext.Default.EnrollmentTokenRequest, cancellationToken).ConfigureAwait(false);
            await EnsureAsync(response, "issue tokens").ConfigureAwait(false);
            tokens.AddRange((await response.Content.ReadFromJsonAsync(CenterJsonContext.Default.EnrollmentTokensIssued, cancellationToken).ConfigureAwait(false))!.Tokens);
        }

        var enrollTimes = new ConcurrentBag<double>();
        var enrolled = new ConcurrentBag<EnrollmentResponse>();
        var enrollErrors = 0;
        await log.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"enrolling {options.Devices} devices ...")).ConfigureAwait(false);
        await Parallel.ForEachAsync(Enumerable.Range(0, options.Devices), new ParallelOptions { MaxDegreeOfParallelism = options.Concurrency, CancellationToken = cancellationToken },
            async (i, ct) =>
            {
                var hostname = string.Create(CultureInfo.InvariantCulture, $"sim-{i:D5}");
                var started = Stopwatch.GetTimestamp();
                try
                {
                    using var response = await devices.PostAsJsonAsync(ApiRoutes.Enroll, new EnrollmentRequest(tokens[i], hostname, Inventory(hostname)),
                        ContractsJsonContext.Default.EnrollmentRequest, ct).ConfigureAwait(false);
                    enrollTimes.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                    if (response.IsSuccessStatusCode)
                    {
                        enrolled.Add((await response.Content.ReadFromJsonAsync(ContractsJsonContext.Default.EnrollmentResponse, ct).ConfigureAwait(false))!);
                        return;
                    }

                    Count("enroll " + (int)response.StatusCode);
                }
                catch (HttpRequestException ex)
                {
                    Count("enroll " + ex.HttpRequestError);
                }

                Interlocked.Increment(ref enrollErrors);
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
        var list = enrolled.ToList();
        var deadline = options.Duration;
        var runs = list.Select((device, index) => Task.Run(async () =>
        {
            var offset = options.Interval * index / Math.Max(1, list.Count);
            await Task.Delay(offset, cancellationToken).ConfigureAwait(false);
            long seenGeneration = -1;
            var sequence = 0;
            while (wall.Elapsed < deadline && !cancellationToken.IsCancellationRequested)
            {
                var cycle = Stopwatch.GetTimestamp();
                // After the first cycle the fleet is in its steady state: no downloads, only polls and reports.
                var desired = await TimedAsync(sequence == 0 ? checkIns : steadyCheckIns, () => CheckInAsync(device, cancellationToken), () => Interlocked.Increment(ref sequence == 0 ? ref checkInErrors : ref steadyErrors)).ConfigureAwait(false);
                if (desired is not null && desired.Generation != seenGeneration)
                {
                    var fetched = await TimedAsync(downloads, () => DownloadAsync(device, desired, cancellationToken), () => Interlocked.Increment(ref downloadErrors)).ConfigureAwait(false);
                    if (fetched is not null)
                    {
                        seenGeneration = desired.Generation;
                    }
                }

                var report = Report(device.DeviceId, string.Create(CultureInfo.InvariantCulture, $"{device.DeviceId}-{sequence++}"), desired);
                await TimedAsync(reports, () => ReportAsync(device, report, cancellationToken), () => Interlocked.Increment(ref reportErrors)).ConfigureAwait(false);
                var rest = options.Interval - Stopwatch.GetElapsedTime(cycle);
                if (rest > TimeSpan.Zero)
                {
                    await Task.Delay(rest, cancellationToken).ConfigureAwait(false);
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
            Summarise("download", downloads, downloadErrors),
            cpu,
            errorKinds.ToDictionary(StringComparer.Ordinal),
            server);
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

    private async Task<DesiredState?> CheckInAsync(EnrollmentResponse device, CancellationToken cancellationToken)
    {
        using var request = Request(HttpMethod.Get, ApiRoutes.DesiredState(device.DeviceId), device);
        using var response = await devices.SendAsync(request, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.NoContent)
        {
            return null;
        }

        await EnsureAsync(response, "check-in").ConfigureAwait(false);
        return await response.Content.ReadFromJsonAsync(ContractsJsonContext.Default.DesiredState, cancellationToken).ConfigureAwait(false);
    }

    private async Task<DesiredState?> DownloadAsync(EnrollmentResponse device, DesiredState desired, CancellationToken cancellationToken)
    {
        using var manifestRequest = Request(HttpMethod.Get, desired.Base.ManifestUrl, device);
        using var manifestResponse = await devices.SendAsync(manifestRequest, cancellationToken).ConfigureAwait(false);
        await EnsureAsync(manifestResponse, "manifest").ConfigureAwait(false);
        var signed = (await manifestResponse.Content.ReadFromJsonAsync(ContractsJsonContext.Default.SignedManifest, cancellationToken).ConfigureAwait(false))!;
        var manifest = System.Text.Json.JsonSerializer.Deserialize(Convert.FromBase64String(signed.Payload), ContractsJsonContext.Default.ContentManifest)!;
        foreach (var blob in manifest.Blobs)
        {
            // Two halves, as an agent resuming after an interruption would fetch them.
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            var half = blob.Size / 2;
            foreach (var (from, to) in new[] { (0L, half - 1), (half, blob.Size - 1) })
            {
                using var request = Request(HttpMethod.Get, ApiRoutes.Blob(blob.Sha256), device);
                request.Headers.Range = new RangeHeaderValue(from, to);
                using var response = await devices.SendAsync(request, cancellationToken).ConfigureAwait(false);
                await EnsureAsync(response, "blob").ConfigureAwait(false);
                hash.AppendData(await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false));
            }

            if (Convert.ToHexStringLower(hash.GetHashAndReset()) != blob.Sha256)
            {
                throw new HttpRequestException($"blob {blob.Sha256} arrived with another hash");
            }
        }

        return desired;
    }

    private async Task<DesiredState?> ReportAsync(EnrollmentResponse device, StatusReport report, CancellationToken cancellationToken)
    {
        using var request = Request(HttpMethod.Post, ApiRoutes.Reports(device.DeviceId), device);
        request.Content = JsonContent.Create(report, ContractsJsonContext.Default.StatusReport);
        using var response = await devices.SendAsync(request, cancellationToken).ConfigureAwait(false);
        await EnsureAsync(response, "report").ConfigureAwait(false);
        return null;
    }

    private async Task<T?> TimedAsync<T>(ConcurrentBag<double> times, Func<Task<T?>> call, Action onError)
        where T : class
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            var result = await call().ConfigureAwait(false);
            times.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            return result;
        }
        catch (HttpRequestException ex)
        {
            Count(ex.Message.Length > 60 ? ex.Message[..60] : ex.Message);
            onError();
            return null;
        }
        catch (TaskCanceledException)
        {
            Count("timeout");
            onError();
            return null;
        }
    }

    private void Count(string kind) => errorKinds.AddOrUpdate(kind, 1, (_, n) => n + 1);

    private static HttpRequestMessage Request(HttpMethod method, string path, EnrollmentResponse device)
    {
        var request = new HttpRequestMessage(method, path);
        request.Headers.Authorization = new AuthenticationHeaderValue(ApiRoutes.AuthenticationScheme, device.Credential);
        return request;
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

    private StatusReport Report(string deviceId, string reportId, DesiredState? desired) => new(
        reportId,
        deviceId,
        "0.1.0-sim",
        (time ?? TimeProvider.System).GetUtcNow(),
        new RunningVersions(desired is null ? null : new VersionRef(desired.Base.Name, desired.Base.Version), [], null, ImageMode.Shared),
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
