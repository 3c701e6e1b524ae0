using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using NxTop.Contracts;

namespace NxTop.Center.Cli;

/// <param name="Devices">One run per fleet size, each against a fresh Center.</param>
/// <param name="CenterDll">A built <c>nxtop-center.dll</c>; null: build the Release one from the repository first.</param>
/// <param name="Pin">Pin the Center to core 0 (taskset) and this process to the others, when there are two cores or more.</param>
public sealed record BenchOptions(IReadOnlyList<int> Devices, TimeSpan Interval, TimeSpan Duration, int Concurrency, string OutPath, string? CenterDll = null, bool Pin = true);

/// <summary>One fleet size's outcome and where it ran.</summary>
public sealed record BenchRun(SimulationResult Result, string Placement);

/// <summary>
/// <c>nxtop-center-admin bench</c>: for each fleet size, starts its own Center process (Release, a
/// temporary data directory on the local disk, SQLite, pinned to one core with taskset when there
/// is one), runs the fleet simulator against it on 127.0.0.1, stops it, and writes a markdown table.
/// Fails (exit 1) when any call failed.
/// </summary>
public sealed class CenterBench(TextWriter log, TimeProvider? time = null)
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;

    public async Task<int> RunAsync(BenchOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        var started = _time.GetUtcNow();
        var load = LoadAverage();
        var dll = options.CenterDll ?? await BuildCenterAsync(cancellationToken).ConfigureAwait(false);
        var runs = new List<BenchRun>();
        foreach (var devices in options.Devices)
        {
            await using var center = await CenterProcess.StartAsync(dll, devices, options.Pin, log, cancellationToken).ConfigureAwait(false);
            await log.WriteLineAsync($"Center pid {center.Pid} at {center.Url} ({center.Placement}), data in {center.DataDirectory}").ConfigureAwait(false);
            using var admin = new HttpClient { BaseAddress = center.Url, Timeout = TimeSpan.FromMinutes(5) };
            admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue(ApiRoutes.AuthenticationScheme, center.AdminToken);
            using var transport = new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(10) };
            var result = await new FleetSimulator(admin, transport, center.Url, log)
                .RunAsync(new SimulationOptions(devices, options.Interval, options.Duration, options.Concurrency), center.Pid, cancellationToken).ConfigureAwait(false);
            await log.WriteLineAsync(FleetSimulator.Table(result)).ConfigureAwait(false);
            runs.Add(new BenchRun(result, center.Placement));
        }

        var markdown = Markdown(runs, started, Environment.ProcessorCount, load, _time.GetUtcNow() - started);
        var directory = Path.GetDirectoryName(Path.GetFullPath(options.OutPath));
        if (directory is not null)
        {
            Directory.CreateDirectory(directory);
        }

        await File.WriteAllTextAsync(options.OutPath, markdown, cancellationToken).ConfigureAwait(false);
        await log.WriteLineAsync($"wrote {options.OutPath}").ConfigureAwait(false);
        var errors = runs.Sum(r => Errors(r.Result));
        if (errors > 0)
        {
            await log.WriteLineAsync($"bench: {errors} failed calls").ConfigureAwait(false);
        }

        return errors == 0 ? 0 : 1;
    }

    public static int Errors(SimulationResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        return result.Enroll.Errors + result.CheckIn.Errors + result.SteadyCheckIn.Errors + result.Report.Errors + result.Download.Errors;
    }

    public static string Markdown(IReadOnlyList<BenchRun> runs, DateTimeOffset started, int cores, string load, TimeSpan took)
    {
        ArgumentNullException.ThrowIfNull(runs);
        var text = new StringBuilder();
        var inv = CultureInfo.InvariantCulture;
        text.AppendLine("# NxTop Center benchmark").AppendLine();
        text.AppendLine(inv, $"{started:yyyy-MM-dd HH:mm} UTC, {cores} cores, load average at the start {load}, {took.TotalSeconds:0} s in all.");
        if (runs.Count > 0)
        {
            var first = runs[0].Result;
            text.AppendLine(inv, $"Each run: a fresh Center ({runs[0].Placement}; Release, SQLite on a temporary directory), the fleet simulator (the agent's sync client) on 127.0.0.1, ")
                .AppendLine(inv, $"one check-in per device every {first.Interval.TotalSeconds:0} s for {first.Duration.TotalSeconds:0} s; the first cycle downloads a 256 KiB blob per device, cut half way and resumed with Range.");
        }

        text.AppendLine();
        text.AppendLine("| devices | check-in p50 / p99, steady | first check-in p50 / p99 | report p50 / p99 | errors | Center CPU (one core) |");
        text.AppendLine("|---:|---|---|---|---:|---:|");
        foreach (var run in runs)
        {
            var r = run.Result;
            text.AppendLine(inv, $"| {r.Devices:N0} | {Ms(r.SteadyCheckIn)} | {Ms(r.CheckIn)} | {Ms(r.Report)} | {Errors(r)} | {(r.CenterCpuPercent is { } cpu ? cpu.ToString("0.0", inv) + " %" : "n/a")} |");
        }

        foreach (var run in runs)
        {
            text.AppendLine().AppendLine(inv, $"## {run.Result.Devices:N0} devices").AppendLine();
            text.AppendLine(FleetSimulator.Table(run.Result));
        }

        return text.ToString();

        static string Ms(LatencySummary s) => s.Count == 0 ? "n/a" : string.Create(CultureInfo.InvariantCulture, $"{s.P50Ms:0.0} ms / {s.P99Ms:0.0} ms");
    }

    private static string LoadAverage()
    {
        try
        {
            return string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
        }
        catch (IOException)
        {
            return "n/a";
        }
    }

    /// <summary>Builds the Center in Release from the repository this command runs in (found by NxTop.sln above the working directory).</summary>
    private async Task<string> BuildCenterAsync(CancellationToken cancellationToken)
    {
        var root = RepositoryRoot() ?? throw new CliUsageException("bench: no NxTop.sln above the working directory; pass --center-dll PATH");
        var project = Path.Combine(root, "appliance", "NxTop.Center", "NxTop.Center.csproj");
        await log.WriteLineAsync($"building {project} (Release) ...").ConfigureAwait(false);
        using var build = Process.Start(new ProcessStartInfo("dotnet", ["build", project, "-c", "Release", "-nologo", "-v:q", "-m:1"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        var stdout = build.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = build.StandardError.ReadToEndAsync(cancellationToken);
        await build.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        if (build.ExitCode != 0)
        {
            throw new InvalidOperationException($"dotnet build {project} failed ({build.ExitCode}):\n{await stdout.ConfigureAwait(false)}{await stderr.ConfigureAwait(false)}");
        }

        var dll = Path.Combine(root, "artifacts", "bin", "NxTop.Center", "release", "nxtop-center.dll");
        return File.Exists(dll) ? dll : throw new InvalidOperationException($"the build did not produce {dll}");
    }

    private static string? RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(Environment.CurrentDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "NxTop.sln")))
            {
                return directory.FullName;
            }
        }

        return null;
    }
}

