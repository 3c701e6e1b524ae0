namespace NxTop.Build.Rootfs;

/// <summary>One installed Debian package, for the manifest's SBOM.</summary>
public sealed record PackageVersion(string Name, string Version, string Architecture);

/// <summary>
/// The cached Debian dom0 base: a squashfs of the root (without /boot), the boot files taken out of it, and what it
/// contains. Keyed by <see cref="Key"/>; everything spec-specific goes into a separate top layer.
/// </summary>
public sealed record BaseImage(
    string Key,
    string Directory,
    string KernelVersion,
    string XenVersion,
    long RootfsBytes,
    IReadOnlyList<PackageVersion> Packages)
{
    public const string SquashfsName = "base.squashfs";
    public const string XenName = "xen.gz";
    public const string KernelName = "vmlinuz";
    public const string InitrdName = "initrd.img";
    public const string MetadataName = "base.json";

    public string Squashfs => Path.Combine(Directory, SquashfsName);

    public string Xen => Path.Combine(Directory, XenName);

    public string Kernel => Path.Combine(Directory, KernelName);

    public string Initrd => Path.Combine(Directory, InitrdName);
}
