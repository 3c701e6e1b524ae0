namespace NxTop.Build.Spec;

/// <summary>The whole appliance, as <c>appliance/appliance.json</c> plus a profile drop-in describe it.</summary>
public sealed record ApplianceSpec(
    string Name,
    string Version,
    DebianSpec Debian,
    XenSpec Xen,
    Dom0Spec Dom0,
    NetworkSpec Network,
    SshSpec Ssh,
    AgentSpec Agent,
    BootSpec Boot,
    PxeSpec Pxe,
    DiskSpec Disk,
    InstallSpec Install,
    ImageSpec Image)
{
    public string ImageId => $"{Name}-{Version}";
}

/// <summary>Where the dom0 root comes from. <c>mirror: "host"</c> takes the URIs from this machine's apt sources.</summary>
public sealed record DebianSpec(
    string Suite,
    string Mirror,
    string SecurityMirror,
    IReadOnlyList<string> Components,
    IReadOnlyList<string> Packages);

/// <summary>The Xen hypervisor's boot options.</summary>
public sealed record XenSpec(
    string Dom0Mem,
    int Dom0MaxVcpus,
    string Console,
    string Com1,
    IReadOnlyList<string> ExtraArgs);

public sealed record Dom0Spec(
    string Hostname,
    string Console,
    IReadOnlyList<string> KernelArgs);

public enum NetworkMode
{
    Dhcp,
    Static,
}

/// <summary>
/// dom0's network. The physical NIC(s) matched by <see cref="InterfaceMatch"/> are enslaved to <see cref="Bridge"/>
/// (so guests can share it), and the bridge gets the address.
/// </summary>
public sealed record NetworkSpec(
    NetworkMode Mode,
    string InterfaceMatch,
    string Bridge,
    string? Address,
    string? Gateway,
    IReadOnlyList<string> Dns);

/// <summary>
/// SSH access. Password login is always off. <see cref="GenerateClientKey"/> makes a per-build ed25519 key pair
/// (private half under artifacts/); <see cref="AuthorizedKeys"/> adds the user's own public keys.
/// </summary>
public sealed record SshSpec(
    IReadOnlyList<string> AuthorizedKeys,
    bool GenerateClientKey);

/// <summary>
/// The NxTop agent. <see cref="EnrollmentToken"/> is the one-time token the agent exchanges for a device credential
/// at its first contact (null: none baked in). <see cref="PublisherKeys"/> are PEM files (ECDSA P-256 public keys,
/// paths relative to the spec file) that the agent trusts to sign content; they go to /usr/share/nxtop/keys/.
/// <see cref="GuestMemoryMiB"/> is the desktop guest's memory (the agent's <c>guestMemoryMiB</c>).
/// </summary>
public sealed record AgentSpec(
    string CenterUrl,
    int PollIntervalSeconds,
    string? EnrollmentToken,
    IReadOnlyList<string> PublisherKeys,
    int GuestMemoryMiB);

public sealed record BootSpec(
    int TimeoutSeconds,
    BootEntry DefaultEntry);

public enum BootEntry
{
    Live,
    Debug,

    /// <summary>The unattended installer: writes the disk layout to <see cref="InstallSpec.Target"/>.</summary>
    Install,
}

/// <summary>
/// The PXE tree. <see cref="HttpBaseUrl"/> is where the lab's web server serves the tree (ending in <c>/</c>); the
/// large files (Xen, kernel, initrd, root image) come from there. Null means the boot server's own address
/// (DHCP next-server) on port 80, under <c>/&lt;name&gt;-&lt;version&gt;/</c>.
/// </summary>
public sealed record PxeSpec(string? HttpBaseUrl);

/// <summary>
/// The A/B disk image (format <c>disk</c>) and the layout the installer writes: a BIOS boot partition, an EFI system
/// partition holding GRUB and its environment block, two root slots of <see cref="SlotMiB"/> each (slot A holds the
/// installer ISO, which is a read-only root image), and the data partition for /var/lib/nxtop, which grows to fill the
/// disk on first boot.
/// </summary>
public sealed record DiskSpec(
    int EspMiB,
    int SlotMiB,
    int DataMiB);

public enum InstallAfter
{
    Poweroff,
    Reboot,
    None,
}

/// <summary>
/// The unattended installer's answers, used by the install boot entry. <see cref="Target"/> is the disk to write
/// (e.g. <c>/dev/sda</c>); null leaves it to <c>nxtop.target=</c> on the kernel command line. Without
/// <see cref="Wipe"/>, a target that holds partitions or a filesystem is refused.
/// </summary>
public sealed record InstallSpec(
    string? Target,
    bool Wipe,
    InstallAfter After);

public sealed record ImageSpec(
    IReadOnlyList<OutputFormat> Formats,
    SquashfsCompression Compression);

public enum SquashfsCompression
{
    Zstd,
    Xz,
}
