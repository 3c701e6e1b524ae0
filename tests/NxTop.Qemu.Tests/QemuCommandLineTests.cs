namespace NxTop.Qemu.Tests;

public class QemuCommandLineTests
{
    private static QemuOptions Iso(Firmware firmware) => new()
    {
        Name = "IsoBios",
        Boot = new BootSource.Cdrom("/img/nxtop.iso"),
        Firmware = firmware,
        Network = new NetworkOptions(2222),
        SerialLogPath = "/logs/IsoBios.log",
    };

    /// <summary>The value after each occurrence of <paramref name="flag"/>.</summary>
    private static List<string> Values(IReadOnlyList<string> args, string flag) =>
        args.Select((a, i) => (a, i)).Where(t => t.a == flag).Select(t => args[t.i + 1]).ToList();

    private static string Value(IReadOnlyList<string> args, string flag) => Assert.Single(Values(args, flag));

    [Fact]
    public void SeaBios_cdrom_builds_the_whole_line_in_order()
    {
        var args = QemuCommandLine.Build(Iso(Firmware.Bios));

        Assert.Equal(
            [
                "qemu-system-x86_64",
                "-name", "IsoBios",
                "-machine", "pc",
                "-accel", "tcg",
                "-cpu", "max,-smap,-rdtscp",
                "-m", "2048",
                "-smp", "2",
                "-nodefaults", "-display", "none",
                "-no-reboot",
                "-chardev", "file,id=serial0,path=/logs/IsoBios.log",
                "-serial", "chardev:serial0",
                "-drive", "if=none,id=cd0,media=cdrom,readonly=on,format=raw,file=/img/nxtop.iso",
                "-device", "ide-cd,drive=cd0,bootindex=0",
                "-netdev", "user,id=net0,hostfwd=tcp:127.0.0.1:2222-:22",
                "-device", "virtio-net-pci,netdev=net0,romfile=",
            ],
            args);
    }

    [Fact]
    public void SeaBios_adds_no_firmware_arguments()
    {
        var args = QemuCommandLine.Build(Iso(Firmware.Bios));

        Assert.DoesNotContain("-bios", args);
        Assert.DoesNotContain(args, a => a.Contains("pflash", StringComparison.Ordinal));
    }

    [Fact]
    public void Ovmf_bios_uses_the_combined_image_and_q35()
    {
        var args = QemuCommandLine.Build(Iso(Firmware.Uefi));

        Assert.Equal("/usr/share/ovmf/OVMF.fd", Value(args, "-bios"));
        Assert.Equal("q35", Value(args, "-machine"));
        Assert.DoesNotContain(args, a => a.Contains("pflash", StringComparison.Ordinal));
    }

    [Fact]
    public void Ovmf_bios_path_is_passed_verbatim_because_qemu_does_not_comma_parse_it()
    {
        var args = QemuCommandLine.Build(Iso(new Firmware.OvmfBios("/fw/a,b/OVMF.fd")));

        Assert.Equal("/fw/a,b/OVMF.fd", Value(args, "-bios"));
    }

    [Fact]
    public void Ovmf_pflash_maps_readonly_code_and_the_per_vm_vars_copy()
    {
        var firmware = new Firmware.OvmfPflash("/usr/share/OVMF/OVMF_CODE_4M.fd", "/usr/share/OVMF/OVMF_VARS_4M.fd", "/vm/IsoUefi.vars.fd");
        var args = QemuCommandLine.Build(Iso(firmware));

        var drives = Values(args, "-drive");
        Assert.Equal("if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd", drives[0]);
        Assert.Equal("if=pflash,format=raw,unit=1,file=/vm/IsoUefi.vars.fd", drives[1]);
        Assert.DoesNotContain(args, a => a.Contains("OVMF_VARS_4M", StringComparison.Ordinal));
        Assert.DoesNotContain("-bios", args);
        Assert.Equal("q35", Value(args, "-machine"));
    }

