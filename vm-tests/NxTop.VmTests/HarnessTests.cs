using System.Diagnostics;

namespace NxTop.VmTests;

/// <summary>
/// The harness checked for real: QEMU boots that must fail, the KVM probe, and the SSH client against a real
/// sshd. Needs qemu-system-x86, ovmf, openssh-client and openssh-server, but no built image. Each QEMU run is
/// short, and they run one at a time.
/// </summary>
[Trait("Category", "Harness")]
public sealed class HarnessTests(ITestOutputHelper output) : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("nxtop-harness-");
    private readonly RepoLayout _repo = RepoLayout.Current();

    public void Dispose() => _dir.Delete(recursive: true);

    private string TempFile(string name) => Path.Combine(_dir.FullName, name);

    [Fact]
    public async Task Unbootable_disk_fails_in_bounded_time_with_serial_tail_and_command_line()
    {
        var blank = TempFile("blank.img");
        await using (var f = File.Create(blank))
        {
            f.SetLength(1024 * 1024);
        }

        var options = new QemuOptions
        {
            Name = "HarnessUnbootable",
            Firmware = Firmware.Uefi, // OVMF talks on COM1, so there is a serial tail to show
            Boot = new BootSource.Disk(blank),
            MemoryMiB = 256,
            Vcpus = 1,
            Network = new NetworkOptions(FreePort.Pick()),
            SerialLogPath = Path.Combine(_repo.VmLogs, "HarnessUnbootable.log"),
        };
        var key = TestKeys.Generate(TempFile("id_ed25519"));
        var deadline = TimeSpan.FromSeconds(20);
        var clock = Stopwatch.StartNew();

        await using var machine = QemuMachine.Start(options);
        var e = await Assert.ThrowsAsync<BootFailureException>(() =>
            machine.WaitForSshAsync("root", key, "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", deadline));
        output.WriteLine(e.Message);

        Assert.InRange(clock.Elapsed, deadline - TimeSpan.FromSeconds(1), deadline + TimeSpan.FromSeconds(20));
        Assert.Equal("HarnessUnbootable", e.Scenario);
        Assert.Contains("not ready within 20 s", e.Message, StringComparison.Ordinal);
        Assert.Contains(machine.CommandLineText, e.Message, StringComparison.Ordinal);
        Assert.Contains("-bios /usr/share/ovmf/OVMF.fd", e.Message, StringComparison.Ordinal);
        Assert.NotEmpty(e.SerialTail);
        Assert.Contains(e.SerialTail, l => l.Contains("BdsDxe", StringComparison.Ordinal));
        Assert.Contains("| " + e.SerialTail[^1], e.Message, StringComparison.Ordinal);
        Assert.False(machine.HasExited, "QEMU should still be running: the harness, not QEMU, gave up");
    }

    [Fact]
    public async Task Qemu_exiting_at_start_fails_at_once_with_exit_code_and_stderr()
    {
        var options = new QemuOptions
        {
            Name = "HarnessNoIso",
            Boot = new BootSource.Cdrom(TempFile("missing.iso")),
            MemoryMiB = 128,
            Network = new NetworkOptions(FreePort.Pick()),
            SerialLogPath = TempFile("serial.log"),
        };
        var key = TestKeys.Generate(TempFile("id_ed25519"));
        var clock = Stopwatch.StartNew();

        await using var machine = QemuMachine.Start(options);
        var e = await Assert.ThrowsAsync<BootFailureException>(() =>
            machine.WaitForSshAsync("root", key, "SHA256:x", TimeSpan.FromMinutes(5)));
        output.WriteLine(e.Message);

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(15), $"took {clock.Elapsed}");
        Assert.Contains("QEMU exited with code 1", e.Message, StringComparison.Ordinal);
        Assert.Contains("missing.iso", e.Reason, StringComparison.Ordinal);
        Assert.Contains(machine.CommandLineText, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Kvm_probe_decides_within_its_deadline_and_says_why()
    {
        var probe = new AccelProbe { GetEnvironmentVariable = _ => null };
        var clock = Stopwatch.StartNew();

        var decision = await probe.DecideAsync();
        output.WriteLine($"{decision} in {clock.Elapsed.TotalSeconds:0.0} s");

        Assert.True(clock.Elapsed < probe.Deadline + TimeSpan.FromSeconds(10), $"took {clock.Elapsed}");
        Assert.False(string.IsNullOrWhiteSpace(decision.Reason));
        if (!File.Exists(probe.KvmDevice))
        {
            Assert.Equal(Accelerator.Tcg, decision.Accelerator);
        }
    }

    [Fact]
    public async Task Probe_payload_prints_its_marker_under_tcg()
    {
        var image = TempFile("probe.img");
        await ProbePayload.WriteDiskImageAsync(image, spinIterations: 1_000_000);
        var options = new QemuOptions
        {
            Name = "HarnessProbePayload",
            Boot = new BootSource.Disk(image),
            MemoryMiB = 32,
            Vcpus = 1,
            SerialLogPath = TempFile("serial.log"),
        };

        await using var machine = QemuMachine.Start(options);
        var clock = Stopwatch.StartNew();
        while (!machine.SerialTail(5).Contains(ProbePayload.Marker))
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"no marker; serial: {string.Join(" / ", machine.SerialTail(5))}; {machine.ExitDescription()}");
            await Task.Delay(100);
        }

        output.WriteLine($"marker after {clock.Elapsed.TotalSeconds:0.0} s under TCG");
    }

    [Fact]
    public async Task Ssh_session_runs_commands_and_moves_files_against_a_real_sshd()
    {
        await using var sshd = LocalSshd.Start(passwordAuthentication: false);
        var waitOptions = new SshWaitOptions { DeathCheck = sshd.ExitDescription, Log = output.WriteLine };
        using var ssh = await SshSession.WaitForSshAsync(
            "127.0.0.1", sshd.Port, LocalSshd.User, sshd.ClientKeyPath, "SHA256:" + sshd.HostKeyFingerprint,
            TimeSpan.FromSeconds(30), waitOptions, CancellationToken.None);

        Assert.Equal(sshd.HostKeyFingerprint, ssh.HostKeyFingerprint);

        var ok = await ssh.RunAsync("echo out; echo err >&2");
        Assert.Equal(("out\n", "err\n", 0), (ok.Stdout, ok.Stderr, ok.ExitStatus));

        var failed = await Assert.ThrowsAsync<RemoteCommandException>(() => ssh.RunAsync("echo partial; echo why >&2; exit 3"));
        Assert.Equal(3, failed.ExitStatus);
        Assert.Equal("partial\n", failed.Stdout);
        Assert.Equal("why\n", failed.Stderr);
        Assert.Contains("exit 3", failed.Command, StringComparison.Ordinal);

        // A path a shell would mangle unquoted, moved over SFTP and read back through the shell.
        var remote = Path.Combine(sshd.Directory, "it's a $file;.txt");
        await ssh.UploadTextAsync("über\nline two\n", remote);
        Assert.Equal("über\nline two\n", (await ssh.RunAsync("cat " + ShellQuote.Quote(remote))).Stdout);
        Assert.Equal("über\nline two\n", await ssh.DownloadTextAsync(remote));

        var local = TempFile("payload.bin");
        var bytes = Enumerable.Range(0, 300_000).Select(i => (byte)(i * 7)).ToArray();
        await File.WriteAllBytesAsync(local, bytes);
        var remoteBin = Path.Combine(sshd.Directory, "payload.bin");
        await ssh.UploadFileAsync(local, remoteBin);
        await ssh.DownloadFileAsync(remoteBin, TempFile("back.bin"));
        Assert.Equal(bytes, await File.ReadAllBytesAsync(TempFile("back.bin")));
        Assert.Equal("300000", (await ssh.RunAsync("stat -c %s " + ShellQuote.Quote(remoteBin))).Stdout.Trim());
    }

    [Fact]
    public async Task A_wrong_pinned_host_key_fails_fast_and_names_it()
    {
        await using var sshd = LocalSshd.Start(passwordAuthentication: false);
        // Wait with the right key first, so the wrong-key attempt below meets a listening server.
        using (await SshSession.WaitForSshAsync("127.0.0.1", sshd.Port, LocalSshd.User, sshd.ClientKeyPath, sshd.HostKeyFingerprint,
            TimeSpan.FromSeconds(30), CancellationToken.None))
        {
        }

        var wrong = HostKeyFingerprint.FromPublicKeyFile(sshd.ClientKeyPath + ".pub");
        var clock = Stopwatch.StartNew();
        var e = await Assert.ThrowsAsync<SshUnreachableException>(() => SshSession.WaitForSshAsync(
            "127.0.0.1", sshd.Port, LocalSshd.User, sshd.ClientKeyPath, wrong, TimeSpan.FromMinutes(2), CancellationToken.None));
        output.WriteLine(e.Message);

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(15), $"took {clock.Elapsed}");
        Assert.Equal(1, e.Attempts);
        Assert.Contains("host key mismatch", e.Message, StringComparison.Ordinal);
        Assert.Contains(sshd.HostKeyFingerprint, e.Message, StringComparison.Ordinal);
        Assert.Contains(wrong, e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false, PasswordLoginOutcome.NotOffered)]
    [InlineData(true, PasswordLoginOutcome.Rejected)]
    public async Task Password_login_probe_tells_a_refused_method_from_a_wrong_password(bool passwordAuthentication, PasswordLoginOutcome expected)
    {
        await using var sshd = LocalSshd.Start(passwordAuthentication);
        using (await SshSession.WaitForSshAsync("127.0.0.1", sshd.Port, LocalSshd.User, sshd.ClientKeyPath, sshd.HostKeyFingerprint,
            TimeSpan.FromSeconds(30), CancellationToken.None))
        {
        }

        var result = await PasswordLogin.TryAsync("127.0.0.1", sshd.Port, LocalSshd.User, "not-the-password", sshd.HostKeyFingerprint);
        output.WriteLine($"{result.Outcome}: {result.Detail}");

        Assert.Equal(expected, result.Outcome);
    }
}
