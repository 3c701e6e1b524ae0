using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;

namespace NxTop.Qemu;

/// <summary>
/// One running QEMU process started from <see cref="QemuCommandLine.Build"/>. Disposing kills QEMU and anything
/// it started; a process-exit and signal handler does the same for machines still alive when the test host ends,
/// so a failed or cancelled test never leaves a VM eating the machine's two cores.
/// </summary>
public sealed class QemuMachine : IAsyncDisposable
{
    private const int MaxCapturedChars = 64 * 1024;

    private static readonly ConcurrentDictionary<int, Process> Live = new();
    private static readonly object HandlerLock = new();
    private static List<PosixSignalRegistration>? signalRegistrations;

    private readonly Process _process;
    private readonly StringBuilder _stderr = new();
    private readonly Task<int> _exited;
    private readonly TimeProvider _time;
    private readonly long _startedAt;
    private readonly string? _pidFilePath;
    private int _disposed;

    private QemuMachine(QemuOptions options, IReadOnlyList<string> commandLine, Process process, TimeProvider time, long startedAt, string? pidFilePath)
    {
        Options = options;
        CommandLine = commandLine;
        _process = process;
        _time = time;
        _startedAt = startedAt;
        _pidFilePath = pidFilePath;
        ProcessId = process.Id;
        if (!options.SerialOnTerminal)
        {
            process.ErrorDataReceived += (_, e) => Capture(e.Data);
            process.OutputDataReceived += (_, e) => Capture(e.Data);
            process.BeginErrorReadLine();
            process.BeginOutputReadLine();
        }

        _exited = WaitForExitCodeAsync(process);
    }

    /// <summary>The options the machine was started with.</summary>
    public QemuOptions Options { get; }

    /// <summary>The exact argument list, binary first.</summary>
    public IReadOnlyList<string> CommandLine { get; }

    /// <summary>The command line shell-quoted, for people.</summary>
    public string CommandLineText => QemuCommandLine.Display(CommandLine);

    /// <summary>QEMU's process id.</summary>
    public int ProcessId { get; }

    /// <summary>Time since QEMU was started.</summary>
    public TimeSpan Uptime => _time.GetElapsedTime(_startedAt);

    /// <summary>Completes with QEMU's exit code when it exits (after its output has been read).</summary>
    public Task<int> Exited => _exited;

    /// <summary>Whether QEMU has exited.</summary>
    public bool HasExited => _exited.IsCompleted;

    /// <summary>What QEMU wrote to stderr so far (its last 64 KiB).</summary>
    public string StandardError
    {
        get
        {
            lock (_stderr)
            {
                return _stderr.ToString();
            }
        }
    }

