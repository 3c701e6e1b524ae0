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

    /// <summary>PXE under SeaBIOS: pxelinux.0 over QEMU's TFTP, mboot.c32 loads Xen; root.iso over HTTP.</summary>
    PxeBios,

    /// <summary>PXE under OVMF: GRUB's EFI network image over QEMU's TFTP; root.iso over HTTP.</summary>
    PxeUefi,

    /// <summary>iPXE (QEMU's NIC ROM under SeaBIOS) runs boot.ipxe and fetches everything over HTTP.</summary>
    IpxeHttp,
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

    /// <summary>
    /// The address at which the guest reaches a server bound to 127.0.0.1 on the host (QEMU user networking), and
    /// the port the PXE tree's HTTP server listens on: the spec's default PXE configs take the DHCP next-server
    /// (this address) on port 80 as the web server.
    /// </summary>
    public const string HostAddressSeenByGuest = "10.0.2.2";

    /// <summary>The HTTP port of the PXE scenarios (see <see cref="HostAddressSeenByGuest"/>).</summary>
    public const int PxeHttpPort = 80;

    /// <summary>Whether the scenario needs the PXE tree served over HTTP on 127.0.0.1:<see cref="PxeHttpPort"/>.</summary>
    public static bool NeedsPxeHttp(this Scenario scenario) => scenario is Scenario.PxeBios or Scenario.PxeUefi or Scenario.IpxeHttp;

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
            Scenario.PxeBios => (Firmware.Bios, new BootSource.Pxe(image.PxeDirectory, "pxelinux.0")),
            Scenario.PxeUefi => (Firmware.Uefi, new BootSource.Pxe(image.PxeDirectory, "bootx64.efi")),
            Scenario.IpxeHttp => (Firmware.Bios, new BootSource.Pxe(image.PxeDirectory,
                $"http://{HostAddressSeenByGuest}/{image.ImageId}/boot.ipxe")),
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
