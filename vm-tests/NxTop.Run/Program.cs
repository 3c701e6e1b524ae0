using NxTop.Qemu;

// nxtop-run: boots the last built image (or NXTOP_IMAGE_DIR) for a person, with the serial console on this terminal.
// The same scenarios, options and launcher as the VM tests. Usage: nxtop-run --format <format>
return await RunCommand.MainAsync(args, Console.Out, Console.Error);

/// <summary>The Run target's entry point, separate from Program so the format table is easy to read.</summary>
internal static class RunCommand
{
    /// <summary>The names a person types, and the scenario each one boots.</summary>
    public static IReadOnlyDictionary<string, Scenario> Formats { get; } = new Dictionary<string, Scenario>(StringComparer.OrdinalIgnoreCase)
    {
        ["iso-bios"] = Scenario.IsoBios,
        ["iso-uefi"] = Scenario.IsoUefi,
        ["usb-uefi"] = Scenario.IsoUsbUefi,
        ["pxe-bios"] = Scenario.PxeBios,
        ["pxe-uefi"] = Scenario.PxeUefi,
        ["ipxe"] = Scenario.IpxeHttp,
        ["disk-bios"] = Scenario.DiskBios,
        ["disk-uefi"] = Scenario.DiskUefi,
    };

    public static async Task<int> MainAsync(string[] args, TextWriter stdout, TextWriter stderr)
    {
        var format = args.Length == 2 && args[0] == "--format" ? args[1] : args.Length == 0 ? "iso-bios" : null;
        if (format is null || !Formats.TryGetValue(format, out var scenario))
        {
            await stderr.WriteLineAsync($"usage: nxtop-run --format <{string.Join('|', Formats.Keys)}>  (default iso-bios)");
            return 64;
        }

        var repo = RepoLayout.Current();
        ApplianceImage image;
        try
        {
            image = ApplianceImage.Locate(repo);
        }
        catch (ImageNotFoundException e)
        {
            await stderr.WriteLineAsync(e.Message);
            return 1;
        }

        var accel = await AccelProbe.DecideOnceAsync();
        var port = FreePort.Pick();
        if (scenario.BootsDisk())
        {
            // A copy-on-write overlay: the person may change the disk at will, the build's image stays as built.
            await DiskImages.CreateOverlayAsync(image.DiskQcow2Path, DiskFormat.Qcow2, scenario.OverlayPath(repo), null);
        }

        var options = scenario.Options(image, repo, accel.Accelerator, port) with
        {
            Name = "run-" + scenario,
            SerialOnTerminal = true,
            SerialLogPath = Path.Combine(repo.VmLogs, $"run-{scenario}.log"),
            FirmwareLogPath = null,
        };

        await using var http = scenario.NeedsPxeHttp()
            ? StaticHttpServer.Start(image.PxeDirectory, image.ImageId, ScenarioExtensions.PxeHttpPort, _ => { })
            : null;

        // A known_hosts file that pins this build's host key, so the printed ssh command needs no trust-on-first-use.
        var knownHosts = Path.Combine(repo.VmLogs, $"run-{scenario}.known_hosts");
        Directory.CreateDirectory(repo.VmLogs);
        var hostKey = (await File.ReadAllTextAsync(image.HostPublicKeyPath)).Trim().Split(' ');
        await File.WriteAllTextAsync(knownHosts, $"[127.0.0.1]:{port} {hostKey[0]} {hostKey[1]}\n");

        await stderr.WriteLineAsync($"""
            nxtop-run: booting {image.Directory} as {format} ({accel})
              serial log: {options.SerialLogPath}
              quit: Ctrl-A X    QEMU monitor: Ctrl-A C
              when dom0 is up (minutes under TCG), log in with:
                ssh -i {image.ClientKeyPath} -p {port} -o UserKnownHostsFile={knownHosts} -o StrictHostKeyChecking=yes root@127.0.0.1
            """);
        await using var machine = QemuMachine.Start(options);
        return await machine.Exited;
    }
}
