using System.Diagnostics;
using System.Globalization;

namespace NxTop.Qemu;

/// <summary>The accelerator to use and why, for the test log.</summary>
public sealed record AccelDecision(Accelerator Accelerator, string Reason)
{
    /// <summary>For logs: <c>tcg (reason)</c>.</summary>
    public override string ToString() => $"{Accelerator.ToString().ToLowerInvariant()} ({Reason})";
}

/// <summary>The outcome of one KVM probe run.</summary>
public sealed record ProbeOutcome(bool Passed, string Detail);

/// <summary>
/// Decides between KVM and TCG. KVM is used only when <c>/dev/kvm</c> exists and a real guest boots under it with
/// <c>-cpu host</c> within a deadline: on CI's machines <c>/dev/kvm</c> is a software module on which
/// <c>-cpu host</c> aborts ("failed to set MSR 0x10a") and Xen dies, so its mere presence proves nothing.
/// <c>NXTOP_ACCEL=tcg|kvm</c> overrides the probe.
/// </summary>
public sealed class AccelProbe
{
    /// <summary>The environment variable that forces a choice.</summary>
    public const string OverrideVariable = "NXTOP_ACCEL";

    private static readonly SemaphoreSlim CacheLock = new(1, 1);
    private static AccelDecision? cached;

    /// <summary>The QEMU binary to probe with.</summary>
    public string QemuBinary { get; init; } = "qemu-system-x86_64";

    /// <summary>The KVM device node.</summary>
    public string KvmDevice { get; init; } = "/dev/kvm";

    /// <summary>How long the probe guest may take to print its marker. Real KVM needs well under a second.</summary>
    public TimeSpan Deadline { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Reads environment variables; replaceable in tests.</summary>
    public Func<string, string?> GetEnvironmentVariable { get; init; } = Environment.GetEnvironmentVariable;

    /// <summary>Tells whether a device node exists; replaceable in tests.</summary>
    public Func<string, bool> DeviceExists { get; init; } = File.Exists;

    /// <summary>Runs the probe guest under KVM; replaceable in tests. Defaults to <see cref="RunKvmProbeAsync"/>.</summary>
    public Func<CancellationToken, Task<ProbeOutcome>>? RunProbe { get; init; }

    /// <summary>The decision for this process, probed once and then reused by every fixture.</summary>
    public static async Task<AccelDecision> DecideOnceAsync(CancellationToken cancellationToken = default)
    {
        await CacheLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return cached ??= await new AccelProbe().DecideAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            CacheLock.Release();
        }
    }

    /// <summary>Applies the override, then the device check, then the probe.</summary>
    /// <exception cref="ArgumentException"><c>NXTOP_ACCEL</c> holds something other than tcg or kvm.</exception>
    public async Task<AccelDecision> DecideAsync(CancellationToken cancellationToken = default)
    {
        var forced = GetEnvironmentVariable(OverrideVariable)?.Trim();
        if (!string.IsNullOrEmpty(forced))
        {
            return forced.ToLowerInvariant() switch
            {
                "tcg" => new AccelDecision(Accelerator.Tcg, $"forced by {OverrideVariable}=tcg"),
                "kvm" => new AccelDecision(Accelerator.Kvm, $"forced by {OverrideVariable}=kvm"),
                _ => throw new ArgumentException($"{OverrideVariable} must be 'tcg' or 'kvm', not '{forced}'."),
            };
        }

        if (!DeviceExists(KvmDevice))
        {
            return new AccelDecision(Accelerator.Tcg, $"{KvmDevice} is absent");
        }

        var outcome = await (RunProbe ?? RunKvmProbeAsync)(cancellationToken).ConfigureAwait(false);
        return outcome.Passed
            ? new AccelDecision(Accelerator.Kvm, $"{KvmDevice} present and the KVM probe passed: {outcome.Detail}")
            : new AccelDecision(Accelerator.Tcg, $"{KvmDevice} present but the KVM probe failed: {outcome.Detail}");
    }

