using System.Globalization;
using System.Runtime.ExceptionServices;
using System.Text;
using Renci.SshNet.Common;
using Xunit.Sdk;

namespace NxTop.VmTests;

/// <summary>
/// One boot of the appliance per test collection. A failure to find the image or to boot it is kept and rethrown
/// by every test of the collection, with the serial log's tail in the message; disposing kills QEMU.
/// </summary>
public abstract class VmFixture : IAsyncLifetime
{
    /// <summary>Overrides the boot deadline, in seconds.</summary>
    public const string BootTimeoutVariable = "NXTOP_BOOT_TIMEOUT";

    private readonly IMessageSink _diagnostics;
    private readonly StringBuilder _log = new();
    private Exception? _failure;
    private ApplianceImage? _image;
    private SshSession? _ssh;
    private readonly List<string> _httpRequests = [];

    protected VmFixture(Scenario scenario, IMessageSink diagnostics)
    {
        Scenario = scenario;
        _diagnostics = diagnostics;
    }

    /// <summary>Which boot this is.</summary>
    public Scenario Scenario { get; }

    /// <summary>The repository (for artifacts/vm-logs).</summary>
    public RepoLayout Repo { get; } = RepoLayout.Current();

    /// <summary>The KVM/TCG decision and its reason; null if the image was not found.</summary>
    public AccelDecision? Accel { get; private set; }

    /// <summary>The HTTP server of a PXE scenario (the PXE tree at /&lt;image id&gt;/), if it was started.</summary>
    public StaticHttpServer? PxeHttp { get; private set; }

    /// <summary>Every file the PXE scenario's HTTP server was asked for, in order.</summary>
    public IReadOnlyList<string> HttpRequests
    {
        get
        {
            lock (_httpRequests)
            {
                return [.. _httpRequests];
            }
        }
    }

    /// <summary>The running machine, if it was started.</summary>
    public QemuMachine? Machine { get; private set; }

    /// <summary>Seconds from QEMU start to a working SSH login.</summary>
    public double? SshReadySeconds { get; private set; }

    /// <summary>What <c>systemctl is-system-running --wait</c> said once SSH worked.</summary>
    public string? SystemState { get; private set; }

    /// <summary>The image under test; rethrows the setup failure.</summary>
    public ApplianceImage Image
    {
        get
        {
            ThrowIfFailed();
            return _image!;
        }
    }

    /// <summary>The SSH session to the booted appliance; rethrows the boot failure.</summary>
    public SshSession Ssh
    {
        get
        {
            ThrowIfFailed();
            return _ssh!;
        }
    }

    /// <summary>The forwarded SSH port on 127.0.0.1.</summary>
    public int SshPort => Machine?.Options.Network?.SshHostPort ?? throw new InvalidOperationException("No machine.");

    /// <summary>Everything the fixture logged, for a test's output.</summary>
    public string Log
    {
        get
        {
            lock (_log)
            {
                return _log.ToString();
            }
        }
    }

    /// <summary>The boot deadline: NXTOP_BOOT_TIMEOUT seconds, else 600 s under TCG and 120 s under KVM.</summary>
    public static TimeSpan BootDeadline(Accelerator accelerator)
    {
        var env = Environment.GetEnvironmentVariable(BootTimeoutVariable);
        if (!string.IsNullOrWhiteSpace(env))
        {
            return double.TryParse(env, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) && seconds > 0
                ? TimeSpan.FromSeconds(seconds)
                : throw new ArgumentException($"{BootTimeoutVariable} must be a positive number of seconds, not '{env}'.");
        }

        return accelerator == Accelerator.Kvm ? TimeSpan.FromSeconds(120) : TimeSpan.FromSeconds(600);
    }

