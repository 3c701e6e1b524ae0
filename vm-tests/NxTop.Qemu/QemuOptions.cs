namespace NxTop.Qemu;

/// <summary>How QEMU executes guest code.</summary>
public enum Accelerator
{
    /// <summary>Software emulation; always works, slow. The only choice on CI's machines.</summary>
    Tcg,

    /// <summary>Hardware virtualisation; only when <see cref="AccelProbe"/> proves it really works.</summary>
    Kvm,
}

/// <summary>The emulated chipset.</summary>
public enum MachineType
{
    /// <summary>i440FX + PIIX: the simplest for SeaBIOS.</summary>
    Pc,

    /// <summary>Q35 + ICH9 (AHCI): what OVMF is normally paired with.</summary>
    Q35,
}

/// <summary>The on-disk format of an image QEMU opens.</summary>
public enum DiskFormat
{
    /// <summary>A raw image (also what an ISO is).</summary>
    Raw,

    /// <summary>A qcow2 image.</summary>
    Qcow2,
}

/// <summary>
/// The firmware the machine starts. A closed set: each case knows its own QEMU arguments
/// (see <see cref="QemuCommandLine"/>).
/// </summary>
public abstract record Firmware
{
    /// <summary>Debian's OVMF image that holds code and variables in one file (used with <c>-bios</c>).</summary>
    public const string DefaultOvmfPath = "/usr/share/ovmf/OVMF.fd";

    private protected Firmware()
    {
    }

    /// <summary>QEMU's built-in legacy BIOS.</summary>
    public static Firmware Bios { get; } = new SeaBios();

    /// <summary>OVMF loaded with <c>-bios</c> from Debian's combined image: the fast UEFI path on TCG.</summary>
    public static Firmware Uefi { get; } = new OvmfBios(DefaultOvmfPath);

    /// <summary>SeaBIOS, QEMU's default firmware: no arguments at all.</summary>
    public sealed record SeaBios : Firmware;

    /// <summary>OVMF as a single read-only image passed with <c>-bios</c>; variables do not persist.</summary>
    public sealed record OvmfBios(string Path) : Firmware;

    /// <summary>
    /// OVMF as two pflash devices: read-only code plus a writable copy of the variable store. The copy is made
    /// from <paramref name="VarsTemplatePath"/> to <paramref name="VarsPath"/> by <see cref="QemuMachine"/> when
    /// it starts, so each VM gets its own variables and the template is never written. About 2x slower to boot
    /// dom0 than <see cref="OvmfBios"/> under TCG (see shared RECIPES), so use it only to test NVRAM behaviour.
    /// </summary>
    public sealed record OvmfPflash(string CodePath, string VarsTemplatePath, string VarsPath) : Firmware
    {
        /// <summary>Debian's 4 MiB OVMF code image.</summary>
        public const string DefaultCodePath = "/usr/share/OVMF/OVMF_CODE_4M.fd";

        /// <summary>Debian's 4 MiB OVMF variable store template, matching <see cref="DefaultCodePath"/>.</summary>
        public const string DefaultVarsTemplatePath = "/usr/share/OVMF/OVMF_VARS_4M.fd";
    }
}

/// <summary>What the firmware boots from. Each case gets <c>bootindex=0</c>, which SeaBIOS and OVMF both honour.</summary>
public abstract record BootSource
{
    private protected BootSource()
    {
    }

    /// <summary>An ISO on an IDE/AHCI CD-ROM drive.</summary>
    public sealed record Cdrom(string IsoPath) : BootSource;

    /// <summary>A disk image on virtio-blk. With <paramref name="Snapshot"/>, guest writes go to a throwaway overlay.</summary>
    public sealed record Disk(string Path, DiskFormat Format = DiskFormat.Raw, bool Snapshot = false) : BootSource;

    /// <summary>
    /// A raw image (e.g. a hybrid ISO written to a stick) on a USB mass-storage device behind xHCI. With
    /// <paramref name="Snapshot"/>, guest writes go to a throwaway overlay and the image file is never changed.
    /// </summary>
    public sealed record UsbStick(string ImagePath, bool Snapshot = false) : BootSource;

    /// <summary>PXE from the NIC's ROM, served by QEMU's user-net TFTP from <paramref name="TftpRoot"/>.</summary>
    public sealed record Pxe(string TftpRoot, string BootFile) : BootSource;
}

/// <summary>A disk attached in addition to the boot source (virtio-blk, not bootable).</summary>
public sealed record ExtraDisk(string Path, DiskFormat Format = DiskFormat.Raw);

/// <summary>A user-net host forward, e.g. <c>tcp:127.0.0.1:2222-:22</c>. Binds loopback only by default.</summary>
public sealed record PortForward(int HostPort, int GuestPort, string HostAddress = "127.0.0.1", bool Udp = false)
{
    /// <summary>The value of one <c>hostfwd=</c> option.</summary>
    public override string ToString() => $"{(Udp ? "udp" : "tcp")}:{HostAddress}:{HostPort}-:{GuestPort}";
}