    /// <summary>
    /// Boots <see cref="ProbePayload"/> from a disk under <c>-accel kvm -cpu host</c> and waits for its marker on
    /// COM1. QEMU is killed as soon as the marker shows, at the deadline, or on cancellation.
    /// </summary>
    public async Task<ProbeOutcome> RunKvmProbeAsync(CancellationToken cancellationToken)
    {
        var dir = Directory.CreateTempSubdirectory("nxtop-kvm-probe-");
        try
        {
            var image = Path.Combine(dir.FullName, "probe.img");
            var serial = Path.Combine(dir.FullName, "serial.log");
            await ProbePayload.WriteDiskImageAsync(image, cancellationToken: cancellationToken).ConfigureAwait(false);
            var options = new QemuOptions
            {
                Binary = QemuBinary,
                Name = "nxtop-kvm-probe",
                Boot = new BootSource.Disk(image),
                Firmware = Firmware.Bios,
                Machine = MachineType.Pc,
                MemoryMiB = 32,
                Vcpus = 1,
                SerialLogPath = serial,
            }.WithAccelerator(Accelerator.Kvm);

            var watch = Stopwatch.StartNew();
            QemuMachine machine;
            try
            {
                machine = QemuMachine.Start(options);
            }
            catch (Exception e) when (e is System.ComponentModel.Win32Exception or IOException)
            {
                return new ProbeOutcome(false, $"could not start {QemuBinary}: {e.Message}");
            }

            await using (machine.ConfigureAwait(false))
            {
                while (watch.Elapsed < Deadline)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    if (File.Exists(serial) && ReadShared(serial).Contains(ProbePayload.Marker, StringComparison.Ordinal))
                    {
                        return new ProbeOutcome(true, $"marker seen after {watch.Elapsed.TotalSeconds.ToString("0.00", CultureInfo.InvariantCulture)} s");
                    }

                    if (machine.ExitDescription() is { } died)
                    {
                        return new ProbeOutcome(false, died);
                    }

                    await Task.Delay(50, cancellationToken).ConfigureAwait(false);
                }

                return new ProbeOutcome(false, $"no marker within {Deadline.TotalSeconds:0} s (KVM too slow to use)");
            }
        }
        finally
        {
            try
            {
                dir.Delete(recursive: true);
            }
            catch (IOException)
            {
                // A temp directory left behind is harmless.
            }
        }
    }

    private static string ReadShared(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}

/// <summary>
/// A 512-byte MBR boot sector made here rather than shipped: real-mode code that spins a counted loop (so a
/// crawling "KVM" is caught by the deadline), writes <see cref="Marker"/> to COM1 and halts.
/// </summary>
public static class ProbePayload
{
    /// <summary>What the boot sector prints on COM1.</summary>
    public const string Marker = "NXTOP-PROBE-OK";

    private const int LoadAddress = 0x7C00;

    /// <summary>
    /// Writes a 1 MiB raw disk whose first sector is <see cref="BootSector"/>. SeaBIOS refuses to boot a virtio
    /// disk that is only one sector long ("could not read the boot disk"), hence the padding.
    /// </summary>
    public static async Task WriteDiskImageAsync(string path, uint spinIterations = 50_000_000, CancellationToken cancellationToken = default)
    {
        var stream = new FileStream(path, FileMode.Create, FileAccess.Write);
        await using (stream.ConfigureAwait(false))
        {
            await stream.WriteAsync(BootSector(spinIterations), cancellationToken).ConfigureAwait(false);
            stream.SetLength(1024 * 1024);
        }
    }

    /// <summary>The boot sector; <paramref name="spinIterations"/> is the busy loop's count (0 skips it).</summary>
    public static byte[] BootSector(uint spinIterations = 50_000_000)
    {
        var code = new List<byte>
        {
            0xFA,             // cli
            0x31, 0xC0,       // xor ax, ax
            0x8E, 0xD8,       // mov ds, ax
        };
        if (spinIterations > 0)
        {
            code.AddRange([0x66, 0xB9]);                      // mov ecx, imm32
            code.AddRange(BitConverter.GetBytes(spinIterations)); // (little-endian on x86 hosts)
            code.AddRange([0x66, 0x49]);                      // spin: dec ecx
            code.AddRange([0x75, 0xFC]);                      // jnz spin
        }

        code.AddRange([0xBA, 0xF8, 0x03]);                    // mov dx, 0x3f8 (COM1 data port)
        var siOperand = code.Count + 1;
        code.AddRange([0xBE, 0x00, 0x00]);                    // mov si, message
        var loop = code.Count;
        code.AddRange([0xAC]);                                // next: lodsb
        code.AddRange([0x84, 0xC0]);                          // test al, al
        var jzOperand = code.Count + 1;
        code.AddRange([0x74, 0x00]);                          // jz halt
        code.AddRange([0xEE]);                                // out dx, al
        code.AddRange([0xEB, (byte)(loop - (code.Count + 2))]); // jmp next
        var halt = code.Count;
        code.AddRange([0xF4, 0xEB, 0xFD]);                    // halt: hlt; jmp halt
        var message = code.Count;
        code.AddRange(System.Text.Encoding.ASCII.GetBytes(Marker + "\r\n\0"));

        code[jzOperand] = (byte)(halt - (jzOperand + 1));
        var messageAddress = LoadAddress + message;
        code[siOperand] = (byte)(messageAddress & 0xFF);
        code[siOperand + 1] = (byte)(messageAddress >> 8);

        var sector = new byte[512];
        code.CopyTo(sector);
        sector[510] = 0x55;
        sector[511] = 0xAA;
        return sector;
    }
}