    /// <inheritdoc />
    public async Task InitializeAsync()
    {
        try
        {
            _image = ApplianceImage.Locate(Repo);
            if (Scenario.UsesInstallerImage())
            {
                _image = ApplianceImage.LocateInstaller(Repo, _image);
            }
            else if (Scenario.UsesVmTestImage())
            {
                _image = ApplianceImage.LocateVmTest(Repo, _image);
            }
        }
        catch (ImageNotFoundException e)
        {
            Write(e.Message);
            _failure = e;
            return;
        }

        QemuOptions? options = null;
        try
        {
            Accel = await AccelProbe.DecideOnceAsync();
            Write($"{Scenario}: image {_image.Directory} ({_image.Manifest.Name} {_image.Manifest.Version})");
            Write($"{Scenario}: accelerator {Accel}");
            var deadline = BootDeadline(Accel.Accelerator);
            options = Scenario.Options(_image, Repo, Accel.Accelerator, FreePort.Pick());

            // Bounds the whole setup even if a step below forgets its own deadline.
            using var setupLimit = new CancellationTokenSource(deadline + TimeSpan.FromMinutes(4));
            if (Scenario.NeedsPxeHttp())
            {
                _portLock = await MachineLock.AcquireAsync($"http-port-{ScenarioExtensions.PxeHttpPort}", TimeSpan.FromMinutes(45), Write);
                PxeHttp = StaticHttpServer.Start(_image.PxeDirectory, _image.ImageId, ScenarioExtensions.PxeHttpPort, line =>
                {
                    lock (_httpRequests)
                    {
                        _httpRequests.Add(line);
                    }

                    Write($"{Scenario}: {line}");
                });
                Write($"{Scenario}: serving {_image.PxeDirectory} at http://127.0.0.1:{PxeHttp.Port}/{_image.ImageId}/ "
                    + $"(the guest sees http://{ScenarioExtensions.HostAddressSeenByGuest}/{_image.ImageId}/)");
            }

            if (Scenario.BootsDisk())
            {
                await PrepareDiskAsync(Accel.Accelerator, deadline);
            }

            Machine = QemuMachine.Start(options, Scenario.PidFilePath(Repo));
            Write($"{Scenario}: QEMU pid {Machine.ProcessId}, SSH on 127.0.0.1:{SshPort}, deadline {deadline.TotalSeconds:0} s");
            Write($"{Scenario}: {Machine.CommandLineText}");
            _ssh = await Machine.WaitForSshAsync(
                ApplianceImage.LoginUser, _image.ClientKeyPath, _image.HostKeyFingerprint, deadline, Write, setupLimit.Token);
            SshReadySeconds = Math.Round(Machine.Uptime.TotalSeconds, 1);
            Write($"{Scenario}: SSH ready after {SshReadySeconds} s");
            _timing = new BootTiming(Scenario.ToString(), AccelName, SshReadySeconds);
            _timing.WriteTo(Scenario.TimingPath(Repo));
            await WaitForAgentHealthyAsync(_ssh, setupLimit.Token);
            SystemState = await SettleAsync(_ssh, setupLimit.Token);
            Write($"{Scenario}: system state '{SystemState}' after {Machine.Uptime.TotalSeconds:0.0} s");
            // Where the boot time went, for the log that CI keeps (the aim is SSH within 90 s under TCG).
            var analyze = await _ssh.TryRunAsync(
                "systemd-analyze; systemd-analyze critical-chain ssh.service; systemd-analyze blame | head -n 15; "
                + "dmesg | grep -E 'crng|Run /init|Freeing unused|Not activating|squashfs|loop[0-9]|overlay|xen_netfront|e1000|hvc' | head -n 25; "
                + "journalctl -b -o short-monotonic --no-pager | head -n 25", setupLimit.Token);
            Write($"{Scenario}: boot analysis:\n{analyze.Stdout.TrimEnd()}{analyze.Stderr.TrimEnd()}");
        }
        catch (Exception e)
        {
            var reason = $"{e.GetType().Name}: {e.Message}";
            var failure = e as BootFailureException
                ?? Machine?.BootFailure(reason, e)
                ?? (options is null
                    ? new BootFailureException(Scenario.ToString(), reason, [], null, [], e)
                    : new BootFailureException(Scenario.ToString(), reason, QemuCommandLine.Build(options), options.SerialLogPath,
                        SerialLog.Tail(options.SerialLogPath!, BootFailureException.DefaultTailLines), e));
            Write(failure.Message);
            _failure = failure;
            if (SshReadySeconds is null)
            {
                new BootTiming(Scenario.ToString(), AccelName, null, failure.Reason).WriteTo(Scenario.TimingPath(Repo));
            }
        }
    }

    private MachineLock? _portLock;
    private readonly object _timingLock = new();
    private BootTiming? _timing;

    /// <summary>Records that the agent was first seen healthy now (QEMU uptime), in the scenario's timing file.</summary>
    public void RecordAgentHealthy() => UpdateTiming(t => t.AgentHealthySeconds is null ? t with { AgentHealthySeconds = Uptime() } : t);

