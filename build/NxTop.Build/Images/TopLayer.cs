using NxTop.Build.Boot;
using NxTop.Build.Tools;

namespace NxTop.Build.Images;

/// <summary>
/// Stages the appliance's own layer, which live-boot stacks over the Debian base: the verbatim overlay tree,
/// every rendered system config, the agent, and the per-build host key.
/// </summary>
public static class TopLayer
{
    public const UnixFileMode Dir = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
        | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;

    public const UnixFileMode Exec = Dir;

    public const UnixFileMode Private = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    public static void Stage(string tree, string overlayDir, RenderedConfigs configs, string agentBinary, BuildKeys keys, IReadOnlyList<string>? publisherKeys = null)
    {
        if (Directory.Exists(tree))
        {
            Directory.Delete(tree, recursive: true);
        }

        Directory.CreateDirectory(tree);
        if (Directory.Exists(overlayDir))
        {
            CopyTree(overlayDir, tree);
        }

        foreach (var f in configs.Files.Where(f => f.File.Target == ConfigTarget.Rootfs))
        {
            Write(tree, f.File.Path, f.Content, f.File.Mode);
        }

        // root's .ssh must be private or sshd ignores authorized_keys.
        File.SetUnixFileMode(Path.Combine(tree, "root"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        File.SetUnixFileMode(Path.Combine(tree, "root/.ssh"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);

        var agent = Path.Combine(tree, "usr/lib/nxtop/nxtop-agent");
        Directory.CreateDirectory(Path.GetDirectoryName(agent)!);
        File.Copy(agentBinary, agent);
        File.SetUnixFileMode(agent, Exec);

        Write(tree, "etc/ssh/ssh_host_ed25519_key", File.ReadAllText(keys.HostPrivateKey), Private);
        Write(tree, "etc/ssh/ssh_host_ed25519_key.pub", File.ReadAllText(keys.HostPublicKey), Dir & ~(UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute));

        // The publisher keys the agent trusts to sign content (AgentConfig.trustedKeysDirectory).
        var keyDir = Path.Combine(tree, "usr/share/nxtop/keys");
        Directory.CreateDirectory(keyDir);
        foreach (var key in publisherKeys ?? [])
        {
            Write(tree, Path.Combine("usr/share/nxtop/keys", Path.GetFileName(key)), File.ReadAllText(key),
                UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        }

        // Enable the agent (what 'systemctl enable' would do).
        var wants = Path.Combine(tree, "etc/systemd/system/multi-user.target.wants");
        Directory.CreateDirectory(wants);
        File.CreateSymbolicLink(Path.Combine(wants, "nxtop-agent.service"), "/etc/systemd/system/nxtop-agent.service");
        File.CreateSymbolicLink(Path.Combine(wants, "nxtop-guest-stop.service"), "/etc/systemd/system/nxtop-guest-stop.service");
        // The installer runs only when its boot entry asks (ConditionKernelCommandLine), the data mount only on a disk boot.
        File.CreateSymbolicLink(Path.Combine(wants, "nxtop-install.service"), "/etc/systemd/system/nxtop-install.service");
        var localFsWants = Path.Combine(tree, "etc/systemd/system/local-fs.target.wants");
        Directory.CreateDirectory(localFsWants);
        File.CreateSymbolicLink(Path.Combine(localFsWants, "nxtop-data.service"), "/etc/systemd/system/nxtop-data.service");
        File.CreateSymbolicLink(Path.Combine(localFsWants, "var-lib-nxtop.mount"), "/etc/systemd/system/var-lib-nxtop.mount");
        var sysinitWants = Path.Combine(tree, "etc/systemd/system/sysinit.target.wants");
        Directory.CreateDirectory(sysinitWants);
        File.CreateSymbolicLink(Path.Combine(sysinitWants, "nxtop-initrd-net-release.service"), "/etc/systemd/system/nxtop-initrd-net-release.service");

        // Units that make no sense in a live, read-only appliance and only take CPU from the boot (e2scrub_reap alone
        // kept dom0's only vCPU busy for a minute under TCG): masked, as 'systemctl mask' would.
        foreach (var unit in MaskedUnits)
        {
            File.CreateSymbolicLink(Path.Combine(tree, "etc/systemd/system", unit), "/dev/null");
        }
    }

    /// <summary>
    /// Units masked in the appliance: no ext4-on-LVM to scrub, no apt upgrades, no dpkg database to back up, no disk to
    /// trim; and xendomains, because the agent owns the guest (nxtop-guest-stop.service gives it its clean shutdown):
    /// xendomains would only save, restore or auto-start domains, and it cost 9.7 s of the boot under TCG.
    /// </summary>
    public static IReadOnlyList<string> MaskedUnits { get; } =
    [
        "e2scrub_reap.service", "e2scrub_all.timer", "apt-daily.timer", "apt-daily-upgrade.timer", "dpkg-db-backup.timer", "fstrim.timer",
        "xendomains.service",
    ];

    private static void Write(string tree, string relative, string content, UnixFileMode mode)
    {
        var path = Path.Combine(tree, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, content);
        File.SetUnixFileMode(path, mode);
    }

    private static void CopyTree(string from, string to)
    {
        foreach (var dir in Directory.GetDirectories(from, "*", SearchOption.AllDirectories))
        {
            Directory.CreateDirectory(Path.Combine(to, Path.GetRelativePath(from, dir)));
        }

        foreach (var file in Directory.GetFiles(from, "*", SearchOption.AllDirectories))
        {
            if (Path.GetFileName(file) == "README.md" && Path.GetDirectoryName(file) == from)
            {
                continue;
            }

            var target = Path.Combine(to, Path.GetRelativePath(from, file));
            File.Copy(file, target);
        }
    }
}
