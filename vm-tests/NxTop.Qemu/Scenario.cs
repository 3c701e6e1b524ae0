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

    /// <summary>The built disk image (a qcow2 overlay 1 GiB larger, so the data partition grows) on virtio under SeaBIOS.</summary>
    DiskBios,

    /// <summary>The built disk image (a larger qcow2 overlay) under OVMF.</summary>
    DiskUefi,

    /// <summary>The installer ISO's unattended install entry writes an empty virtio disk, then powers off. No SSH.</summary>
    Install,

    /// <summary>The disk that <see cref="Install"/> wrote (a qcow2 overlay), booted alone under SeaBIOS.</summary>
    InstalledBios,

    /// <summary>The disk that <see cref="Install"/> wrote (a qcow2 overlay), booted alone under OVMF.</summary>
    InstalledUefi,

    /// <summary>
    /// The <c>vmtest</c> profile's disk image (its agent trusts the test publisher key) under SeaBIOS, for the agent's
    /// life-cycle tests. Without <c>-no-reboot</c>: a reboot in dom0 restarts the machine on the same overlay.
    /// </summary>
    AgentDisk,
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

    /// <summary>The copy-on-write overlay a disk scenario boots (the build's image and the installed disk stay untouched).</summary>
    public static string OverlayPath(this Scenario scenario, RepoLayout repo) =>
        Path.Combine(Checked(repo).VmLogs, $"{scenario}.qcow2");

    /// <summary>The empty disk the <see cref="Scenario.Install"/> run writes, kept for the installed-disk scenarios.</summary>
    public static string InstallTargetPath(RepoLayout repo) => Path.Combine(Checked(repo).VmLogs, "Install.disk.raw");

    /// <summary>The size of the empty install target: larger than the image, so the data partition grows on first boot.</summary>
    public const long InstallTargetBytes = 3L * 1024 * 1024 * 1024;

    /// <summary>Whether the scenario boots a disk (an overlay made before QEMU starts).</summary>
    public static bool BootsDisk(this Scenario scenario) =>
        scenario is Scenario.DiskBios or Scenario.DiskUefi or Scenario.InstalledBios or Scenario.InstalledUefi or Scenario.AgentDisk;

    /// <summary>Whether the scenario boots the <c>vmtest</c> profile's image.</summary>
    public static bool UsesVmTestImage(this Scenario scenario) => scenario is Scenario.AgentDisk;

    /// <summary>Whether the scenario boots the installer profile's image (or the disk it installed).</summary>
    public static bool UsesInstallerImage(this Scenario scenario) => scenario is Scenario.Install or Scenario.InstalledBios or Scenario.InstalledUefi;

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
            Scenario.DiskBios or Scenario.InstalledBios or Scenario.AgentDisk => (Firmware.Bios, new BootSource.Disk(scenario.OverlayPath(repo), DiskFormat.Qcow2)),
            Scenario.DiskUefi or Scenario.InstalledUefi => (Firmware.Uefi, new BootSource.Disk(scenario.OverlayPath(repo), DiskFormat.Qcow2)),
            Scenario.Install => (Firmware.Bios, new BootSource.Cdrom(image.IsoPath)),
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
            ExtraDisks = scenario == Scenario.Install ? [new ExtraDisk(InstallTargetPath(repo))] : [],
            NoReboot = scenario != Scenario.AgentDisk,
        }.WithAccelerator(accelerator);
    }

    private static RepoLayout Checked(RepoLayout repo)
    {
        ArgumentNullException.ThrowIfNull(repo);
        return repo;
    }
}