    /// <summary>Records how long the PV guest took from <c>xl create</c> to its marker, in the scenario's timing file.</summary>
    public void RecordGuestBoot(double seconds) => UpdateTiming(t => t.GuestBootSeconds is null ? t with { GuestBootSeconds = Math.Round(seconds, 1) } : t);

    private double Uptime() => Math.Round(Machine?.Uptime.TotalSeconds ?? 0, 1);

    private void UpdateTiming(Func<BootTiming, BootTiming> change)
    {
        lock (_timingLock)
        {
            if (_timing is null)
            {
                return;
            }

            _timing = change(_timing);
            _timing.WriteTo(Scenario.TimingPath(Repo));
        }
    }

    /// <summary>
    /// Reboots dom0 with <c>systemctl reboot</c> and logs in to the new boot (told apart by its boot id); the machine
    /// must run without <c>-no-reboot</c> (<see cref="Scenario.AgentDisk"/>), so it restarts on the same overlay.
    /// Returns the time from the reboot command to SSH answering again.
    /// </summary>
    public async Task<TimeSpan> RebootAsync(CancellationToken cancellationToken = default)
    {
        var machine = Machine ?? throw new InvalidOperationException("No machine.");
        if (machine.Options.NoReboot)
        {
            throw new InvalidOperationException($"{Scenario} runs QEMU with -no-reboot: a reboot would end it.");
        }

        const string bootId = "cat /proc/sys/kernel/random/boot_id";
        var before = (await Ssh.RunAsync(bootId, cancellationToken)).Stdout.Trim();
        var started = TimeProvider.System.GetTimestamp();
        try
        {
            // The connection may drop before the command returns.
            await _ssh!.TryRunAsync("systemctl reboot", cancellationToken);
        }
        catch (Exception e) when (e is SshException or System.Net.Sockets.SocketException or ObjectDisposedException)
        {
            Write($"{Scenario}: systemctl reboot: {e.GetType().Name}: {e.Message}");
        }

        _ssh?.Dispose();
        _ssh = null;
        var deadline = BootDeadline(Accel!.Accelerator);
        while (true)
        {
            var remaining = deadline - TimeProvider.System.GetElapsedTime(started);
            if (remaining <= TimeSpan.Zero)
            {
                throw machine.BootFailure($"dom0 did not come back from a reboot within {deadline.TotalSeconds:0} s");
            }

            var ssh = await machine.WaitForSshAsync(ApplianceImage.LoginUser, _image!.ClientKeyPath, _image.HostKeyFingerprint, remaining, Write, cancellationToken);
            var after = (await ssh.TryRunAsync(bootId, cancellationToken)).Stdout.Trim();
            if (after.Length > 0 && after != before)
            {
                _ssh = ssh;
                break;
            }

            // Still the old boot, on its way down.
            ssh.Dispose();
            await Task.Delay(TimeSpan.FromSeconds(2), cancellationToken);
        }

        var took = TimeProvider.System.GetElapsedTime(started);
        Write($"{Scenario}: rebooted; SSH answered again after {took.TotalSeconds:0.0} s");
        SystemState = await SettleAsync(_ssh, cancellationToken);
        Write($"{Scenario}: system state '{SystemState}' after the reboot");
        return took;
    }

    private int _powerCuts;

    /// <summary>
    /// Cuts dom0's power: kills QEMU outright (no shutdown, no flush of the guest's page cache), keeps the serial log
    /// of the boot that lost power beside the scenario's log (<c>.power-cut-N.log</c>), then starts QEMU again on the
    /// same disk and logs in to the new boot. Returns the time from the cut to SSH answering again.
    /// </summary>
    public async Task<TimeSpan> PowerCutAsync(CancellationToken cancellationToken = default)
    {
        var machine = Machine ?? throw new InvalidOperationException("No machine.");
        var options = machine.Options;
        _ssh?.Dispose();
        _ssh = null;
        await machine.DisposeAsync();
        var cut = ++_powerCuts;
        if (options.SerialLogPath is { } serial && File.Exists(serial))
        {
            File.Copy(serial, Path.ChangeExtension(serial, $".power-cut-{cut}.log"), overwrite: true);
        }

        Write($"{Scenario}: power cut {cut}: QEMU killed; starting it again on the same disk");
        var started = TimeProvider.System.GetTimestamp();
        Machine = QemuMachine.Start(options, Scenario.PidFilePath(Repo));
        var deadline = BootDeadline(Accel!.Accelerator);
        _ssh = await Machine.WaitForSshAsync(ApplianceImage.LoginUser, _image!.ClientKeyPath, _image.HostKeyFingerprint, deadline, Write, cancellationToken);
        var took = TimeProvider.System.GetElapsedTime(started);
        Write($"{Scenario}: power cut {cut}: SSH answered again after {took.TotalSeconds:0.0} s");
        SystemState = await SettleAsync(_ssh, cancellationToken);
        Write($"{Scenario}: system state '{SystemState}' after power cut {cut}");
        return took;
    }

