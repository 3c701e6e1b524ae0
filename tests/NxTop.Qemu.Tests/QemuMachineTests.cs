using System.Diagnostics;

namespace NxTop.Qemu.Tests;

/// <summary>
/// The launcher's process handling, with a shell script standing in for QEMU: it finds its serial log in the
/// arguments exactly as QEMU would, writes to it, and starts a child to prove the whole tree is killed.
/// </summary>
public sealed class QemuMachineTests : IDisposable
{
    private const string FindSerialLog =
        "for a in \"$@\"; do case \"$a\" in file,id=serial0,path=*) log=\"${a#file,id=serial0,path=}\";; esac; done\n";

    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private QemuOptions Options(string binary) => new()
    {
        Binary = binary,
        Name = "FakeScenario",
        Boot = new BootSource.Cdrom(_dir.File("nxtop.iso")),
        Network = new NetworkOptions(FreePort.Pick()),
        SerialLogPath = _dir.File("logs/FakeScenario.log"),
    };

    private string LongRunningFake() => _dir.Script("fake-qemu", FindSerialLog + """
        printf 'SeaBIOS\r\nXen 4.17 booting\r\n' > "$log"
        sleep 300 &
        echo $! > "$log.child"
        wait
        """);

    [Fact]
    public async Task Dispose_kills_qemu_and_its_children()
    {
        var options = Options(LongRunningFake());
        var machine = QemuMachine.Start(options);
        var childFile = options.SerialLogPath + ".child";
        await WaitUntil(() => File.Exists(childFile) && File.ReadAllText(childFile).Trim().Length > 0);
        var child = int.Parse(File.ReadAllText(childFile).Trim(), System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(IsAlive(machine.ProcessId));
        Assert.True(IsAlive(child));

        await machine.DisposeAsync();

        Assert.True(machine.HasExited);
        Assert.False(IsAlive(machine.ProcessId));
        await WaitUntil(() => !IsAlive(child));
    }

    [Fact]
    public async Task Serial_tail_reads_the_log_while_running()
    {
        await using var machine = QemuMachine.Start(Options(LongRunningFake()));
        await WaitUntil(() => machine.SerialTail(5).Count == 2);

        Assert.Equal(["SeaBIOS", "Xen 4.17 booting"], machine.SerialTail(5));
        Assert.Equal(["Xen 4.17 booting"], machine.SerialTail(1));
        Assert.Null(machine.ExitDescription());
    }

    [Fact]
    public async Task Command_line_is_kept_and_readable()
    {
        var options = Options(LongRunningFake());
        await using var machine = QemuMachine.Start(options);

        Assert.Equal(QemuCommandLine.Build(options), machine.CommandLine);
        Assert.StartsWith(options.Binary, machine.CommandLineText, StringComparison.Ordinal);
        Assert.Contains("-name FakeScenario", machine.CommandLineText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Early_exit_is_reported_with_exit_code_stderr_command_line_and_serial_tail()
    {
        var fake = _dir.Script("dying-qemu", FindSerialLog + """
            printf 'firmware says hi\r\n' > "$log"
            echo "qemu-system-x86_64: -drive if=none,id=cd0: Could not open 'nxtop.iso': No such file or directory" >&2
            exit 1
            """);
        await using var machine = QemuMachine.Start(Options(fake));
        var key = _dir.NewKey();
        var clock = Stopwatch.StartNew();

        var e = await Assert.ThrowsAsync<BootFailureException>(() =>
            machine.WaitForSshAsync("root", key, "SHA256:x", TimeSpan.FromMinutes(5)));

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"took {clock.Elapsed}");
        Assert.Equal(1, await machine.Exited);
        Assert.Equal("FakeScenario", e.Scenario);
        Assert.Contains("QEMU exited with code 1", e.Message, StringComparison.Ordinal);
        Assert.Contains("Could not open 'nxtop.iso'", e.Message, StringComparison.Ordinal);
        Assert.Contains(machine.CommandLineText, e.Message, StringComparison.Ordinal);
        Assert.Contains("| firmware says hi", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Missing_binary_throws_on_start()
    {
        var options = Options(_dir.File("no-such-qemu"));

        Assert.ThrowsAny<System.ComponentModel.Win32Exception>(() => QemuMachine.Start(options));
        await Task.CompletedTask;
    }

    [Fact]
    public async Task Dispose_is_idempotent_and_fine_after_exit()
    {
        var machine = QemuMachine.Start(Options(_dir.Script("quick", "exit 0\n")));
        Assert.Equal(0, await machine.Exited);

        await machine.DisposeAsync();
        await machine.DisposeAsync();
    }

    [Fact]
    public async Task Pflash_vars_are_copied_from_the_template_per_vm()
    {
        var template = _dir.File("OVMF_VARS.fd");
        await File.WriteAllBytesAsync(template, [1, 2, 3]);
        var vars = _dir.File("vm/vars.fd");
        var options = Options(LongRunningFake()) with
        {
            Firmware = new Firmware.OvmfPflash(_dir.File("OVMF_CODE.fd"), template, vars),
        };

        await using var machine = QemuMachine.Start(options);

        Assert.Equal([1, 2, 3], await File.ReadAllBytesAsync(vars));
    }

    [Fact]
    public async Task A_stale_machine_recorded_in_the_pid_file_is_killed_on_the_next_start()
    {
        var fake = LongRunningFake();
        var pidFile = _dir.File("logs/FakeScenario.pid");
        // The first machine stands in for one orphaned by a killed test host: never disposed before the restart.
        var orphan = QemuMachine.Start(Options(fake), pidFile);
        Assert.Equal(orphan.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture), File.ReadAllText(pidFile));

        await using (var second = QemuMachine.Start(Options(fake), pidFile))
        {
            Assert.True(orphan.HasExited || await Task.WhenAny(orphan.Exited, Task.Delay(10_000)) == orphan.Exited);
            Assert.True(IsAlive(second.ProcessId));
            Assert.Equal(second.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture), File.ReadAllText(pidFile));
        }

        Assert.False(File.Exists(pidFile));
        await orphan.DisposeAsync();
    }

    [Fact]
    public async Task A_pid_file_naming_some_other_process_is_left_alone()
    {
        var pidFile = _dir.File("other.pid");
        using var other = Process.Start(new ProcessStartInfo("sleep", "30") { UseShellExecute = false })!;
        try
        {
            await File.WriteAllTextAsync(pidFile, other.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));

            await using var machine = QemuMachine.Start(Options(LongRunningFake()), pidFile);

            Assert.False(other.HasExited);
        }
        finally
        {
            other.Kill();
        }
    }

    private static bool IsAlive(int pid)
    {
        // A zombie still has /proc/<pid>; its state is 'Z'.
        var stat = $"/proc/{pid}/stat";
        try
        {
            var text = File.ReadAllText(stat);
            var state = text[(text.LastIndexOf(')') + 2)..][0];
            return state != 'Z' && state != 'X';
        }
        catch (IOException)
        {
            return false;
        }
    }

    private static async Task WaitUntil(Func<bool> condition)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), "condition not met within 10 s");
            await Task.Delay(50);
        }
    }
}
