namespace NxTop.Qemu;

/// <summary>How an unattended install in a VM ended.</summary>
public sealed record InstallOutcome(string TargetPath, double Seconds, string SerialLogPath, IReadOnlyList<string> CommandLine);

/// <summary>
/// Boots the installer image's ISO (its default entry is the unattended install) with an empty disk attached and
/// waits for the installer to write it and power the VM off. The installer prints NXTOP-INSTALL-DONE or
/// NXTOP-INSTALL-FAILED on the console (the serial log).
/// </summary>
public static class InstallRun
{
    /// <summary>The installer's success marker.</summary>
    public const string DoneMarker = "NXTOP-INSTALL-DONE";

    /// <summary>The installer's failure marker.</summary>
    public const string FailedMarker = "NXTOP-INSTALL-FAILED";

    /// <summary>
    /// Runs the install of <paramref name="installer"/> onto a new empty disk at <see cref="ScenarioExtensions.InstallTargetPath"/>.
    /// </summary>
    /// <exception cref="BootFailureException">The installer failed, or the VM did not power off within the deadline.</exception>
    public static async Task<InstallOutcome> RunAsync(
        ApplianceImage installer, RepoLayout repo, Accelerator accelerator, TimeSpan deadline, Action<string> log, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(installer);
        ArgumentNullException.ThrowIfNull(log);
        var target = ScenarioExtensions.InstallTargetPath(repo);
        DiskImages.CreateEmpty(target, ScenarioExtensions.InstallTargetBytes);
        var options = Scenario.Install.Options(installer, repo, accelerator, FreePort.Pick());
        await using var machine = QemuMachine.Start(options, Scenario.Install.PidFilePath(repo));
        log($"Install: QEMU pid {machine.ProcessId}, writing {target} ({ScenarioExtensions.InstallTargetBytes / (1 << 20)} MiB), deadline {deadline.TotalSeconds:0} s");
        log($"Install: {machine.CommandLineText}");
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(deadline);
        while (!machine.HasExited)
        {
            var serial = SerialLog.Tail(options.SerialLogPath!, 400);
            if (serial.FirstOrDefault(l => l.Contains(FailedMarker, StringComparison.Ordinal)) is { } failed)
            {
                throw machine.BootFailure($"The installer refused or failed: {failed}");
            }

            try
            {
                await Task.Delay(TimeSpan.FromSeconds(2), limit.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw machine.BootFailure($"The install did not finish and power off within {deadline.TotalSeconds:0} s.");
            }
        }

        var seconds = Math.Round(machine.Uptime.TotalSeconds, 1);
        var tail = SerialLog.Tail(options.SerialLogPath!, 400);
        var done = tail.FirstOrDefault(l => l.Contains(DoneMarker, StringComparison.Ordinal));
        if (done is null)
        {
            throw machine.BootFailure($"QEMU exited after {seconds} s without the installer's {DoneMarker} on the console ({machine.ExitDescription()}).");
        }

        log($"Install: {done.Trim()}; QEMU powered off after {seconds} s");
        new BootTiming(Scenario.Install.ToString(), accelerator.ToString().ToLowerInvariant(), seconds).WriteTo(Scenario.Install.TimingPath(repo));
        return new InstallOutcome(target, seconds, options.SerialLogPath!, machine.CommandLine);
    }
}
