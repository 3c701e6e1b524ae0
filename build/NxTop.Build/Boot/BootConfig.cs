using System.Globalization;
using NxTop.Build.Images;
using NxTop.Build.Spec;

namespace NxTop.Build.Boot;

/// <summary>Where a rendered template lands and with which mode.</summary>
public enum ConfigTarget
{
    /// <summary>In the appliance's root filesystem (the top squashfs layer).</summary>
    Rootfs,

    /// <summary>On the boot medium (ISO tree).</summary>
    IsoMedium,

    /// <summary>In the PXE tree (artifacts/&lt;id&gt;/pxe/).</summary>
    PxeTree,

    /// <summary>In the smoke-test guest (artifacts/&lt;id&gt;/guest/; the init script goes into its initrd).</summary>
    Guest,

    /// <summary>On the disk's EFI system partition (GRUB's menu for BIOS and UEFI).</summary>
    DiskEsp,

    /// <summary>In the installer's payload (<c>install/</c> on the ISO).</summary>
    InstallPayload,
}

/// <summary>One template and where its output goes.</summary>
public sealed record ConfigFile(string Template, ConfigTarget Target, string Path, UnixFileMode Mode);

/// <summary>One rendered config file.</summary>
public sealed record RenderedFile(ConfigFile File, string Content);

/// <summary>Everything the boot configs were rendered from and to.</summary>
public sealed record RenderedConfigs(
    string XenCommandLine,
    string Dom0CommandLine,
    string XenDebugCommandLine,
    string Dom0DebugCommandLine,
    string DiskDom0CommandLine,
    string InstallArguments,
    DiskLayout Disk,
    IReadOnlyList<RenderedFile> Files)
{
    public RenderedFile this[string template] => Files.Single(f => f.File.Template == template);
}

/// <summary>The variables a command-line template sees. Its output is folded onto one line.</summary>
public sealed record CommandLineModel(ApplianceSpec Spec, string ImageId, bool Debug, DiskLayout Disk);

/// <summary>The variables every config template sees.</summary>
public sealed record ConfigModel(
    ApplianceSpec Spec,
    string ImageId,
    string SpecSha256,
    string XenCmdline,
    string Dom0Cmdline,
    string XenDebugCmdline,
    string Dom0DebugCmdline,
    int SerialSpeed,
    string DefaultEntry,
    bool NetworkStatic,
    IReadOnlyList<string> AuthorizedKeys,
    string? PxeBaseUrl,
    string DiskDom0Cmdline,
    string DiskDom0DebugCmdline,
    string InstallArgs,
    DiskLayout Disk)
{
    /// <summary>Where the VM tests put the smoke-test guest in dom0.</summary>
    public const string SmokeGuestDom0Directory = "/var/lib/nxtop/smoke-guest";

    /// <summary>The template variable <c>smoke_guest_dir</c>.</summary>
    public string SmokeGuestDir => SmokeGuestDom0Directory;
}

