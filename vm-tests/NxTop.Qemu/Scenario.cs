namespace NxTop.Qemu;

/// <summary>The ways the appliance is booted in the VM tests. Each one knows its QEMU options.</summary>
public enum Scenario
{
    /// <summary>The ISO on a CD-ROM under SeaBIOS (legacy BIOS, GRUB i386-pc).</summary>
    IsoBios,

    /// <summary>The ISO on a CD-ROM under OVMF (UEFI, GRUB x86_64-efi).</summary>
    IsoUefi,

    /// <summary>The hybrid ISO written to a USB stick, under OVMF.</summary>
    IsoUsbUefi,
}

/// <summary>The behaviour of each <see cref="Scenario"/>.</summary>
public static class ScenarioExtensions
{
    /// <summary>The serial log of a scenario's run.</summary>
    public static string SerialLogPath(this Scenario scenario, RepoLayout repo) =>
        Path.Combine(Checked(repo).VmLogs, $"{scenario}.log");

    /// <summary>The firmware debug-port log of a scenario's run.</summary>
    public static string FirmwareLogPath(this Scenario scenario, RepoLayout repo) =>
        Path.Combine(Checked(repo).VmLogs, $"{scenario}.firmware.log");

    /// <summary>The boot timing file the Bench target reads.</summary>
    public static string TimingPath(this Scenario scenario, RepoLayout repo) =>
        Path.Combine(Checked(repo).VmLogs, $"{scenario}.timing.json");

    /// <summary>Where the pid of a running QEMU of this scenario is recorded (to reap one orphaned by a killed run).</summary>
    public static string PidFilePath(this Scenario scenario, RepoLayout repo) =>
        Path.Combine(Checked(repo).VmLogs, $"{scenario}.pid");

    /// <summary>The QEMU options that boot <paramref name="image"/> this way, with SSH forwarded to <paramref name="sshPort"/>.</summary>
    public static QemuOptions Options(this Scenario scenario, ApplianceImage image, RepoLayout repo, Accelerator accelerator, int sshPort)
    {
        ArgumentNullException.ThrowIfNull(image);
        var (firmware, boot) = scenario switch
        {
            Scenario.IsoBios => (Firmware.Bios, (BootSource)new BootSource.Cdrom(image.IsoPath)),
            Scenario.IsoUefi => (Firmware.Uefi, new BootSource.Cdrom(image.IsoPath)),
            // snapshot=on: the guest may write to its stick, but never to the build's ISO.
            Scenario.IsoUsbUefi => (Firmware.Uefi, new BootSource.UsbStick(image.IsoPath, Snapshot: true)),
            _ => throw new ArgumentOutOfRangeException(nameof(scenario), scenario, null),
        };

        return new QemuOptions
        {
            Name = scenario.ToString(),
            Firmware = firmware,
            Boot = boot,
            Network = new NetworkOptions(sshPort),
            SerialLogPath = scenario.SerialLogPath(repo),
            FirmwareLogPath = scenario.FirmwareLogPath(repo),
        }.WithAccelerator(accelerator);
    }

    private static RepoLayout Checked(RepoLayout repo)
    {
        ArgumentNullException.ThrowIfNull(repo);
        return repo;
    }
}