/// <summary>A Center as its own process on 127.0.0.1 and a free port, with a temporary data directory; killed and deleted on dispose.</summary>
internal sealed class CenterProcess : IAsyncDisposable
{
    private readonly Process process;
    private readonly StringBuilder output = new();

    private CenterProcess(Process process, Uri url, string dataDirectory, string placement)
    {
        this.process = process;
        Url = url;
        DataDirectory = dataDirectory;
        Placement = placement;
    }

    public Uri Url { get; }

    public string DataDirectory { get; }

    public string Placement { get; }

    public int Pid => process.Id;

    public string AdminToken => File.ReadAllText(Path.Combine(DataDirectory, "admin-token")).Trim();

    public static async Task<CenterProcess> StartAsync(string dll, int devices, bool pin, TextWriter log, CancellationToken cancellationToken)
    {
        if (!File.Exists(dll))
        {
            throw new CliUsageException($"bench: no Center at {dll}");
        }

        var port = FreePort();
        var url = new Uri(string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{port}"));
        var data = Directory.CreateTempSubdirectory("nxtop-center-bench-").FullName;
        var taskset = pin && Environment.ProcessorCount >= 2 ? FindOnPath("taskset") : null;
        var start = new ProcessStartInfo(taskset ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (taskset is not null)
        {
            start.ArgumentList.Add("-c");
            start.ArgumentList.Add("0");
            start.ArgumentList.Add("dotnet");
        }

        foreach (var argument in new[]
                 {
                     dll, "--urls", url.ToString().TrimEnd('/'), "--environment", "Production",
                     "--Center:DataDirectory=" + data,
                     string.Create(CultureInfo.InvariantCulture, $"--Center:EnrollmentPermitsPerMinute={Math.Max(devices * 2, 100)}"),
                     "--Logging:LogLevel:Default=Warning",
                 })
        {
            start.ArgumentList.Add(argument);
        }

        var placement = taskset is not null ? "pinned to core 0 with taskset" : "not pinned";
        if (taskset is not null)
        {
            // The simulator keeps off the Center's core.
            var mask = 0L;
            for (var core = 1; core < Math.Min(Environment.ProcessorCount, 63); core++)
            {
                mask |= 1L << core;
            }

            Process.GetCurrentProcess().ProcessorAffinity = (nint)mask;
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("could not start the Center");
        var center = new CenterProcess(process, url, data, placement);
        process.OutputDataReceived += (_, e) => center.Append(e.Data);
        process.ErrorDataReceived += (_, e) => center.Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await center.WaitUntilReadyAsync(TimeSpan.FromSeconds(60), cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await center.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        return center;
    }

    private void Append(string? line)
    {
        if (line is not null)
        {
            lock (output)
            {
                output.AppendLine(line);
            }
        }
    }

    public string Output
    {
        get
        {
            lock (output)
            {
                return output.ToString();
            }
        }
    }

    private async Task WaitUntilReadyAsync(TimeSpan limit, CancellationToken cancellationToken)
    {
        using var http = new HttpClient { BaseAddress = Url, Timeout = TimeSpan.FromSeconds(5) };
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"the Center exited with {process.ExitCode} before it answered:\n{Output}");
            }

            try
            {
                using var response = await http.GetAsync(new Uri("/healthz", UriKind.Relative), cancellationToken).ConfigureAwait(false);
                if (response.StatusCode == HttpStatusCode.OK && File.Exists(Path.Combine(DataDirectory, "admin-token")))
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
            }

            if (deadline.Elapsed > limit)
            {
                throw new TimeoutException($"the Center did not answer /healthz within {limit.TotalSeconds:0} s:\n{Output}");
            }

            await Task.Delay(100, cancellationToken).ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync().ConfigureAwait(false);
        }

        process.Dispose();
        try
        {
            Directory.Delete(DataDirectory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static string? FindOnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(directory => Path.Combine(directory, name))
            .FirstOrDefault(File.Exists);
}