/// <summary>One NIC on QEMU user networking, with guest port 22 forwarded to <paramref name="SshHostPort"/>.</summary>
public sealed record NetworkOptions(int SshHostPort)
{
    /// <summary>Forwards besides SSH.</summary>
    public IReadOnlyList<PortForward> ExtraForwards { get; init; } = [];

    /// <summary>The NIC device model.</summary>
    public string NicModel { get; init; } = "virtio-net-pci";

    /// <summary>All forwards, SSH first.</summary>
    public IEnumerable<PortForward> Forwards => ExtraForwards.Prepend(new PortForward(SshHostPort, 22));
}

/// <summary>
/// Everything that decides one QEMU command line. Immutable: derive variants with <c>with</c>.
/// Turned into arguments by <see cref="QemuCommandLine.Build"/>; started by <see cref="QemuMachine"/>.
/// </summary>
public sealed record QemuOptions
{
    /// <summary>
    /// The CPU model that runs Xen under TCG: without <c>-smap</c> dom0 crashes in create_bounce_frame, and
    /// without <c>-rdtscp</c> HVM/PVH guests hit "SVM Insn len emulation failed" (see shared RECIPES).
    /// </summary>
    public const string XenTcgCpuModel = "max,-smap,-rdtscp";

    /// <summary>The CPU model under KVM: pass the host CPU through.</summary>
    public const string KvmCpuModel = "host";

    /// <summary>The QEMU binary, looked up on PATH unless rooted.</summary>
    public string Binary { get; init; } = "qemu-system-x86_64";

    /// <summary>A short name for the VM (the scenario), passed as <c>-name</c> and used in error messages.</summary>
    public required string Name { get; init; }

    /// <summary>What to boot.</summary>
    public required BootSource Boot { get; init; }

    /// <summary>The firmware; SeaBIOS unless set.</summary>
    public Firmware Firmware { get; init; } = Firmware.Bios;

    /// <summary>The chipset; when null, <see cref="EffectiveMachine"/> picks pc for SeaBIOS and q35 for OVMF.</summary>
    public MachineType? Machine { get; init; }

    /// <summary>TCG unless a probe says KVM works (see <see cref="AccelProbe"/>).</summary>
    public Accelerator Accelerator { get; init; } = Accelerator.Tcg;

    /// <summary>The <c>-cpu</c> value.</summary>
    public string CpuModel { get; init; } = XenTcgCpuModel;

    /// <summary>Guest RAM in MiB.</summary>
    public int MemoryMiB { get; init; } = 2048;

    /// <summary>Virtual CPUs.</summary>
    public int Vcpus { get; init; } = 2;

    /// <summary>The NIC; null means no NIC at all.</summary>
    public NetworkOptions? Network { get; init; }

    /// <summary>Disks besides the boot source.</summary>
    public IReadOnlyList<ExtraDisk> ExtraDisks { get; init; } = [];

    /// <summary>Where COM1 is written; null means no serial port (unless <see cref="SerialOnTerminal"/>).</summary>
    public string? SerialLogPath { get; init; }

    /// <summary>
    /// COM1 and the QEMU monitor on this process's terminal (Ctrl-A X quits, Ctrl-A C toggles the monitor), still
    /// logged to <see cref="SerialLogPath"/> when set. For people (the Run target), not for tests.
    /// </summary>
    public bool SerialOnTerminal { get; init; }

    /// <summary>
    /// Where the firmware's debug port (0x402) is written. SeaBIOS prints its boot messages only there,
    /// so this is the place to look when a BIOS boot fails before GRUB talks on COM1.
    /// </summary>
    public string? FirmwareLogPath { get; init; }

    /// <summary>A QMP unix socket (server, no wait); null means none.</summary>
    public string? QmpSocketPath { get; init; }

    /// <summary>Exit instead of rebooting, so a guest <c>reboot -f</c> ends the run.</summary>
    public bool NoReboot { get; init; } = true;

    /// <summary>Arguments appended verbatim, for experiments.</summary>
    public IReadOnlyList<string> ExtraArgs { get; init; } = [];

    /// <summary>The chipset actually used.</summary>
    public MachineType EffectiveMachine => Machine ?? (Firmware is Firmware.SeaBios ? MachineType.Pc : MachineType.Q35);

    /// <summary>These options with the accelerator and the CPU model that goes with it.</summary>
    public QemuOptions WithAccelerator(Accelerator accelerator) => this with
    {
        Accelerator = accelerator,
        CpuModel = accelerator == Accelerator.Kvm ? KvmCpuModel : XenTcgCpuModel,
    };
}