    [Theory]
    [InlineData(MachineType.Pc, "pc")]
    [InlineData(MachineType.Q35, "q35")]
    public void Explicit_machine_type_wins_over_the_firmware_default(MachineType machine, string expected)
    {
        var args = QemuCommandLine.Build(Iso(Firmware.Uefi) with { Machine = machine });

        Assert.Equal(expected, Value(args, "-machine"));
    }

    [Fact]
    public void Disk_boot_uses_virtio_blk_with_boot_index_and_format()
    {
        var args = QemuCommandLine.Build(Iso(Firmware.Bios) with { Boot = new BootSource.Disk("/img/disk.qcow2", DiskFormat.Qcow2) });

        Assert.Equal("if=none,id=disk0,format=qcow2,file=/img/disk.qcow2", Value(args, "-drive"));
        Assert.Equal(["virtio-blk-pci,drive=disk0,bootindex=0", "virtio-net-pci,netdev=net0,romfile="], Values(args, "-device"));
    }

    [Fact]
    public void Snapshot_keeps_guest_writes_off_the_image()
    {
        var disk = QemuCommandLine.Build(Iso(Firmware.Bios) with { Boot = new BootSource.Disk("/img/d.raw", Snapshot: true) });
        var usb = QemuCommandLine.Build(Iso(Firmware.Uefi) with { Boot = new BootSource.UsbStick("/img/x.iso", Snapshot: true) });

        Assert.Equal("if=none,id=disk0,format=raw,file=/img/d.raw,snapshot=on", Value(disk, "-drive"));
        Assert.Equal("if=none,id=usb0,format=raw,file=/img/x.iso,snapshot=on", Value(usb, "-drive"));
    }

    [Fact]
    public void Usb_stick_sits_on_xhci_as_usb_storage_with_boot_index_0()
    {
        var args = QemuCommandLine.Build(Iso(Firmware.Uefi) with { Boot = new BootSource.UsbStick("/img/nxtop.iso") });

        Assert.Equal("if=none,id=usb0,format=raw,file=/img/nxtop.iso", Value(args, "-drive"));
        var devices = Values(args, "-device");
        Assert.Equal("qemu-xhci,id=xhci", devices[0]);
        Assert.Equal("usb-storage,bus=xhci.0,drive=usb0,bootindex=0", devices[1]);
        Assert.DoesNotContain(args, a => a.Contains("media=cdrom", StringComparison.Ordinal));
    }

    [Fact]
    public void Pxe_serves_tftp_from_user_net_and_boots_the_nic_with_its_rom()
    {
        var args = QemuCommandLine.Build(Iso(Firmware.Bios) with { Boot = new BootSource.Pxe("/srv/tftp", "pxelinux.0") });

        Assert.Equal("user,id=net0,hostfwd=tcp:127.0.0.1:2222-:22,tftp=/srv/tftp,bootfile=pxelinux.0", Value(args, "-netdev"));
        Assert.Equal("virtio-net-pci,netdev=net0,bootindex=0", Value(args, "-device"));
        Assert.DoesNotContain("-drive", args);
    }

