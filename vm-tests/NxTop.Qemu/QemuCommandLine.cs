using System.Globalization;

namespace NxTop.Qemu;

/// <summary>
/// Turns <see cref="QemuOptions"/> into QEMU's argument list. Pure: no files are touched and nothing is started,
/// so every flag is unit-tested (the LinuxKit buildQemuCmdline / runQemuLocal split).
/// </summary>
public static class QemuCommandLine
{
    private const string SerialChardevId = "serial0";
    private const string QmpChardevId = "qmp0";
    private const string FirmwareLogChardevId = "fwlog0";
    private const string NetdevId = "net0";

    /// <summary>The argument list, binary first. Hand it to a process as a list, never join it into a shell string.</summary>
    public static IReadOnlyList<string> Build(QemuOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        Validate(options);

        var args = new List<string> { options.Binary };
        void Add(params string[] values) => args.AddRange(values);

        Add("-name", Escape(options.Name));
        Add("-machine", options.EffectiveMachine == MachineType.Q35 ? "q35" : "pc");
        Add("-accel", options.Accelerator == Accelerator.Kvm ? "kvm" : "tcg");
        Add("-cpu", options.CpuModel);
        Add("-m", Invariant(options.MemoryMiB));
        Add("-smp", Invariant(options.Vcpus));
        // No default VGA, NIC, serial, parallel or monitor: every device below is asked for explicitly.
        Add("-nodefaults", "-display", "none");
        if (options.NoReboot)
        {
            Add("-no-reboot");
        }

        switch (options.Firmware)
        {
            case Firmware.SeaBios:
                break;
            case Firmware.OvmfBios bios:
                // -bios is stored as a plain machine property: its value is not comma-parsed.
                Add("-bios", bios.Path);
                break;
            case Firmware.OvmfPflash flash:
                Add("-drive", $"if=pflash,format=raw,unit=0,readonly=on,file={Escape(flash.CodePath)}");
                Add("-drive", $"if=pflash,format=raw,unit=1,file={Escape(flash.VarsPath)}");
                break;
            default:
                throw new ArgumentException($"Unknown firmware {options.Firmware}.", nameof(options));
        }

        if (options.SerialOnTerminal)
        {
            var log = options.SerialLogPath is { } path ? $",logfile={Escape(path)}" : string.Empty;
            Add("-chardev", $"stdio,id={SerialChardevId},mux=on,signal=off{log}");
            Add("-serial", $"chardev:{SerialChardevId}");
            Add("-mon", $"chardev={SerialChardevId},mode=readline");
        }
        else if (options.SerialLogPath is { } serial)
        {
            Add("-chardev", $"file,id={SerialChardevId},path={Escape(serial)}");
            Add("-serial", $"chardev:{SerialChardevId}");
        }

        if (options.FirmwareLogPath is { } fwlog)
        {
            Add("-chardev", $"file,id={FirmwareLogChardevId},path={Escape(fwlog)}");
            Add("-device", $"isa-debugcon,iobase=0x402,chardev={FirmwareLogChardevId}");
        }

        if (options.QmpSocketPath is { } qmp)
        {
            Add("-chardev", $"socket,id={QmpChardevId},path={Escape(qmp)},server=on,wait=off");
            Add("-mon", $"chardev={QmpChardevId},mode=control");
        }

        switch (options.Boot)
        {
            case BootSource.Cdrom cdrom:
                // ide-cd lands on PIIX IDE (pc) or ICH9 AHCI (q35); both SeaBIOS and OVMF boot it by bootindex.
                Add("-drive", $"if=none,id=cd0,media=cdrom,readonly=on,format=raw,file={Escape(cdrom.IsoPath)}");
                Add("-device", "ide-cd,drive=cd0,bootindex=0");
                break;
            case BootSource.Disk disk:
                Add("-drive", $"if=none,id=disk0,format={Format(disk.Format)},file={Escape(disk.Path)}{SnapshotFlag(disk.Snapshot)}");
                Add("-device", "virtio-blk-pci,drive=disk0,bootindex=0");
                break;
            case BootSource.UsbStick usb:
                Add("-drive", $"if=none,id=usb0,format=raw,file={Escape(usb.ImagePath)}{SnapshotFlag(usb.Snapshot)}");
                Add("-device", "qemu-xhci,id=xhci");
                Add("-device", "usb-storage,bus=xhci.0,drive=usb0,bootindex=0");
                break;
            case BootSource.Pxe:
                break; // The NIC below carries the boot index.
            default:
                throw new ArgumentException($"Unknown boot source {options.Boot}.", nameof(options));
        }

        for (var i = 0; i < options.ExtraDisks.Count; i++)
        {
            var disk = options.ExtraDisks[i];
            var id = $"xdisk{i + 1}";
            Add("-drive", $"if=none,id={id},format={Format(disk.Format)},file={Escape(disk.Path)}");
            Add("-device", $"virtio-blk-pci,drive={id}");
        }

        if (options.Network is { } net)
        {
            var netdev = $"user,id={NetdevId}" + string.Concat(net.Forwards.Select(f => $",hostfwd={f}"));
            var nic = $"{net.NicModel},netdev={NetdevId}";
            if (options.Boot is BootSource.Pxe pxe)
            {
                netdev += $",tftp={Escape(pxe.TftpRoot)},bootfile={Escape(pxe.BootFile)}";
                nic += ",bootindex=0";
            }
            else
            {
                // No option ROM: SeaBIOS would otherwise try iPXE after a failed disk boot and hide the failure.
                nic += ",romfile=";
            }

            Add("-netdev", netdev);
            Add("-device", nic);
        }

        args.AddRange(options.ExtraArgs);
        return args;
    }

