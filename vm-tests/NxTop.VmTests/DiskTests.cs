using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace NxTop.VmTests;

/// <summary>
/// What a disk boot must show besides the common checks: GRUB booted slot A with the disk command line, live-boot
/// took slot A as its medium, and the data partition grew to fill the (larger) disk and holds /var/lib/nxtop and the journal.
/// </summary>
public abstract partial class DiskTests(VmFixture vm, ITestOutputHelper output) : ApplianceTests(vm, output)
{
    private SshSession Ssh => Vm.Ssh;

    private string SlotAPartUuid => LiveMediaRe().Match(Vm.Image.Manifest.Expect.DiskDom0CommandLine) is { Success: true } m
        ? m.Groups[1].Value
        : throw new InvalidOperationException($"The manifest's disk command line names no live-media partition: {Vm.Image.Manifest.Expect.DiskDom0CommandLine}");

    private string DataPartUuid => DataRe().Match(Vm.Image.Manifest.Expect.DiskDom0CommandLine) is { Success: true } m
        ? m.Groups[1].Value
        : throw new InvalidOperationException($"The manifest's disk command line names no data partition: {Vm.Image.Manifest.Expect.DiskDom0CommandLine}");

    [Fact]
    public async Task Grub_booted_slot_a_with_the_disk_command_line()
    {
        var actual = XlOutput.NormalizeWhitespace((await Ssh.RunAsync("cat /proc/cmdline")).Stdout);

        Assert.Contains(XlOutput.NormalizeWhitespace(Vm.Image.Manifest.Expect.DiskDom0CommandLine), actual, StringComparison.Ordinal);
        Assert.Contains(" nxtop.slot=a", actual, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_live_medium_is_root_slot_a()
    {
        var result = await Ssh.RunAsync($"findmnt -no SOURCE,FSTYPE /run/live/medium; readlink -f /dev/disk/by-partuuid/{SlotAPartUuid}");
        var lines = result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

        Assert.Equal(2, lines.Length);
        Assert.Equal($"{lines[1]} iso9660", XlOutput.NormalizeWhitespace(lines[0]));
    }

    [Fact]
    public async Task The_data_partition_filled_the_disk_and_holds_var_lib_nxtop()
    {
        var part = (await Ssh.RunAsync($"readlink -f /dev/disk/by-partuuid/{DataPartUuid}")).Stdout.Trim();
        var name = Path.GetFileName(part);
        var facts = (await Ssh.RunAsync(
            $"findmnt -no SOURCE,FSTYPE /var/lib/nxtop; disk=$(lsblk -dno PKNAME {part}); "
            + $"cat /sys/class/block/{name}/start /sys/class/block/{name}/size /sys/class/block/$disk/size; "
            + "df -B1 --output=size /var/lib/nxtop | tail -n 1")).Stdout
            .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

        Assert.Equal($"{part} ext4", XlOutput.NormalizeWhitespace(facts[0]));
        var start = long.Parse(facts[1], CultureInfo.InvariantCulture);
        var size = long.Parse(facts[2], CultureInfo.InvariantCulture);
        var disk = long.Parse(facts[3], CultureInfo.InvariantCulture);
        var fs = long.Parse(facts[4], CultureInfo.InvariantCulture);
        var gap = disk - (start + size);
        Assert.True(gap is >= 33 and < 4096, $"The data partition ({start}+{size} sectors) does not reach the end of the disk ({disk} sectors): {gap} sectors are left.");
        Assert.True(fs > size * 512 * 9 / 10, $"The file system ({fs} bytes) did not grow with its partition ({size * 512} bytes).");
        Output.WriteLine($"data partition: {size * 512 >> 20} MiB of a {disk * 512 >> 20} MiB disk; file system {fs >> 20} MiB");
    }

    [Fact]
    public async Task The_journal_is_kept_on_the_data_partition()
    {
        var part = (await Ssh.RunAsync($"readlink -f /dev/disk/by-partuuid/{DataPartUuid}")).Stdout.Trim();
        var result = await Ssh.RunAsync("findmnt -no SOURCE /var/log/journal; ls /var/log/journal");

        // A bind mount shows as device[path inside the file system].
        Assert.StartsWith($"{part}[/log/journal]", result.Stdout, StringComparison.Ordinal);
        Assert.Matches("[0-9a-f]{32}", result.Stdout);
    }

    [Fact]
    public async Task The_grub_environment_block_on_the_esp_selects_slot_a()
    {
        var env = (await Ssh.RunAsync(
            "mkdir -p /run/nxtop-esp && mount -o ro /dev/disk/by-partlabel/esp /run/nxtop-esp && "
            + "cat /run/nxtop-esp/grub/grubenv; umount /run/nxtop-esp")).Stdout;

        Assert.StartsWith("# GRUB Environment Block", env, StringComparison.Ordinal);
        Assert.Contains("nxtop_slot=a\n", env, StringComparison.Ordinal);
        Assert.Contains("nxtop_upgrade=0\n", env, StringComparison.Ordinal);
    }

    [GeneratedRegex(@"live-media=/dev/disk/by-partuuid/([0-9a-f-]{36})")]
    private static partial Regex LiveMediaRe();

    [GeneratedRegex(@"nxtop\.data=PARTUUID=([0-9a-f-]{36})")]
    private static partial Regex DataRe();
}

[Collection(nameof(Scenario.DiskBios))]
[Trait("Category", "Nightly")]
[TestCaseOrderer(DeclarationOrderer.TypeName, DeclarationOrderer.AssemblyName)]
public sealed class DiskBiosTests(DiskBiosFixture vm, ITestOutputHelper output) : DiskTests(vm, output);

[Collection(nameof(Scenario.DiskUefi))]
[Trait("Category", "Smoke")]
[TestCaseOrderer(DeclarationOrderer.TypeName, DeclarationOrderer.AssemblyName)]
public sealed class DiskUefiTests(DiskUefiFixture vm, ITestOutputHelper output) : DiskTests(vm, output);

/// <summary>
/// The unattended install from the installer ISO, then the installed disk booted alone under SeaBIOS. Before the
/// boot (which runs on an overlay), the installed disk is compared with the installer build's own disk image: the
/// installer must have written the same partition table and the same bytes in every partition.
/// </summary>
[Collection(nameof(Scenario.InstalledBios))]
[Trait("Category", "Smoke")]
[TestCaseOrderer(DeclarationOrderer.TypeName, DeclarationOrderer.AssemblyName)]
public sealed class InstalledBiosTests(InstalledBiosFixture vm, ITestOutputHelper output) : DiskTests(vm, output)
{
    [Fact]
    public void The_installer_reported_done_and_powered_off()
    {
        var install = Vm.Install ?? throw new InvalidOperationException("The fixture ran no install.");
        Output.WriteLine($"install: {install.Seconds} s from QEMU start to power-off; serial log {install.SerialLogPath}");

        Assert.Contains(SerialLog.Tail(install.SerialLogPath, 400), l => l.Contains(InstallRun.DoneMarker, StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_installed_disk_has_the_disk_images_partition_table_and_bytes()
    {
        var install = Vm.Install ?? throw new InvalidOperationException("The fixture ran no install.");
        var image = Vm.Image.DiskRawPath;
        var installedParts = await PartitionsAsync(install.TargetPath);
        var imageParts = await PartitionsAsync(image);

        Assert.Equal(imageParts.Select(p => p.ToString()), installedParts.Select(p => p.ToString()));
        await using var a = File.OpenRead(image);
        await using var b = File.OpenRead(install.TargetPath);
        Assert.True(await SameAsync(a, b, 0, 440), "The MBR boot code differs.");
        foreach (var p in imageParts.Where(p => p.Name != "nxtop-b"))
        {
            Assert.True(await SameAsync(a, b, p.Start * 512, p.Size * 512), $"Partition {p.Name} differs from the disk image.");
        }
    }

    private sealed record Part(string Name, long Start, long Size, string Uuid, string Type);

    private static async Task<IReadOnlyList<Part>> PartitionsAsync(string disk)
    {
        var psi = new ProcessStartInfo("sfdisk", ["--json", disk]) { RedirectStandardOutput = true, UseShellExecute = false };
        using var p = Process.Start(psi)!;
        var json = await p.StandardOutput.ReadToEndAsync();
        await p.WaitForExitAsync();
        Assert.True(p.ExitCode == 0, $"sfdisk --json {disk} failed");
        using var doc = JsonDocument.Parse(json);
        return doc.RootElement.GetProperty("partitiontable").GetProperty("partitions").EnumerateArray()
            .Select(e => new Part(e.GetProperty("name").GetString()!, e.GetProperty("start").GetInt64(), e.GetProperty("size").GetInt64(),
                e.GetProperty("uuid").GetString()!, e.GetProperty("type").GetString()!))
            .ToList();
    }

    private static async Task<bool> SameAsync(FileStream a, FileStream b, long offset, long length)
    {
        var x = new byte[1 << 20];
        var y = new byte[1 << 20];
        for (long done = 0; done < length;)
        {
            var n = (int)Math.Min(x.Length, length - done);
            a.Position = b.Position = offset + done;
            await a.ReadExactlyAsync(x.AsMemory(0, n));
            await b.ReadExactlyAsync(y.AsMemory(0, n));
            if (!x.AsSpan(0, n).SequenceEqual(y.AsSpan(0, n)))
            {
                return false;
            }

            done += n;
        }

        return true;
    }
}

[Collection(nameof(Scenario.InstalledUefi))]
[Trait("Category", "Nightly")]
[TestCaseOrderer(DeclarationOrderer.TypeName, DeclarationOrderer.AssemblyName)]
public sealed class InstalledUefiTests(InstalledUefiFixture vm, ITestOutputHelper output) : DiskTests(vm, output);
