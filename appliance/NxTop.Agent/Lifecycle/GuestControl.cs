using System.Globalization;
using NxTop.Contracts;

namespace NxTop.Agent.Lifecycle;

internal sealed record GuestRuntime(GuestState State, int? DomainId);

/// <summary>Starts, stops and inspects the guest domain.</summary>
internal interface IGuestController
{
    Task<GuestRuntime> GetAsync(string name, CancellationToken cancellationToken);

    Task StartAsync(string configPath, CancellationToken cancellationToken);

    /// <summary>A clean shutdown within <paramref name="grace"/>, then destroy. A guest that is not there is fine.</summary>
    Task StopAsync(string name, TimeSpan grace, CancellationToken cancellationToken);

    Task PauseAsync(string name, CancellationToken cancellationToken);

    Task UnpauseAsync(string name, CancellationToken cancellationToken);
}

internal sealed record HealthResult(bool Healthy, string Reason);

/// <summary>Waits for the guest to say it is healthy.</summary>
internal interface IGuestHealthProbe
{
    Task<HealthResult> WaitAsync(string name, TimeSpan deadline, CancellationToken cancellationToken);
}

/// <summary>
/// <see cref="IGuestController"/> over <c>xl</c>. With <paramref name="scopeRunPath"/> (<c>systemd-run</c>), every
/// <c>xl create</c> runs in a transient scope unit of its own; see <see cref="ScopeArguments"/>.
/// </summary>
internal sealed class XlGuestController(ProcessRunner runner, string xlPath, TimeSpan? goneTimeout = null, string? scopeRunPath = null) : IGuestController
{
    /// <summary>The slice that holds the guests' scopes.</summary>
    public const string ScopeSlice = "nxtop-guests.slice";

    /// <summary>The unit that shuts the guest down when dom0 stops; the scopes are ordered before it, so they stop after it.</summary>
    public const string GuestStopUnit = "nxtop-guest-stop.service";

    private readonly TimeSpan _goneTimeout = goneTimeout ?? DefaultGoneTimeout;

    private static readonly TimeSpan XlTimeout = TimeSpan.FromSeconds(60);

    /// <summary>
    /// <c>xl create</c> of a guest with qdisk disks also starts its QEMU device model and waits for it (libxl allows
    /// it 60 s itself); on a slow or emulated CPU that alone can take most of a minute, so xl gets longer than that.
    /// </summary>
    public static readonly TimeSpan CreateTimeout = TimeSpan.FromSeconds(180);

    public async Task<GuestRuntime> GetAsync(string name, CancellationToken cancellationToken)
    {
        var result = await runner.RunAsync(xlPath, ["list", name], XlTimeout, cancellationToken).ConfigureAwait(false);
        return result.ExitCode != 0 ? new GuestRuntime(GuestState.Absent, null) : ParseList(result.StandardOutput, name);
    }

    /// <summary>
    /// Parses <c>xl list NAME</c>: a header, then "Name ID Mem VCPUs State Time(s)" where State is
    /// six flags, e.g. <c>-b----</c> or <c>--p---</c>.
    /// </summary>
    public static GuestRuntime ParseList(string output, string name)
    {
        foreach (var line in output.Split('\n'))
        {
            var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length >= 5 && fields[0] == name && int.TryParse(fields[1], NumberStyles.None, CultureInfo.InvariantCulture, out var domid))
            {
                var flags = fields[4];
                var state = flags.Contains('p', StringComparison.Ordinal) ? GuestState.Paused
                    : flags.Contains('s', StringComparison.Ordinal) || flags.Contains('c', StringComparison.Ordinal) || flags.Contains('d', StringComparison.Ordinal) ? GuestState.Stopped
                    : GuestState.Running;
                return new GuestRuntime(state, domid);
            }
        }