    /// <summary>
    /// Starts QEMU. For <see cref="Firmware.OvmfPflash"/> the variable store template is copied first. When
    /// <paramref name="pidFilePath"/> is given, a QEMU left behind by a killed earlier run of the same VM (same
    /// binary and <c>-name</c>, recorded in that file) is killed first, and the new pid is recorded there.
    /// </summary>
    /// <exception cref="System.ComponentModel.Win32Exception">The QEMU binary could not be started.</exception>
    public static QemuMachine Start(QemuOptions options, string? pidFilePath = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var interactive = options.SerialOnTerminal;
        ArgumentNullException.ThrowIfNull(options);
        var commandLine = QemuCommandLine.Build(options);
        PrepareFiles(options);
        if (pidFilePath is not null)
        {
            KillStale(pidFilePath, commandLine[0], QemuCommandLine.Escape(options.Name));
        }

        var psi = new ProcessStartInfo(commandLine[0])
        {
            UseShellExecute = false,
            // A person's run keeps the terminal: the serial console and the monitor are on it.
            RedirectStandardInput = !interactive,
            RedirectStandardOutput = !interactive,
            RedirectStandardError = !interactive,
        };
        foreach (var arg in commandLine.Skip(1))
        {
            psi.ArgumentList.Add(arg);
        }

        EnsureSafetyNet();
        var time = timeProvider ?? TimeProvider.System;
        var process = new Process { StartInfo = psi };
        var startedAt = time.GetTimestamp();
        process.Start();
        Live[process.Id] = process;
        if (!interactive)
        {
            process.StandardInput.Close();
        }

        var machine = new QemuMachine(options, commandLine, process, time, startedAt, pidFilePath);
        if (pidFilePath is not null)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(pidFilePath))!);
            File.WriteAllText(pidFilePath, process.Id.ToString(CultureInfo.InvariantCulture));
        }

        return machine;
    }

    /// <summary>The last non-blank lines of the serial log, cleaned of terminal escapes; empty without a log.</summary>
    public IReadOnlyList<string> SerialTail(int lines = BootFailureException.DefaultTailLines) =>
        Options.SerialLogPath is { } path ? SerialLog.Tail(path, lines) : [];

    /// <summary>Null while QEMU runs; once it has exited, its exit code and stderr.</summary>
    public string? ExitDescription()
    {
        if (!_exited.IsCompleted)
        {
            return null;
        }

        var code = _exited.Status == TaskStatus.RanToCompletion ? _exited.Result.ToString(CultureInfo.InvariantCulture) : "unknown";
        var stderr = StandardError.Trim();
        return $"QEMU exited with code {code} after {Uptime.TotalSeconds:0.0} s; stderr: "
            + (stderr.Length == 0 ? "(empty)" : stderr);
    }

    /// <summary>A <see cref="BootFailureException"/> for this machine, with its command line and serial tail.</summary>
    public BootFailureException BootFailure(string reason, Exception? innerException = null) =>
        new(Options.Name, reason, CommandLine, Options.SerialLogPath, SerialTail(), innerException);

    /// <summary>
    /// Waits for SSH on the forwarded port (see <see cref="SshSession.WaitForSshAsync(string,int,string,string,string,TimeSpan,SshWaitOptions,CancellationToken)"/>),
    /// failing at once if QEMU exits.
    /// </summary>
    /// <exception cref="BootFailureException">SSH did not come up in time, QEMU died, or the host key was wrong.</exception>
    public async Task<SshSession> WaitForSshAsync(
        string user, string privateKeyPath, string expectedHostKeySha256, TimeSpan deadline,
        Action<string>? log = null, CancellationToken cancellationToken = default)
    {
        var port = Options.Network?.SshHostPort
            ?? throw new InvalidOperationException($"VM '{Options.Name}' has no network, so no SSH.");
        var waitOptions = new SshWaitOptions { DeathCheck = ExitDescription, Log = log, TimeProvider = _time };
        try
        {
            return await SshSession.WaitForSshAsync(
                "127.0.0.1", port, user, privateKeyPath, expectedHostKeySha256, deadline, waitOptions, cancellationToken).ConfigureAwait(false);
        }
        catch (SshUnreachableException e)
        {
            // Let QEMU's last words (e.g. a crash message) reach stderr before rendering the failure.
            if (HasExited)
            {
                await _exited.ConfigureAwait(false);
            }

            throw BootFailure(e.Message, e);
        }
    }

    /// <summary>Kills QEMU and its children (if still running) and waits for it to be gone.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        Kill(_process);
        try
        {
            await _exited.WaitAsync(TimeSpan.FromSeconds(15)).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // Killed but not reaped in time; nothing more can be done from here.
        }

        Live.TryRemove(ProcessId, out _);
        _process.Dispose();
        if (_pidFilePath is not null)
        {
            try
            {
                File.Delete(_pidFilePath);
            }
            catch (IOException)
            {
                // The next start checks the recorded process before killing it.
            }
        }
    }

    private static void PrepareFiles(QemuOptions options)
    {
        foreach (var path in new[] { options.SerialLogPath, options.FirmwareLogPath, options.QmpSocketPath })
        {
            if (path is not null)
            {
                Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
            }
        }

        if (options.QmpSocketPath is { } qmp && File.Exists(qmp))
        {
            File.Delete(qmp); // A stale socket from a killed run would make QEMU fail to bind.
        }

        if (options.Firmware is Firmware.OvmfPflash flash)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(flash.VarsPath))!);
            File.Copy(flash.VarsTemplatePath, flash.VarsPath, overwrite: true);
        }
    }

    private static void KillStale(string pidFilePath, string binary, string name)
    {
        if (!File.Exists(pidFilePath)
            || !int.TryParse(File.ReadAllText(pidFilePath).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
        {
            return;
        }

        // Only a process whose argv still names the same binary and VM name: pids are reused.
        var cmdlinePath = $"/proc/{pid}/cmdline";
        string[] argv;
        try
        {
            argv = File.ReadAllText(cmdlinePath).Split('\0');
        }
        catch (IOException)
        {
            return;
        }
        catch (UnauthorizedAccessException)
        {
            return;
        }

        // argv[0] is the interpreter when the binary is a script (as in the harness's own tests), so look at two.
        var binaryName = Path.GetFileName(binary);
        var nameIndex = Array.IndexOf(argv, "-name");
        if (argv.Take(2).Any(a => Path.GetFileName(a) == binaryName) && nameIndex >= 0 && nameIndex + 1 < argv.Length
            && argv[nameIndex + 1] == name)
        {
            try
            {
                using var stale = Process.GetProcessById(pid);
                stale.Kill(entireProcessTree: true);
                stale.WaitForExit(10_000);
            }
            catch (ArgumentException)
            {
                // Already gone.
            }
            catch (InvalidOperationException)
            {
                // Already gone.
            }
        }
    }

    private static void Kill(Process process)
    {
        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
        catch (InvalidOperationException)
        {
            // Exited between the check and the kill.
        }
        catch (System.ComponentModel.Win32Exception)
        {
            // Exiting; the kill raced with it.
        }
    }

    private static void KillAll()
    {
        foreach (var process in Live.Values)
        {
            Kill(process);
        }
    }

    private static void EnsureSafetyNet()
    {
        lock (HandlerLock)
        {
            if (signalRegistrations is not null)
            {
                return;
            }

            AppDomain.CurrentDomain.ProcessExit += (_, _) => KillAll();
            signalRegistrations = [];
            if (!OperatingSystem.IsWindows())
            {
                foreach (var signal in new[] { PosixSignal.SIGINT, PosixSignal.SIGTERM, PosixSignal.SIGHUP, PosixSignal.SIGQUIT })
                {
                    // Kill the VMs, then let the signal's default action (ending the test host) go ahead.
                    signalRegistrations.Add(PosixSignalRegistration.Create(signal, _ => KillAll()));
                }
            }
        }
    }

    private static async Task<int> WaitForExitCodeAsync(Process process)
    {
        // WaitForExitAsync also waits for the redirected streams to reach EOF, so stderr is complete afterwards.
        await process.WaitForExitAsync().ConfigureAwait(false);
        return process.ExitCode;
    }

    private void Capture(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_stderr)
        {
            _stderr.AppendLine(line);
            if (_stderr.Length > MaxCapturedChars)
            {
                _stderr.Remove(0, _stderr.Length - MaxCapturedChars);
            }
        }
    }
}
