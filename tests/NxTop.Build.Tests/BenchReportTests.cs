using NxTop.Build.Manifest;
using NxTop.Build.Rootfs;

namespace NxTop.Build.Tests;

/// <summary>The Bench table: boot milestones, the install row, the disk image sizes.</summary>
public class BenchReportTests
{
    private static readonly BuildManifest Manifest = new(
        "nxtop", "0.1.0", "none", new string('a', 64), 1_700_000_000, "key", "4.17.7", "6.1.0", "0.1.0",
        "nxtop-0.1.0.iso", "pxe", "nxtop-0.1.0.img", "nxtop-0.1.0.qcow2", "SHA256:x", 400L << 20, 100L << 20, 4L << 20,
        new Expectations("4.17", 1024, 1, "nxtop", "x", "y", "z"),
        [new ArtifactEntry("nxtop-0.1.0.img", 931L << 20, "0"), new ArtifactEntry("nxtop-0.1.0.qcow2", 152L << 20, "1")],
        [new PackageVersion("bash", "5", "amd64")]);

    [Fact]
    public void Boot_rows_carry_the_agent_and_guest_milestones_and_the_install_is_not_a_boot()
    {
        var boots = new[]
        {
            new BootTimingRecord("IsoBios", "tcg", 180.5, null) { AgentHealthySeconds = 190.2, GuestBootSeconds = 23.0 },
            new BootTimingRecord("Install", "tcg", 216.2, null),
            new BootTimingRecord("DiskUefi", "tcg", null, "QEMU died"),
        };

        var text = BenchReport.Render(Manifest, 160L << 20, 250, 50, boots, DateTimeOffset.UnixEpoch);

        Assert.Contains("| boot IsoBios: QEMU start → SSH ready (tcg); agent healthy at 190.2 s, PV guest up 23.0 s after xl create | 180.5 s | ≤ 90 s |", text, StringComparison.Ordinal);
        Assert.Contains("| install from the ISO to an empty disk: QEMU start → written, verified, powered off (tcg) | 216.2 s | |", text, StringComparison.Ordinal);
        Assert.DoesNotContain("boot Install", text, StringComparison.Ordinal);
        Assert.Contains("| boot DiskUefi: QEMU start → SSH ready (tcg) | failed: QEMU died | ≤ 90 s |", text, StringComparison.Ordinal);
        Assert.Contains("| disk image nxtop-0.1.0.img (raw, sparse: its virtual size) | 931.0 MiB | |", text, StringComparison.Ordinal);
        Assert.Contains("| disk image nxtop-0.1.0.qcow2 (qcow2: its file size) | 152.0 MiB | |", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Timing_files_with_milestones_are_read_back()
    {
        using var dir = new TempDir();
        dir.Write("IsoBios.timing.json", """{"scenario":"IsoBios","accel":"tcg","sshReadySeconds":180.5,"error":null,"agentHealthySeconds":190.2,"guestBootSeconds":null}""");

        var read = Assert.Single(BenchReport.ReadBootTimings(dir.Path));

        Assert.Equal(190.2, read.AgentHealthySeconds);
        Assert.Null(read.GuestBootSeconds);
        Assert.Equal(180.5, read.SshReadySeconds);
    }

    [Fact]
    public void Measures_written_by_the_vm_tests_are_read_back_and_become_rows()
    {
        using var dir = new TempDir();
        // The shape NxTop.Qemu.Measures writes (camelCase, indented).
        dir.Write("AgentDisk.measures.json", """
            [
              { "name": "agent: idle RSS (VmRSS)", "value": "21.4 MiB", "aim": "≤ 40 MB" },
              { "name": "agent: start", "value": "3.10 s", "aim": "" }
            ]
            """);
        dir.Write("AgentDisk.timing.json", """{"scenario":"AgentDisk","accel":"tcg","sshReadySeconds":280.0,"error":null}""");

        var measures = BenchReport.ReadMeasures(dir.Path);
        var text = BenchReport.Render(Manifest, 160L << 20, 250, 50, [], DateTimeOffset.UnixEpoch, measures: measures);

        Assert.Equal(2, measures.Count);
        Assert.Contains("| agent: idle RSS (VmRSS) | 21.4 MiB | ≤ 40 MB |", text, StringComparison.Ordinal);
        Assert.Contains("| agent: start | 3.10 s | |", text, StringComparison.Ordinal);
        Assert.Empty(BenchReport.ReadMeasures(Path.Combine(dir.Path, "missing")));
    }
}