    [Fact]
    public void Pxe_without_a_network_is_rejected()
    {
        var options = Iso(Firmware.Bios) with { Boot = new BootSource.Pxe("/srv/tftp", "core.0"), Network = null };

        var e = Assert.Throws<ArgumentException>(() => QemuCommandLine.Build(options));
        Assert.Contains("PXE", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Extra_forwards_follow_the_ssh_forward()
    {
        var options = Iso(Firmware.Bios) with
        {
            Network = new NetworkOptions(2222)
            {
                ExtraForwards = [new PortForward(8443, 443), new PortForward(5353, 53, Udp: true)],
            },
        };

        var netdev = Value(QemuCommandLine.Build(options), "-netdev");

        Assert.Equal("user,id=net0,hostfwd=tcp:127.0.0.1:2222-:22,hostfwd=tcp:127.0.0.1:8443-:443,hostfwd=udp:127.0.0.1:5353-:53", netdev);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(65536)]
    public void Forward_ports_out_of_range_are_rejected(int port)
    {
        var options = Iso(Firmware.Bios) with { Network = new NetworkOptions(port) };

        Assert.Throws<ArgumentException>(() => QemuCommandLine.Build(options));
    }

    [Fact]
    public void No_network_means_no_nic_at_all()
    {
        var args = QemuCommandLine.Build(Iso(Firmware.Bios) with { Network = null });

        Assert.DoesNotContain("-netdev", args);
        Assert.DoesNotContain(args, a => a.Contains("net-pci", StringComparison.Ordinal));
    }

    [Fact]
    public void Commas_in_option_values_are_doubled()
    {
        var options = new QemuOptions
        {
            Name = "a,b",
            Boot = new BootSource.Pxe("/srv/t,ftp", "boot,file.0"),
            Network = new NetworkOptions(2222),
            SerialLogPath = "/logs/x,y.log",
            FirmwareLogPath = "/logs/fw,1.log",
            QmpSocketPath = "/run/q,mp.sock",
            ExtraDisks = [new ExtraDisk("/img/d,1.raw")],
        };

        var args = QemuCommandLine.Build(options);

        Assert.Equal("a,,b", Value(args, "-name"));
        var chardevs = Values(args, "-chardev");
        Assert.Contains("file,id=serial0,path=/logs/x,,y.log", chardevs);
        Assert.Contains("file,id=fwlog0,path=/logs/fw,,1.log", chardevs);
        Assert.Contains("socket,id=qmp0,path=/run/q,,mp.sock,server=on,wait=off", chardevs);
        Assert.Equal("if=none,id=xdisk1,format=raw,file=/img/d,,1.raw", Value(args, "-drive"));
        Assert.EndsWith(",tftp=/srv/t,,ftp,bootfile=boot,,file.0", Value(args, "-netdev"), StringComparison.Ordinal);
    }

    [Fact]
    public void Cdrom_path_with_comma_is_escaped()
    {
        var args = QemuCommandLine.Build(Iso(Firmware.Bios) with { Boot = new BootSource.Cdrom("/a,b/x.iso") });

        Assert.EndsWith("file=/a,,b/x.iso", Value(args, "-drive"), StringComparison.Ordinal);
    }

    [Fact]
    public void Qmp_socket_is_a_control_monitor_that_does_not_wait()
    {
        var args = QemuCommandLine.Build(Iso(Firmware.Bios) with { QmpSocketPath = "/run/qmp.sock" });

        Assert.Contains("socket,id=qmp0,path=/run/qmp.sock,server=on,wait=off", Values(args, "-chardev"));
        Assert.Equal("chardev=qmp0,mode=control", Value(args, "-mon"));
    }

    [Fact]
    public void Firmware_debug_log_goes_to_the_isa_debugcon_port()
    {
        var args = QemuCommandLine.Build(Iso(Firmware.Bios) with { FirmwareLogPath = "/logs/fw.log" });

        Assert.Contains("file,id=fwlog0,path=/logs/fw.log", Values(args, "-chardev"));
        Assert.Contains("isa-debugcon,iobase=0x402,chardev=fwlog0", Values(args, "-device"));
    }

    [Fact]
    public void No_serial_log_means_no_serial_port()
    {
        var args = QemuCommandLine.Build(Iso(Firmware.Bios) with { SerialLogPath = null });

        Assert.DoesNotContain("-serial", args);
        Assert.DoesNotContain("-chardev", args);
    }

    [Fact]
    public void A_run_for_a_person_puts_serial_and_monitor_on_the_terminal_and_still_logs()
    {
        var args = QemuCommandLine.Build(Iso(Firmware.Bios) with { SerialOnTerminal = true, FirmwareLogPath = null });

        Assert.Equal(["stdio,id=serial0,mux=on,signal=off,logfile=/logs/IsoBios.log"], Values(args, "-chardev"));
        Assert.Equal(["chardev:serial0"], Values(args, "-serial"));
        Assert.Equal(["chardev=serial0,mode=readline"], Values(args, "-mon"));
    }

    [Fact]
    public void Extra_disks_are_attached_after_the_boot_disk_without_boot_index()
    {
        var options = Iso(Firmware.Bios) with { ExtraDisks = [new ExtraDisk("/img/a.raw"), new ExtraDisk("/img/b.qcow2", DiskFormat.Qcow2)] };

        var args = QemuCommandLine.Build(options);

        Assert.Equal(
            [
                "if=none,id=cd0,media=cdrom,readonly=on,format=raw,file=/img/nxtop.iso",
                "if=none,id=xdisk1,format=raw,file=/img/a.raw",
                "if=none,id=xdisk2,format=qcow2,file=/img/b.qcow2",
            ],
            Values(args, "-drive"));
        Assert.Contains("virtio-blk-pci,drive=xdisk1", Values(args, "-device"));
        Assert.Contains("virtio-blk-pci,drive=xdisk2", Values(args, "-device"));
    }

    [Fact]
    public void Kvm_accelerator_comes_with_the_host_cpu()
    {
        var args = QemuCommandLine.Build(Iso(Firmware.Bios).WithAccelerator(Accelerator.Kvm));

        Assert.Equal("kvm", Value(args, "-accel"));
        Assert.Equal("host", Value(args, "-cpu"));
    }

    [Fact]
    public void Tcg_accelerator_comes_with_the_xen_safe_cpu_model()
    {
        var args = QemuCommandLine.Build((Iso(Firmware.Bios) with { CpuModel = "qemu64" }).WithAccelerator(Accelerator.Tcg));

        Assert.Equal("tcg", Value(args, "-accel"));
        Assert.Equal("max,-smap,-rdtscp", Value(args, "-cpu"));
    }

    [Fact]
    public void Memory_vcpus_binary_no_reboot_and_extra_args_are_honoured()
    {
        var options = Iso(Firmware.Bios) with
        {
            Binary = "/opt/qemu/bin/qemu-system-x86_64",
            MemoryMiB = 4096,
            Vcpus = 1,
            NoReboot = false,
            ExtraArgs = ["-snapshot"],
        };

        var args = QemuCommandLine.Build(options);

        Assert.Equal("/opt/qemu/bin/qemu-system-x86_64", args[0]);
        Assert.Equal("4096", Value(args, "-m"));
        Assert.Equal("1", Value(args, "-smp"));
        Assert.DoesNotContain("-no-reboot", args);
        Assert.Equal("-snapshot", args[^1]);
    }

    [Fact]
    public void Defaults_match_the_recipe()
    {
        var options = new QemuOptions { Name = "x", Boot = new BootSource.Cdrom("/x.iso") };

        Assert.Equal(2048, options.MemoryMiB);
        Assert.Equal(2, options.Vcpus);
        Assert.Equal("max,-smap,-rdtscp", options.CpuModel);
        Assert.Equal(Accelerator.Tcg, options.Accelerator);
        Assert.True(options.NoReboot);
        Assert.Equal(Firmware.Bios, options.Firmware);
        Assert.Equal("/usr/share/ovmf/OVMF.fd", Assert.IsType<Firmware.OvmfBios>(Firmware.Uefi).Path);
    }

    [Theory]
    [InlineData(8, 1)]
    [InlineData(512, 0)]
    public void Nonsense_sizes_are_rejected(int memory, int vcpus)
    {
        var options = Iso(Firmware.Bios) with { MemoryMiB = memory, Vcpus = vcpus };

        Assert.Throws<ArgumentException>(() => QemuCommandLine.Build(options));
    }

    [Fact]
    public void Build_is_pure_and_repeatable()
    {
        var options = Iso(Firmware.Uefi) with { QmpSocketPath = "/nonexistent/dir/qmp.sock" };

        Assert.Equal(QemuCommandLine.Build(options), QemuCommandLine.Build(options));
        Assert.False(Directory.Exists("/nonexistent/dir"));
    }

    [Fact]
    public void Display_quotes_for_a_shell()
    {
        Assert.Equal("qemu -netdev user,hostfwd=tcp:127.0.0.1:1-:22 -name 'a b' ''",
            QemuCommandLine.Display(["qemu", "-netdev", "user,hostfwd=tcp:127.0.0.1:1-:22", "-name", "a b", ""]));
    }
}
