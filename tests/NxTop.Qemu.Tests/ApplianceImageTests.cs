namespace NxTop.Qemu.Tests;

public sealed class ApplianceImageTests : IDisposable
{
    private const string Manifest = """
        {
          "name": "nxtop",
          "version": "0.1.0",
          "iso": "nxtop-0.1.0.iso",
          "sha256": { "nxtop-0.1.0.iso": "abc" },
          "futureField": [1, 2, 3],
          "expect": {
            "xenMajorMinor": "4.17",
            "dom0MemMiB": 1024,
            "dom0MaxVcpus": 1,
            "hostname": "nxtop",
            "xenCommandLine": "console=com1,vga com1=115200,8n1 dom0_mem=1024M,max:1024M dom0_max_vcpus=1",
            "dom0CommandLine": "console=hvc0 quiet",
            "diskDom0CommandLine": "console=hvc0 quiet nxtop.slot=a",
            "somethingNew": true
          }
        }
        """;

    private readonly TempDir _repo = new();
    private readonly RepoLayout _layout;

    public ApplianceImageTests()
    {
        _layout = new RepoLayout(_repo.Path);
    }

    public void Dispose() => _repo.Dispose();

    private string MakeImage(string relative = "artifacts/images/nxtop-0.1.0", string manifest = Manifest, bool withIso = true)
    {
        var dir = Path.Combine(_repo.Path, relative);
        Directory.CreateDirectory(Path.Combine(dir, "ssh"));
        File.WriteAllText(Path.Combine(dir, "manifest.json"), manifest);
        if (withIso)
        {
            File.WriteAllText(Path.Combine(dir, "nxtop-0.1.0.iso"), "iso");
        }

        File.WriteAllText(Path.Combine(dir, "ssh", "id_ed25519"), "key");
        File.WriteAllText(Path.Combine(dir, "ssh", "ssh_host_ed25519_key.pub"),
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICRocrKQDs69s841YPR+WU0J1C5YwXggGGrBkeQEY29f root@nxtop\n");
        return dir;
    }

    [Fact]
    public void The_vmtest_image_is_the_sibling_named_by_the_profile_or_the_variable()
    {
        var main = ApplianceImage.Load(MakeImage("artifacts/nxtop-0.1.0"));
        var sibling = MakeImage("artifacts/nxtop-vmtest-0.1.0", Manifest.Replace("\"name\": \"nxtop\"", "\"name\": \"nxtop-vmtest\"", StringComparison.Ordinal));
        var elsewhere = MakeImage("elsewhere/img");

        Assert.Equal(sibling, ApplianceImage.LocateVmTest(_layout, main, _ => null).Directory);
        var vmtest = ApplianceImage.LocateVmTest(_layout, main, _ => null);
        Assert.Same(vmtest, ApplianceImage.LocateVmTest(_layout, vmtest, _ => null));
        Assert.Equal(elsewhere, ApplianceImage.LocateVmTest(_layout, main, n => n == "NXTOP_VMTEST_IMAGE_DIR" ? "elsewhere/img" : null).Directory);
    }

    [Fact]
    public void A_missing_vmtest_image_says_how_to_build_it()
    {
        var main = ApplianceImage.Load(MakeImage("artifacts/nxtop-0.1.0"));

        var ex = Assert.Throws<ImageNotFoundException>(() => ApplianceImage.LocateVmTest(_layout, main, _ => null));

        Assert.Contains("--profile=vmtest", ex.Message, StringComparison.Ordinal);
    }

    private void PointLastImageAt(string text)
    {
        Directory.CreateDirectory(_layout.Artifacts);
        File.WriteAllText(_layout.LastImagePointer, text);
    }

    [Fact]
    public void Manifest_is_read_leniently_ignoring_unknown_members()
    {
        var m = ImageManifest.Parse(Manifest);

        Assert.Equal(("nxtop", "0.1.0", "nxtop-0.1.0.iso"), (m.Name, m.Version, m.Iso));
        Assert.Equal("4.17", m.Expect.XenMajorMinor);
        Assert.Equal(1024, m.Expect.Dom0MemMiB);
        Assert.Equal(1, m.Expect.Dom0MaxVcpus);
        Assert.Equal("nxtop", m.Expect.Hostname);
        Assert.Equal("console=hvc0 quiet", m.Expect.Dom0CommandLine);
        Assert.StartsWith("console=com1,vga", m.Expect.XenCommandLine, StringComparison.Ordinal);
    }

    [Fact]
    public void Manifest_missing_a_required_member_is_an_error_naming_it()
    {
        var e = Assert.Throws<System.Text.Json.JsonException>(() => ImageManifest.Parse(Manifest.Replace("\"hostname\": \"nxtop\",", "", StringComparison.Ordinal)));

        Assert.Contains("hostname", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Environment_variable_wins()
    {
        var dir = MakeImage("elsewhere/img");
        PointLastImageAt("/nonexistent\n");

        var image = ApplianceImage.Locate(_layout, name => name == "NXTOP_IMAGE_DIR" ? dir : null);

        Assert.Equal(dir, image.Directory);
        Assert.Equal(Path.Combine(dir, "nxtop-0.1.0.iso"), image.IsoPath);
        Assert.Equal(Path.Combine(dir, "ssh", "id_ed25519"), image.ClientKeyPath);
        Assert.Equal("6r6kaVh7N4kwowPe1wpDAXL9uKBl+XI5bqijnbnbV1I", image.HostKeyFingerprint);
    }

    [Fact]
    public void Last_image_pointer_is_used_when_the_variable_is_unset_and_may_be_relative()
    {
        var dir = MakeImage();
        PointLastImageAt("artifacts/images/nxtop-0.1.0\nsecond line is ignored\n");

        var image = ApplianceImage.Locate(_layout, _ => null);

        Assert.Equal(dir, image.Directory);
    }

    [Fact]
    public void Absolute_pointer_works_too()
    {
        var dir = MakeImage();
        PointLastImageAt(dir + "\n");

        Assert.Equal(dir, ApplianceImage.Locate(_layout, _ => null).Directory);
    }

    [Fact]
    public void Nothing_built_says_to_run_build_sh()
    {
        var e = Assert.Throws<ImageNotFoundException>(() => ApplianceImage.Locate(_layout, _ => null));

        Assert.Contains("./build.sh", e.Message, StringComparison.Ordinal);
        Assert.Contains("NXTOP_IMAGE_DIR", e.Message, StringComparison.Ordinal);
        Assert.Contains("last-image.txt", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Empty_pointer_says_to_run_build_sh()
    {
        PointLastImageAt("\n");

        var e = Assert.Throws<ImageNotFoundException>(() => ApplianceImage.Locate(_layout, _ => null));
        Assert.Contains("./build.sh", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_iso_is_named()
    {
        MakeImage(withIso: false);
        PointLastImageAt("artifacts/images/nxtop-0.1.0");

        var e = Assert.Throws<ImageNotFoundException>(() => ApplianceImage.Locate(_layout, _ => null));
        Assert.Contains("nxtop-0.1.0.iso", e.Message, StringComparison.Ordinal);
        Assert.Contains("./build.sh", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_broken_manifest_is_reported_as_no_usable_image()
    {
        MakeImage(manifest: "{ not json");
        PointLastImageAt("artifacts/images/nxtop-0.1.0");

        var e = Assert.Throws<ImageNotFoundException>(() => ApplianceImage.Locate(_layout, _ => null));
        Assert.Contains("manifest.json", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Repo_is_found_upwards_by_global_json()
    {
        File.WriteAllText(_repo.File("global.json"), "{}");
        var deep = Directory.CreateDirectory(_repo.File("a/b/c")).FullName;

        Assert.Equal(_repo.Path, RepoLayout.FindFrom(deep).Root);
        Assert.Equal(Path.Combine(_repo.Path, "artifacts", "vm-logs"), RepoLayout.FindFrom(deep).VmLogs);
    }
}

public sealed class ScenarioTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private (ApplianceImage Image, RepoLayout Repo) Image()
    {
        var manifest = ImageManifest.Parse("""
            {"name":"nxtop","version":"0.1.0","iso":"nxtop.iso","pxe":"pxe","expect":{"xenMajorMinor":"4.17","dom0MemMiB":1024,
             "dom0MaxVcpus":1,"hostname":"nxtop","xenCommandLine":"x","dom0CommandLine":"y","diskDom0CommandLine":"z"}}
            """);
        return (new ApplianceImage("/img", manifest), new RepoLayout(_dir.Path));
    }

    [Fact]
    public void IsoBios_is_seabios_with_the_iso_on_a_cdrom()
    {
        var (image, repo) = Image();

        var o = Scenario.IsoBios.Options(image, repo, Accelerator.Tcg, 2222);

        Assert.Equal("IsoBios", o.Name);
        Assert.IsType<Firmware.SeaBios>(o.Firmware);
        Assert.Equal(new BootSource.Cdrom("/img/nxtop.iso"), o.Boot);
        Assert.Equal(MachineType.Pc, o.EffectiveMachine);
        Assert.Equal(2222, o.Network!.SshHostPort);
        Assert.Equal(Path.Combine(_dir.Path, "artifacts", "vm-logs", "IsoBios.log"), o.SerialLogPath);
        Assert.Equal(Path.Combine(_dir.Path, "artifacts", "vm-logs", "IsoBios.firmware.log"), o.FirmwareLogPath);
        Assert.Equal("max,-smap,-rdtscp", o.CpuModel);
    }

    [Fact]
    public void IsoUefi_is_ovmf_bios_with_the_iso_on_a_cdrom()
    {
        var (image, repo) = Image();

        var o = Scenario.IsoUefi.Options(image, repo, Accelerator.Tcg, 2222);

        Assert.Equal(Firmware.Uefi, o.Firmware);
        Assert.Equal(new BootSource.Cdrom("/img/nxtop.iso"), o.Boot);
        Assert.Equal(MachineType.Q35, o.EffectiveMachine);
    }

    [Fact]
    public void IsoUsbUefi_boots_a_throwaway_snapshot_of_the_iso_as_a_usb_stick()
    {
        var (image, repo) = Image();

        var o = Scenario.IsoUsbUefi.Options(image, repo, Accelerator.Kvm, 2222);
        var args = QemuCommandLine.Build(o);

        Assert.Equal(Firmware.Uefi, o.Firmware);
        Assert.Equal(new BootSource.UsbStick("/img/nxtop.iso", Snapshot: true), o.Boot);
        Assert.Contains("if=none,id=usb0,format=raw,file=/img/nxtop.iso,snapshot=on", args);
        Assert.Equal("host", o.CpuModel);
    }

    [Fact]
    public void PxeBios_is_seabios_booting_pxelinux_from_the_pxe_tree_over_tftp()
    {
        var (image, repo) = Image();

        var o = Scenario.PxeBios.Options(image, repo, Accelerator.Tcg, 2222);
        var args = QemuCommandLine.Build(o);

        Assert.IsType<Firmware.SeaBios>(o.Firmware);
        Assert.Equal(new BootSource.Pxe("/img/pxe", "pxelinux.0"), o.Boot);
        Assert.Contains(args, a => a.StartsWith("user,id=net0,hostfwd=tcp:127.0.0.1:2222-:22,tftp=/img/pxe,bootfile=pxelinux.0", StringComparison.Ordinal));
        Assert.Contains(args, a => a.EndsWith(",bootindex=0", StringComparison.Ordinal) && a.Contains("netdev=net0", StringComparison.Ordinal));
        Assert.True(Scenario.PxeBios.NeedsPxeHttp());
    }

    [Fact]
    public void PxeUefi_is_ovmf_booting_grubs_efi_network_image()
    {
        var (image, repo) = Image();

        var o = Scenario.PxeUefi.Options(image, repo, Accelerator.Tcg, 2222);

        Assert.Equal(Firmware.Uefi, o.Firmware);
        Assert.Equal(new BootSource.Pxe("/img/pxe", "bootx64.efi"), o.Boot);
    }

    [Fact]
    public void IpxeHttp_hands_the_nic_rom_the_script_url_under_the_image_id()
    {
        var (image, repo) = Image();

        var o = Scenario.IpxeHttp.Options(image, repo, Accelerator.Tcg, 2222);

        Assert.IsType<Firmware.SeaBios>(o.Firmware);
        Assert.Equal(new BootSource.Pxe("/img/pxe", "http://10.0.2.2/nxtop-0.1.0/boot.ipxe"), o.Boot);
        Assert.False(Scenario.IsoBios.NeedsPxeHttp());
    }

    [Theory]
    [InlineData(Scenario.DiskBios, false)]
    [InlineData(Scenario.DiskUefi, true)]
    [InlineData(Scenario.InstalledBios, false)]
    [InlineData(Scenario.InstalledUefi, true)]
    [InlineData(Scenario.AgentDisk, false)]
    public void Disk_scenarios_boot_their_own_qcow2_overlay_on_virtio(Scenario scenario, bool uefi)
    {
        var (image, repo) = Image();

        var o = scenario.Options(image, repo, Accelerator.Tcg, 2222);
        var args = QemuCommandLine.Build(o);

        Assert.True(scenario.BootsDisk());
        Assert.Equal(uefi ? Firmware.Uefi : Firmware.Bios, o.Firmware);
        var overlay = Path.Combine(_dir.Path, "artifacts", "vm-logs", $"{scenario}.qcow2");
        Assert.Equal(new BootSource.Disk(overlay, DiskFormat.Qcow2), o.Boot);
        Assert.Contains($"if=none,id=disk0,format=qcow2,file={overlay}", args);
        Assert.Contains("virtio-blk-pci,drive=disk0,bootindex=0", args);
        Assert.Equal(scenario is Scenario.InstalledBios or Scenario.InstalledUefi, scenario.UsesInstallerImage());
        Assert.Equal(scenario is Scenario.AgentDisk, scenario.UsesVmTestImage());
        // The agent tests reboot dom0 in place; every other scenario exits on a reboot.
        Assert.Equal(scenario is not Scenario.AgentDisk, args.Contains("-no-reboot"));
    }

    [Fact]
    public void Install_boots_the_iso_under_seabios_with_the_empty_target_as_a_virtio_disk()
    {
        var (image, repo) = Image();

        var o = Scenario.Install.Options(image, repo, Accelerator.Tcg, 2222);
        var args = QemuCommandLine.Build(o);

        Assert.IsType<Firmware.SeaBios>(o.Firmware);
        Assert.Equal(new BootSource.Cdrom("/img/nxtop.iso"), o.Boot);
        var target = ScenarioExtensions.InstallTargetPath(repo);
        Assert.Equal([new ExtraDisk(target)], o.ExtraDisks);
        Assert.Contains($"if=none,id=xdisk1,format=raw,file={target}", args);
        Assert.True(o.NoReboot, "the install ends with a power-off, which must end QEMU");
        Assert.False(Scenario.Install.BootsDisk());
        Assert.True(Scenario.Install.UsesInstallerImage());
    }

    [Fact]
    public async Task Disks_are_made_in_folders_that_do_not_exist_yet()
    {
        var empty = Path.Combine(_dir.Path, "no", "such", "vm-logs", "target.raw");
        var overlay = Path.Combine(_dir.Path, "other", "vm-logs", "over.qcow2");

        DiskImages.CreateEmpty(empty, 1L << 20);
        await DiskImages.CreateOverlayAsync(empty, DiskFormat.Raw, overlay, null);

        Assert.Equal(1L << 20, new FileInfo(empty).Length);
        Assert.Equal(1L << 20, await DiskImages.VirtualSizeAsync(overlay));
    }

    [Fact]
    public void An_image_without_a_disk_image_says_how_to_build_one()
    {
        var (image, _) = Image();

        var ex = Assert.Throws<ImageNotFoundException>(() => image.DiskQcow2Path);
        Assert.Contains("\"disk\" to image.formats", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_overlay_reads_through_to_its_backing_disk_and_can_be_larger()
    {
        var backing = Path.Combine(_dir.Path, "base.raw");
        DiskImages.CreateEmpty(backing, 8L << 20);
        var overlay = Path.Combine(_dir.Path, "over.qcow2");

        await DiskImages.CreateOverlayAsync(backing, DiskFormat.Raw, overlay, 16L << 20);

        Assert.Equal(16L << 20, await DiskImages.VirtualSizeAsync(overlay));
        Assert.Equal(8L << 20, await DiskImages.VirtualSizeAsync(backing));
        await Assert.ThrowsAsync<InvalidOperationException>(() => DiskImages.CreateOverlayAsync(Path.Combine(_dir.Path, "missing.raw"), DiskFormat.Raw, overlay, null));
    }

    [Fact]
    public void An_image_without_a_pxe_tree_says_how_to_build_one()
    {
        var manifest = ImageManifest.Parse("""
            {"name":"nxtop","version":"0.1.0","iso":"nxtop.iso","expect":{"xenMajorMinor":"4.17","dom0MemMiB":1024,
             "dom0MaxVcpus":1,"hostname":"nxtop","xenCommandLine":"x","dom0CommandLine":"y","diskDom0CommandLine":"z"}}
            """);
        var image = new ApplianceImage("/img", manifest);

        var ex = Assert.Throws<ImageNotFoundException>(() => Scenario.PxeBios.Options(image, new RepoLayout(_dir.Path), Accelerator.Tcg, 2222));
        Assert.Contains("\"pxe\" to image.formats", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Timing_and_pid_files_sit_beside_the_serial_log()
    {
        var repo = new RepoLayout(_dir.Path);

        Assert.Equal(Path.Combine(repo.VmLogs, "IsoUefi.timing.json"), Scenario.IsoUefi.TimingPath(repo));
        Assert.Equal(Path.Combine(repo.VmLogs, "IsoUefi.pid"), Scenario.IsoUefi.PidFilePath(repo));
    }
}

public sealed class BootTimingTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Timing_is_written_as_camel_case_json_the_bench_target_can_read()
    {
        var path = _dir.File("vm-logs/IsoBios.timing.json");

        new BootTiming("IsoBios", "tcg", 41.3).WriteTo(path);

        using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(path));
        Assert.Equal("IsoBios", doc.RootElement.GetProperty("scenario").GetString());
        Assert.Equal("tcg", doc.RootElement.GetProperty("accel").GetString());
        Assert.Equal(41.3, doc.RootElement.GetProperty("sshReadySeconds").GetDouble());
        Assert.Equal(new BootTiming("IsoBios", "tcg", 41.3), BootTiming.Read(path));
        Assert.False(File.Exists(path + ".tmp"));
    }

    [Fact]
    public void A_failed_boot_has_null_seconds_and_an_error()
    {
        var path = _dir.File("t.json");

        new BootTiming("IsoUefi", "tcg", null, "SSH was not ready").WriteTo(path);

        using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(path));
        Assert.Equal(System.Text.Json.JsonValueKind.Null, doc.RootElement.GetProperty("sshReadySeconds").ValueKind);
        Assert.Equal("SSH was not ready", doc.RootElement.GetProperty("error").GetString());
    }
}