    /// <summary>The install this fixture's disk came from (installed-disk scenarios only).</summary>
    public InstallOutcome? Install { get; private set; }

    /// <summary>
    /// The overlay a disk scenario boots: over the build's qcow2, 1 GiB larger so the data partition has room to
    /// grow; or over the disk the unattended install wrote (the install runs once, for all installed-disk scenarios).
    /// </summary>
    private async Task PrepareDiskAsync(Accelerator accelerator, TimeSpan deadline)
    {
        var overlay = Scenario.OverlayPath(Repo);
        if (Scenario.UsesInstallerImage())
        {
            Install = await InstalledDisk.GetAsync(_image!, Repo, accelerator, deadline, Write);
            await DiskImages.CreateOverlayAsync(Install.TargetPath, DiskFormat.Raw, overlay, null);
            Write($"{Scenario}: booting {overlay} over the installed disk {Install.TargetPath}");
        }
        else
        {
            var size = await DiskImages.VirtualSizeAsync(_image!.DiskQcow2Path) + (1L << 30);
            await DiskImages.CreateOverlayAsync(_image.DiskQcow2Path, DiskFormat.Qcow2, overlay, size);
            Write($"{Scenario}: booting {overlay} ({size >> 20} MiB) over {_image.DiskQcow2Path}");
        }
    }

    /// <inheritdoc />
    public async Task DisposeAsync()
    {
        _ssh?.Dispose();
        if (Machine is not null)
        {
            await Machine.DisposeAsync();
            Write($"{Scenario}: QEMU stopped");
        }

        if (PxeHttp is not null)
        {
            await PxeHttp.DisposeAsync();
        }

        _portLock?.Dispose();
    }

    /// <summary>A summary for test output: accelerator, timings, and the end of the serial log.</summary>
    public string Report()
    {
        var sb = new StringBuilder(Log);
        if (Machine is not null)
        {
            sb.AppendLine($"--- {Scenario} serial log, last 20 lines ({Machine.Options.SerialLogPath}) ---");
            foreach (var line in Machine.SerialTail(20))
            {
                sb.Append("  | ").AppendLine(line);
            }
        }

        return sb.ToString();
    }

    private string AccelName => Accel?.Accelerator.ToString().ToLowerInvariant() ?? "unknown";

    private void ThrowIfFailed()
    {
        if (_failure is not null)
        {
            ExceptionDispatchInfo.Capture(_failure).Throw();
        }
    }

    /// <summary>
    /// Polls <c>nxtopctl status</c> (exit 0 only when the agent is healthy) every 2 s for up to 3 minutes and records
    /// when it first said healthy, for the boot table. Never fails the boot: the agent test judges health itself.
    /// </summary>
    private async Task WaitForAgentHealthyAsync(SshSession ssh, CancellationToken cancellationToken)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromMinutes(3) && !cancellationToken.IsCancellationRequested)
        {
            var reply = await ssh.TryRunAsync("nxtopctl status --json >/dev/null", cancellationToken);
            if (reply.Succeeded)
            {
                RecordAgentHealthy();
                Write($"{Scenario}: agent healthy after {Machine?.Uptime.TotalSeconds:0.0} s");
                return;
            }

            await Task.Delay(TimeSpan.FromSeconds(2), cancellationToken);
        }

        Write($"{Scenario}: the agent did not say healthy within 3 minutes of SSH");
    }

    /// <summary>
    /// Waits for systemd to finish starting (running or degraded), so the tests see a settled system. SSH can
    /// answer before late units have started or failed.
    /// </summary>
    private static async Task<string> SettleAsync(SshSession ssh, CancellationToken cancellationToken)
    {
        var previous = ssh.CommandTimeout;
        ssh.CommandTimeout = TimeSpan.FromMinutes(3);
        try
        {
            var result = await ssh.TryRunAsync("systemctl is-system-running --wait", cancellationToken);
            return result.Stdout.Trim();
        }
        catch (SshOperationTimeoutException)
        {
            return "still starting after 3 minutes";
        }
        finally
        {
            ssh.CommandTimeout = previous;
        }
    }

    private void Write(string line)
    {
        lock (_log)
        {
            _log.AppendLine(line);
        }

        _diagnostics.OnMessage(new DiagnosticMessage(line));
    }
}