    /// <summary>
    /// Escapes a value inside a QEMU comma-separated option (<c>file=</c>, <c>path=</c>, <c>tftp=</c>): QEMU
    /// reads <c>,,</c> as a literal comma.
    /// </summary>
    public static string Escape(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return value.Replace(",", ",,", StringComparison.Ordinal);
    }

    /// <summary>The command line as one shell-quoted string, for logs and error messages only.</summary>
    public static string Display(IEnumerable<string> commandLine) => ShellQuote.Join(commandLine);

    private static void Validate(QemuOptions o)
    {
        if (string.IsNullOrWhiteSpace(o.Binary))
        {
            throw new ArgumentException("The QEMU binary must be named.", nameof(o));
        }

        if (string.IsNullOrWhiteSpace(o.Name))
        {
            throw new ArgumentException("The VM needs a name.", nameof(o));
        }

        if (o.MemoryMiB < 16)
        {
            throw new ArgumentException($"MemoryMiB must be at least 16, not {o.MemoryMiB}.", nameof(o));
        }

        if (o.Vcpus < 1)
        {
            throw new ArgumentException($"Vcpus must be at least 1, not {o.Vcpus}.", nameof(o));
        }

        if (o.Boot is BootSource.Pxe && o.Network is null)
        {
            throw new ArgumentException("A PXE boot needs a network.", nameof(o));
        }

        if (o.Network is { } net)
        {
            foreach (var f in net.Forwards)
            {
                if (f.HostPort is < 1 or > 65535 || f.GuestPort is < 1 or > 65535)
                {
                    throw new ArgumentException($"Port out of range in forward {f}.", nameof(o));
                }
            }
        }
    }

    private static string Format(DiskFormat format) => format switch
    {
        DiskFormat.Raw => "raw",
        DiskFormat.Qcow2 => "qcow2",
        _ => throw new ArgumentOutOfRangeException(nameof(format), format, null),
    };

    private static string SnapshotFlag(bool snapshot) => snapshot ? ",snapshot=on" : string.Empty;

    private static string Invariant(int value) => value.ToString(CultureInfo.InvariantCulture);
}