/// <summary>
/// Renders every boot and system config of an appliance from <c>templates/</c>. The table below is the whole list:
/// adding a config means adding a template and a row.
/// </summary>
public sealed class BootConfigRenderer(TemplateRenderer renderer)
{
    private const UnixFileMode Regular = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
    private const UnixFileMode Executable = Regular | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;
    private const UnixFileMode Private = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    public static IReadOnlyList<ConfigFile> Files { get; } =
    [
        new("grub/iso.cfg.sbn", ConfigTarget.IsoMedium, "boot/grub/grub.cfg", Regular),
        new("system/fstab.sbn", ConfigTarget.Rootfs, "etc/fstab", Regular),
        new("system/hostname.sbn", ConfigTarget.Rootfs, "etc/hostname", Regular),
        new("system/hosts.sbn", ConfigTarget.Rootfs, "etc/hosts", Regular),
        new("system/issue.sbn", ConfigTarget.Rootfs, "etc/issue", Regular),
        new("network/bridge.netdev.sbn", ConfigTarget.Rootfs, "etc/systemd/network/10-nxtop-bridge.netdev", Regular),
        new("network/bridge.link.sbn", ConfigTarget.Rootfs, "etc/systemd/network/10-nxtop-bridge.link", Regular),
        new("network/uplink.network.sbn", ConfigTarget.Rootfs, "etc/systemd/network/20-nxtop-uplink.network", Regular),
        new("network/bridge.network.sbn", ConfigTarget.Rootfs, "etc/systemd/network/30-nxtop-bridge.network", Regular),
        new("ssh/sshd_config.sbn", ConfigTarget.Rootfs, "etc/ssh/sshd_config.d/nxtop.conf", Regular),
        new("ssh/authorized_keys.sbn", ConfigTarget.Rootfs, "root/.ssh/authorized_keys", Private),
        new("systemd/nxtop-agent.service.sbn", ConfigTarget.Rootfs, "etc/systemd/system/nxtop-agent.service", Regular),
        new("systemd/nxtop-guest-stop.service.sbn", ConfigTarget.Rootfs, "etc/systemd/system/nxtop-guest-stop.service", Regular),
        new("systemd/nxtop-initrd-net-release.service.sbn", ConfigTarget.Rootfs, "etc/systemd/system/nxtop-initrd-net-release.service", Regular),
        new("agent/agent.json.sbn", ConfigTarget.Rootfs, "etc/nxtop/agent.json", Regular),
        new("install/nxtop-install.sbn", ConfigTarget.Rootfs, "usr/lib/nxtop/nxtop-install", Executable),
        new("systemd/nxtop-install.service.sbn", ConfigTarget.Rootfs, "etc/systemd/system/nxtop-install.service", Regular),
        new("system/nxtop-data.sbn", ConfigTarget.Rootfs, "usr/lib/nxtop/nxtop-data", Executable),
        new("systemd/nxtop-data.service.sbn", ConfigTarget.Rootfs, "etc/systemd/system/nxtop-data.service", Regular),
        new("systemd/var-lib-nxtop.mount.sbn", ConfigTarget.Rootfs, "etc/systemd/system/var-lib-nxtop.mount", Regular),
        new("disk/grub.cfg.sbn", ConfigTarget.DiskEsp, "grub/grub.cfg", Regular),
        new("disk/layout.sfdisk.sbn", ConfigTarget.InstallPayload, "layout.sfdisk", Regular),
        new("disk/layout.env.sbn", ConfigTarget.InstallPayload, "layout.env", Regular),
        new("agent/nxtopctl.sbn", ConfigTarget.Rootfs, "usr/sbin/nxtopctl", Executable),
        new("pxe/pxelinux.cfg.sbn", ConfigTarget.PxeTree, "pxelinux.cfg/default", Regular),
        new("pxe/grub.cfg.sbn", ConfigTarget.PxeTree, "grub/grub.cfg", Regular),
        new("pxe/boot.ipxe.sbn", ConfigTarget.PxeTree, "boot.ipxe", Regular),
        new("pxe/index.txt.sbn", ConfigTarget.PxeTree, "index.txt", Regular),
        new("guest/smoke-guest.cfg.sbn", ConfigTarget.Guest, "smoke-guest.cfg", Regular),
        new("guest/init.sbn", ConfigTarget.Guest, "init", Executable),
    ];

    public RenderedConfigs Render(LoadedSpec loaded, IReadOnlyList<string> authorizedKeys)
    {
        var spec = loaded.Spec;
        var disk = DiskLayout.For(spec.Disk, loaded.Sha256);
        string Line(string template, bool debug) =>
            System.Text.RegularExpressions.Regex.Replace(renderer.Render(template, new CommandLineModel(spec, spec.ImageId, debug, disk)), @"\s+", " ").Trim();

        var xen = Line("xen/cmdline.sbn", false);
        var dom0 = Line("dom0/cmdline.sbn", false);
        var xenDebug = Line("xen/cmdline.sbn", true);
        var dom0Debug = Line("dom0/cmdline.sbn", true);
        var diskArgs = Line("dom0/disk-args.sbn", false);
        var installArgs = Line("dom0/install-args.sbn", false);

        var model = new ConfigModel(
            spec,
            spec.ImageId,
            loaded.Sha256,
            xen,
            dom0,
            xenDebug,
            dom0Debug,
            int.Parse(spec.Xen.Com1.Split(',')[0], CultureInfo.InvariantCulture),
            spec.Boot.DefaultEntry.ToString().ToLowerInvariant(),
            spec.Network.Mode == NetworkMode.Static,
            [.. spec.Ssh.AuthorizedKeys, .. authorizedKeys],
            spec.Pxe.HttpBaseUrl,
            dom0 + " " + diskArgs,
            dom0Debug + " " + diskArgs,
            installArgs,
            disk);

        var files = Files.Select(f => new RenderedFile(f, renderer.Render(f.Template, model))).ToList();
        return new RenderedConfigs(xen, dom0, xenDebug, dom0Debug, dom0 + " " + diskArgs, installArgs, disk, files);
    }
}