        return new GuestRuntime(GuestState.Absent, null);
    }

    public Task StartAsync(string configPath, CancellationToken cancellationToken) =>
        scopeRunPath is null
            ? runner.RunCheckedAsync(xlPath, ["create", configPath], CreateTimeout, cancellationToken)
            : runner.RunCheckedAsync(scopeRunPath, ScopeArguments(xlPath, configPath, Guid.NewGuid()), CreateTimeout, cancellationToken);

    /// <summary>
    /// <c>systemd-run --scope ... -- xl create CONFIG</c>. <c>xl create</c> leaves two processes behind: its watcher,
    /// which destroys the domain when the guest shuts down, and the qdisk device model (QEMU) that serves the guest's
    /// disks. As children of the agent they would sit in the agent's cgroup, and systemd kills that whole cgroup when
    /// the agent stops or restarts: the guest would lose its disks, and a guest that then shut down would never be
    /// destroyed (xendomains waited 300 s for one at every reboot). In a scope of their own they outlive the agent.
    /// The scope is ordered <c>Before=nxtop-guest-stop.service</c>: at shutdown that unit (ordered after the agent)
    /// shuts the guest down cleanly first, and only then is the scope stopped. The unit is named after the guest's
    /// directory (<c>guests/NAME/guest.cfg</c>) and <paramref name="id"/>, as one guest's scope may linger a moment
    /// after its domain is gone while the next one starts.
    /// </summary>
    public static IReadOnlyList<string> ScopeArguments(string xlPath, string configPath, Guid id)
    {
        var guest = Path.GetFileName(Path.GetDirectoryName(configPath)) is { Length: > 0 } dir && NxTop.Contracts.ManifestRules.IsValidName(dir)
            ? dir
            : "guest";
        return
        [
            "--scope", "--quiet", "--collect",
            $"--unit=nxtop-guest-{guest}-{id.ToString("N")[..12]}.scope",
            $"--slice={ScopeSlice}",
            $"--property=Before={GuestStopUnit}",
            $"--description=NxTop guest {guest} ({configPath})",
            "--", xlPath, "create", configPath,
        ];
    }

    /// <summary>How long a stopped guest may take to disappear from <c>xl list</c> (xl's own monitor destroys it).</summary>
    public static readonly TimeSpan DefaultGoneTimeout = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Stops the guest and returns once its name is free again. <c>xl shutdown -w</c> returns when the guest has shut
    /// down, but the domain goes only when the <c>xl create</c> that watches it destroys it, a moment later (on TCG,
    /// seconds): an <c>xl create</c> of the next version in that window fails with "Domain with name ... already
    /// exists", and an <c>xl destroy</c> then fails with "Device Model already exited". So this waits for the name to
    /// be gone, destroys what is still there, and treats a failed destroy of a guest that is gone by then as success.
    /// </summary>
    public async Task StopAsync(string name, TimeSpan grace, CancellationToken cancellationToken)
    {
        if ((await GetAsync(name, cancellationToken).ConfigureAwait(false)).State == GuestState.Absent)
        {
            return;
        }

        // No grace: destroy at once (an unhealthy guest being rolled back may never answer a shutdown). A guest that
        // does not shut down within the grace (xl is killed at the deadline) is destroyed too, never an error.
        if (grace > TimeSpan.Zero
            && await TryShutdownAsync(name, grace, cancellationToken).ConfigureAwait(false)
            && await WaitGoneAsync(name, _goneTimeout, cancellationToken).ConfigureAwait(false))
        {
            return;
        }

        var destroy = await runner.RunAsync(xlPath, ["destroy", name], XlTimeout, cancellationToken).ConfigureAwait(false);
        if (await WaitGoneAsync(name, _goneTimeout, cancellationToken).ConfigureAwait(false))
        {
            return;
        }

        var stderr = destroy.StandardError.Trim().ReplaceLineEndings(" | ");
        throw new ProcessFailedException(
            $"guest {name} is still there {_goneTimeout.TotalSeconds:0} s after 'xl destroy {name}' (exit code {destroy.ExitCode}{(stderr.Length > 0 ? ": " + stderr : "")})",
            destroy.ExitCode, destroy.StandardError);
    }

    private async Task<bool> TryShutdownAsync(string name, TimeSpan grace, CancellationToken cancellationToken)
    {
        try
        {
            return await runner.RunAsync(xlPath, ["shutdown", "-w", name], grace, cancellationToken).ConfigureAwait(false) is { ExitCode: 0 };
        }
        catch (ProcessFailedException)
        {
            // xl shutdown -w outlived the grace (seen on TCG: the guest ignored the request); destroy it instead.
            return false;
        }
    }

    private async Task<bool> WaitGoneAsync(string name, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var until = Environment.TickCount64 + (long)timeout.TotalMilliseconds;
        while (true)
        {
            if ((await GetAsync(name, cancellationToken).ConfigureAwait(false)).State == GuestState.Absent)
            {
                return true;
            }

            if (Environment.TickCount64 >= until)
            {
                return false;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(500), cancellationToken).ConfigureAwait(false);
        }
    }

    public Task PauseAsync(string name, CancellationToken cancellationToken) =>
        runner.RunCheckedAsync(xlPath, ["pause", name], XlTimeout, cancellationToken);

    public Task UnpauseAsync(string name, CancellationToken cancellationToken) =>
        runner.RunCheckedAsync(xlPath, ["unpause", name], XlTimeout, cancellationToken);
}