/// <summary>The ISO on a CD-ROM under SeaBIOS.</summary>
public sealed class IsoBiosFixture(IMessageSink diagnostics) : VmFixture(Scenario.IsoBios, diagnostics);

/// <summary>The ISO on a CD-ROM under OVMF.</summary>
public sealed class IsoUefiFixture(IMessageSink diagnostics) : VmFixture(Scenario.IsoUefi, diagnostics);

/// <summary>The hybrid ISO as a USB stick under OVMF.</summary>
public sealed class IsoUsbUefiFixture(IMessageSink diagnostics) : VmFixture(Scenario.IsoUsbUefi, diagnostics);

/// <summary>PXE under SeaBIOS: pxelinux + mboot.c32.</summary>
public sealed class PxeBiosFixture(IMessageSink diagnostics) : VmFixture(Scenario.PxeBios, diagnostics);

/// <summary>PXE under OVMF: GRUB's EFI network image.</summary>
public sealed class PxeUefiFixture(IMessageSink diagnostics) : VmFixture(Scenario.PxeUefi, diagnostics);

/// <summary>The built disk image under SeaBIOS.</summary>
public sealed class DiskBiosFixture(IMessageSink diagnostics) : VmFixture(Scenario.DiskBios, diagnostics);

/// <summary>The built disk image under OVMF.</summary>
public sealed class DiskUefiFixture(IMessageSink diagnostics) : VmFixture(Scenario.DiskUefi, diagnostics);

/// <summary>The installed disk under SeaBIOS.</summary>
public sealed class InstalledBiosFixture(IMessageSink diagnostics) : VmFixture(Scenario.InstalledBios, diagnostics);

/// <summary>The vmtest profile's disk image under SeaBIOS, for the agent's life-cycle tests.</summary>
public sealed class AgentDiskFixture(IMessageSink diagnostics) : VmFixture(Scenario.AgentDisk, diagnostics);

[CollectionDefinition(nameof(Scenario.AgentDisk))]
public sealed class AgentDiskBoot : ICollectionFixture<AgentDiskFixture>;

/// <summary>The installed disk under OVMF.</summary>
public sealed class InstalledUefiFixture(IMessageSink diagnostics) : VmFixture(Scenario.InstalledUefi, diagnostics);

[CollectionDefinition(nameof(Scenario.DiskBios))]
public sealed class DiskBiosBoot : ICollectionFixture<DiskBiosFixture>;

[CollectionDefinition(nameof(Scenario.DiskUefi))]
public sealed class DiskUefiBoot : ICollectionFixture<DiskUefiFixture>;

[CollectionDefinition(nameof(Scenario.InstalledBios))]
public sealed class InstalledBiosBoot : ICollectionFixture<InstalledBiosFixture>;

[CollectionDefinition(nameof(Scenario.InstalledUefi))]
public sealed class InstalledUefiBoot : ICollectionFixture<InstalledUefiFixture>;

/// <summary>iPXE over HTTP under SeaBIOS.</summary>
public sealed class IpxeHttpFixture(IMessageSink diagnostics) : VmFixture(Scenario.IpxeHttp, diagnostics);

[CollectionDefinition(nameof(Scenario.PxeBios))]
public sealed class PxeBiosBoot : ICollectionFixture<PxeBiosFixture>;

[CollectionDefinition(nameof(Scenario.PxeUefi))]
public sealed class PxeUefiBoot : ICollectionFixture<PxeUefiFixture>;

[CollectionDefinition(nameof(Scenario.IpxeHttp))]
public sealed class IpxeHttpBoot : ICollectionFixture<IpxeHttpFixture>;

[CollectionDefinition(nameof(Scenario.IsoBios))]
public sealed class IsoBiosBoot : ICollectionFixture<IsoBiosFixture>;

[CollectionDefinition(nameof(Scenario.IsoUefi))]
public sealed class IsoUefiBoot : ICollectionFixture<IsoUefiFixture>;

[CollectionDefinition(nameof(Scenario.IsoUsbUefi))]
public sealed class IsoUsbUefiBoot : ICollectionFixture<IsoUsbUefiFixture>;
