namespace NxTop.VmTests;

/// <summary>
/// The unattended install, run once per test run and shared by the installed-disk scenarios (and the install checks).
/// A failure is kept and rethrown to each of them.
/// </summary>
internal static class InstalledDisk
{
    private static readonly object Gate = new();
    private static Task<InstallOutcome>? _run;

    public static Task<InstallOutcome> GetAsync(ApplianceImage installer, RepoLayout repo, Accelerator accelerator, TimeSpan deadline, Action<string> log)
    {
        lock (Gate)
        {
            return _run ??= InstallRun.RunAsync(installer, repo, accelerator, deadline, log);
        }
    }
}