/// <summary>
/// The guest reports its health in one of two ways, whichever comes first:
/// <list type="bullet">
/// <item>xenstore: it writes <c>data/nxtop/health</c> (relative to its own domain path, which a guest
/// may write) as <c>ok</c> or <c>failed: REASON</c>; dom0 polls <c>xenstore-read /local/domain/DOMID/data/nxtop/health</c>.</item>
/// <item>its console: it prints a line <c>NXTOP_HEALTH=ok</c> (or <c>NXTOP_HEALTH=failed: REASON</c>);
/// dom0 reads the console log that xenconsoled keeps with <c>XENCONSOLED_TRACE=guest</c>
/// (<c>/var/log/xen/console/guest-NAME.log</c>), from where it ended when the check began.</item>
/// </list>
/// A guest that is gone before it said ok has failed; so has one that says nothing until the deadline.
/// </summary>
internal sealed class XenstoreHealthProbe(
    ProcessRunner runner,
    IGuestController guests,
    string xenstoreReadPath,
    TimeProvider timeProvider,
    string? consoleLogDirectory = null) : IGuestHealthProbe
{
    public const string HealthKey = "data/nxtop/health";

    public const string ConsoleMarker = "NXTOP_HEALTH=";

    public static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(2);

    public async Task<HealthResult> WaitAsync(string name, TimeSpan deadline, CancellationToken cancellationToken)
    {
        var until = timeProvider.GetUtcNow() + deadline;
        var lastSeen = "no health key yet";
        var consoleLog = consoleLogDirectory is null ? null : Path.Combine(consoleLogDirectory, $"guest-{name}.log");
        var consoleOffset = consoleLog is not null && File.Exists(consoleLog) ? new FileInfo(consoleLog).Length : 0;
        while (timeProvider.GetUtcNow() < until)
        {
            var guest = await guests.GetAsync(name, cancellationToken).ConfigureAwait(false);
            if (guest.State is GuestState.Absent or GuestState.Stopped || guest.DomainId is not { } domid)
            {
                return new HealthResult(false, $"the guest stopped before it reported healthy ({lastSeen})");
            }

            var read = await runner.RunAsync(xenstoreReadPath, [$"/local/domain/{domid}/{HealthKey}"], TimeSpan.FromSeconds(10), cancellationToken)
                .ConfigureAwait(false);
            if (read.ExitCode == 0 && Judge(read.StandardOutput.Trim(), "xenstore") is { } fromXenstore)
            {
                return fromXenstore;
            }

            if (read.ExitCode == 0)
            {
                lastSeen = $"last value '{read.StandardOutput.Trim()}'";
            }

            if (consoleLog is not null && ReadConsoleMarker(consoleLog, ref consoleOffset) is { } marker && Judge(marker, "console") is { } fromConsole)
            {
                return fromConsole;
            }

            await Task.Delay(PollInterval, timeProvider, cancellationToken).ConfigureAwait(false);
        }

        return new HealthResult(false, $"no healthy signal within {deadline.TotalSeconds:0} s ({lastSeen})");
    }

    private static HealthResult? Judge(string value, string source) =>
        value == "ok" ? new HealthResult(true, $"the guest reported ok ({source})")
        : value.StartsWith("failed", StringComparison.Ordinal) ? new HealthResult(false, $"the guest reported '{value}' ({source})")
        : null;

    /// <summary>The value of the last complete marker line written since <paramref name="offset"/>; advances the offset past complete lines.</summary>
    internal static string? ReadConsoleMarker(string path, ref long offset)
    {
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            if (stream.Length < offset)
            {
                offset = 0; // rotated or truncated
            }

            stream.Seek(offset, SeekOrigin.Begin);
            using var reader = new StreamReader(stream);
            var text = reader.ReadToEnd();
            var complete = text.LastIndexOf('\n');
            if (complete < 0)
            {
                return null;
            }

            offset += System.Text.Encoding.UTF8.GetByteCount(text.AsSpan(0, complete + 1));
            string? value = null;
            foreach (var line in text[..complete].Split('\n'))
            {
                var at = line.IndexOf(ConsoleMarker, StringComparison.Ordinal);
                if (at >= 0)
                {
                    value = line[(at + ConsoleMarker.Length)..].Trim();
                }
            }

            return value;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
