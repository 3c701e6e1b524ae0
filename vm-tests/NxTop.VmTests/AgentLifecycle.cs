using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using NxTop.Center.Content;
using NxTop.Center.Hosting;
using NxTop.Center.Storage;
using NxTop.Contracts;
using NxTop.Contracts.Center;
using NxTop.Qemu.TestContent;

namespace NxTop.VmTests;

/// <summary>
/// What the agent life-cycle steps share: the in-process Center the agent in dom0 reaches at 10.0.2.2, the test
/// content, the device id and the numbers measured on the way. One per test class; disposing stops the Center.
/// </summary>
public sealed class AgentLifecycle : IAsyncLifetime
{
    /// <summary>The group the token enrolls the device into, and the group the content is assigned to.</summary>
    public const string Group = "vmtest";

    /// <summary>The health-check deadline of the policy: long enough for the test guest to boot under TCG.</summary>
    public const int HealthDeadlineSeconds = 120;

    public static DevicePolicy Policy { get; } = new(ImageMode.Shared, HealthDeadlineSeconds, 0, LockoutAction.None);

    public RepoLayout Repo { get; } = RepoLayout.Current();

    public CenterHost? Center { get; private set; }

    public TestGuestSet? Content { get; set; }

    public string? DeviceId { get; set; }

    /// <summary>Where the Center keeps its data (kept after the run, next to the serial log).</summary>
    public string CenterDirectory => Path.Combine(Repo.VmLogs, $"{Scenario.AgentDisk}.center");

    public string ContentDirectory => Path.Combine(Repo.VmLogs, $"{Scenario.AgentDisk}.content");

    /// <summary>The test publisher key the vmtest profile's agent trusts (TEST ONLY, see vm-tests/keys/README.md).</summary>
    public string PublisherKeyPath => Path.Combine(Repo.Root, "vm-tests", "keys", "vmtest-publisher.key.pem");

    private int _port;

    /// <summary>Starts a new, empty Center on a free port.</summary>
    public async Task<CenterHost> StartCenterAsync()
    {
        if (Directory.Exists(CenterDirectory))
        {
            Directory.Delete(CenterDirectory, recursive: true);
        }

        Directory.CreateDirectory(CenterDirectory);
        Center = await StartCenterOnAsync(0);
        _port = Center.Url.Port;
        return Center;
    }

    /// <summary>Starts the stopped Center again, on its data and its port (the device knows it by that URL).</summary>
    public async Task<CenterHost> RestartCenterAsync()
    {
        if (_port == 0)
        {
            throw new InvalidOperationException("The Center never ran: an earlier step failed.");
        }

        await StopCenterAsync();
        Center = await StartCenterOnAsync(_port);
        return Center;
    }

    private Task<CenterHost> StartCenterOnAsync(int port) => CenterHost.StartAsync(new CenterHostOptions
    {
        DataDirectory = CenterDirectory,
        Port = port,
        Settings = new Dictionary<string, string> { ["Center:PublisherKeyPath"] = PublisherKeyPath },
    });

    public async Task StopCenterAsync()
    {
        if (Center is { } center)
        {
            Center = null;
            await center.DisposeAsync();
        }
    }

    /// <summary>The Center's stored copy of a blob, for the corrupted-download step.</summary>
    public string StoredBlobPath(string sha256) =>
        Center!.Services.GetRequiredService<BlobStore>().PathOf(sha256) ?? throw new InvalidOperationException($"The Center has no blob {sha256}.");

    /// <summary>
    /// Publishes <paramref name="blobs"/> as the next version of the base with an UNSIGNED manifest, straight into the
    /// Center's store (its admin API always signs): what a compromised or broken content server would serve.
    /// </summary>
    public async Task<long> PublishUnsignedBaseAsync(IReadOnlyList<ManifestBlob> blobs, long version)
    {
        var manifest = new ContentManifest(ContentKind.Base, TestGuestSet.BaseName, version, blobs, DateTimeOffset.UtcNow, null, TestGuestScripts.KernelCommandLine);
        var payload = JsonSerializer.SerializeToUtf8Bytes(manifest, ContractsJsonContext.Default.ContentManifest);
        var unsigned = new SignedManifest(Convert.ToBase64String(payload), null);
        var record = new ArtifactRecord(ContentKind.Base, TestGuestSet.BaseName, version,
            JsonSerializer.Serialize(unsigned, ContractsJsonContext.Default.SignedManifest), blobs, manifest.Created.ToUnixTimeMilliseconds());
        var store = Center!.Services.GetRequiredService<ICenterStore>();
        if (!await store.PublishArtifactAsync(record, makeCurrent: true, makeStaged: false, CancellationToken.None))
        {
            throw new InvalidOperationException($"{TestGuestSet.BaseName} version {version} is published already.");
        }

        return version;
    }

    public async Task<IReadOnlyList<ManifestBlob>> BlobsOfAsync(string name, long version) =>
        (await Center!.Services.GetRequiredService<ICenterStore>().GetArtifactAsync(name, version, CancellationToken.None)
            ?? throw new InvalidOperationException($"{name} version {version} is not published.")).Blobs;

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync() => StopCenterAsync();
}

/// <summary>Reads the agent's state in dom0 over SSH: <c>nxtopctl</c>, the guest console log, xl, the journal.</summary>
internal sealed class Dom0(SshSession ssh)
{
    public const string ConsoleLog = "/var/log/xen/console/guest-desktop.log";

