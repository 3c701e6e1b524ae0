namespace NxTop.Qemu.Tests;

public class AccelProbeTests
{
    private static AccelProbe Probe(string? env = null, bool kvmDevice = true, ProbeOutcome? outcome = null) => new()
    {
        GetEnvironmentVariable = name => name == AccelProbe.OverrideVariable ? env : null,
        DeviceExists = _ => kvmDevice,
        RunProbe = _ => outcome is null
            ? throw new InvalidOperationException("the probe must not run here")
            : Task.FromResult(outcome),
    };

    [Theory]
    [InlineData("tcg", Accelerator.Tcg)]
    [InlineData("TCG", Accelerator.Tcg)]
    [InlineData(" kvm ", Accelerator.Kvm)]
    public async Task Override_wins_without_probing(string value, Accelerator expected)
    {
        var decision = await Probe(env: value, kvmDevice: false).DecideAsync();

        Assert.Equal(expected, decision.Accelerator);
        Assert.Contains("NXTOP_ACCEL", decision.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unknown_override_is_an_error_not_a_silent_fallback()
    {
        var e = await Assert.ThrowsAsync<ArgumentException>(() => Probe(env: "hvf").DecideAsync());

        Assert.Contains("hvf", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task No_kvm_device_means_tcg_without_probing()
    {
        var decision = await Probe(kvmDevice: false).DecideAsync();

        Assert.Equal(Accelerator.Tcg, decision.Accelerator);
        Assert.Contains("/dev/kvm is absent", decision.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Kvm_device_with_a_failing_probe_means_tcg_and_says_why()
    {
        var outcome = new ProbeOutcome(false, "QEMU exited with code 134; stderr: error: failed to set MSR 0x10a to 0x69");

        var decision = await Probe(outcome: outcome).DecideAsync();

        Assert.Equal(Accelerator.Tcg, decision.Accelerator);
        Assert.Contains("failed to set MSR 0x10a", decision.Reason, StringComparison.Ordinal);
        Assert.StartsWith("tcg (", decision.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Kvm_device_with_a_passing_probe_means_kvm()
    {
        var decision = await Probe(outcome: new ProbeOutcome(true, "marker seen after 0.21 s")).DecideAsync();

        Assert.Equal(Accelerator.Kvm, decision.Accelerator);
        Assert.Contains("probe passed", decision.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Missing_qemu_binary_fails_the_probe_instead_of_throwing()
    {
        var probe = new AccelProbe { QemuBinary = "/nonexistent/qemu-system-x86_64" };

        var outcome = await probe.RunKvmProbeAsync(CancellationToken.None);

        Assert.False(outcome.Passed);
        Assert.Contains("could not start", outcome.Detail, StringComparison.Ordinal);
    }
}

public class ProbePayloadTests
{
    [Fact]
    public void Boot_sector_is_one_signed_sector_holding_the_marker()
    {
        var sector = ProbePayload.BootSector();

        Assert.Equal(512, sector.Length);
        Assert.Equal(0x55, sector[510]);
        Assert.Equal(0xAA, sector[511]);
        Assert.Contains(ProbePayload.Marker, System.Text.Encoding.ASCII.GetString(sector), StringComparison.Ordinal);
    }

    [Fact]
    public void Message_pointer_addresses_the_marker_at_load_address_0x7c00()
    {
        var sector = ProbePayload.BootSector(spinIterations: 0);
        var movSi = Array.IndexOf(sector, (byte)0xBE);
        var address = sector[movSi + 1] | (sector[movSi + 2] << 8);

        var text = System.Text.Encoding.ASCII.GetString(sector, address - 0x7C00, ProbePayload.Marker.Length);
        Assert.Equal(ProbePayload.Marker, text);
    }

    [Fact]
    public void Spin_count_is_encoded_little_endian()
    {
        var sector = ProbePayload.BootSector(spinIterations: 0x01020304);

        var movEcx = Enumerable.Range(0, 500).First(i => sector[i] == 0x66 && sector[i + 1] == 0xB9);
        Assert.Equal(new byte[] { 0x04, 0x03, 0x02, 0x01 }, sector[(movEcx + 2)..(movEcx + 6)]);
    }
}

public class ProbeDiskImageTests
{
    [Fact]
    public async Task Disk_image_is_padded_to_a_mebibyte_because_seabios_will_not_boot_a_one_sector_virtio_disk()
    {
        using var dir = new TempDir();
        var path = dir.File("probe.img");

        await ProbePayload.WriteDiskImageAsync(path, spinIterations: 7);

        var bytes = await File.ReadAllBytesAsync(path);
        Assert.Equal(1024 * 1024, bytes.Length);
        Assert.Equal(ProbePayload.BootSector(7), bytes[..512]);
        Assert.All(bytes[512..4096], b => Assert.Equal(0, b));
    }
}