    /// <summary>Each console line with dom0's clock in front (seconds since the epoch), written by <see cref="StartConsoleClockAsync"/>.</summary>
    public const string TimedConsoleLog = "/run/nxtop-vmtest-console.log";

    public const string BlobDirectory = "/var/lib/nxtop/blobs/sha256";

    public async Task<JsonElement> VersionsAsync() => Parse((await ssh.RunAsync("nxtopctl versions --json")).Stdout);

    public async Task<IReadOnlyList<JsonElement>> HistoryAsync() =>
        [.. Parse((await ssh.RunAsync("nxtopctl history --json")).Stdout).EnumerateArray()];

    public async Task<string> ConsoleAsync() => (await ssh.TryRunAsync($"cat {ConsoleLog} 2>/dev/null")).Stdout;

    public async Task<string> RunAsync(string command) => (await ssh.RunAsync(command)).Stdout;

    public async Task<CommandResult> TryRunAsync(string command) => await ssh.TryRunAsync(command);

    public Task SyncNowAsync() => ssh.RunAsync("nxtopctl sync-now");

    /// <summary>The blobs in the agent's store: sha256 → size.</summary>
    public async Task<IReadOnlyDictionary<string, long>> BlobsAsync()
    {
        var text = (await ssh.TryRunAsync($"cd {BlobDirectory} 2>/dev/null && stat -c '%n %s' * 2>/dev/null")).Stdout;
        return text.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Split(' '))
            .Where(p => p.Length == 2 && p[0].Length == 64)
            .ToDictionary(p => p[0], p => long.Parse(p[1], CultureInfo.InvariantCulture));
    }

    /// <summary>The desktop guest's domain id, or null when it does not run.</summary>
    public async Task<int?> DomainIdAsync()
    {
        var result = await ssh.TryRunAsync("xl domid desktop 2>/dev/null");
        return result.Succeeded && int.TryParse(result.Stdout.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var id) ? id : null;
    }

    /// <summary>Starts a background copy of the guest console log with dom0's clock on every line (for the rollback timing).</summary>
    public Task StartConsoleClockAsync() => ssh.RunAsync(
        $"touch {ConsoleLog}; nohup setsid sh -c 'tail -n0 -F {ConsoleLog} | while IFS= read -r l; do printf \"%s %s\\n\" \"$(date +%s.%N)\" \"$l\"; done >> {TimedConsoleLog}' "
        + ">/dev/null 2>&1 </dev/null &");

    /// <summary>The agent's journal lines since <paramref name="since"/> (dom0's clock, epoch seconds) with their time, oldest first.</summary>
    public async Task<IReadOnlyList<(double At, string Message)>> AgentJournalAsync(double since)
    {
        var text = (await ssh.RunAsync(
            $"journalctl -u nxtop-agent -o json --no-pager --since @{since.ToString("0", CultureInfo.InvariantCulture)} --output-fields=MESSAGE,__REALTIME_TIMESTAMP")).Stdout;
        var lines = new List<(double, string)>();
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            using var doc = JsonDocument.Parse(line);
            var at = long.Parse(doc.RootElement.GetProperty("__REALTIME_TIMESTAMP").GetString()!, CultureInfo.InvariantCulture) / 1e6;
            var message = doc.RootElement.TryGetProperty("MESSAGE", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString()! : "";
            lines.Add((at, message));
        }

        return lines;
    }

    /// <summary>dom0's clock, epoch seconds.</summary>
    public async Task<double> NowAsync() =>
        double.Parse((await ssh.RunAsync("date +%s.%N")).Stdout.Trim(), CultureInfo.InvariantCulture);

    public static string Ref(JsonElement element) =>
        element.ValueKind == JsonValueKind.Object ? $"{element.GetProperty("name").GetString()}/{element.GetProperty("version").GetInt64()}" : "none";

    private static JsonElement Parse(string json)
    {
        using var doc = JsonDocument.Parse(json);
        return doc.RootElement.Clone();
    }
}

/// <summary>Deadline-bound polling that says what it saw.</summary>
internal static class Poll
{
    public static async Task<T> UntilAsync<T>(string what, TimeSpan deadline, Func<Task<(bool Done, T Value, string Seen)>> probe, ITestOutputHelper output,
        TimeSpan? interval = null)
    {
        var started = TimeProvider.System.GetTimestamp();
        var seen = "nothing yet";
        while (true)
        {
            var (done, value, now) = await probe();
            seen = now;
            if (done)
            {
                output.WriteLine($"[{TimeProvider.System.GetElapsedTime(started).TotalSeconds,6:0.0} s] {what}: {seen}");
                return value;
            }

            if (TimeProvider.System.GetElapsedTime(started) > deadline)
            {
                throw new TimeoutException($"{what}: not within {deadline.TotalSeconds:0} s; last seen: {seen}");
            }

            await Task.Delay(interval ?? TimeSpan.FromSeconds(5));
        }
    }

    public static string Lines(string text, params string[] markers)
    {
        var sb = new StringBuilder();
        foreach (var line in text.Split('\n'))
        {
            if (markers.Any(m => line.Contains(m, StringComparison.Ordinal)))
            {
                sb.Append("\n    | ").Append(line.TrimEnd('\r'));
            }
        }

        return sb.ToString();
    }
}
