namespace NxTop.Build.Tools;

/// <summary>One thing the build needs on the host, the path that proves it is there, and the Debian package that provides it.</summary>
public sealed record HostRequirement(string What, string Package, IReadOnlyList<string> Probes);

/// <summary>The outcome of a host check: what is missing, and the one apt-get command that installs it.</summary>
public sealed record HostCheck(IReadOnlyList<HostRequirement> Missing)
{
    public bool Ok => Missing.Count == 0;

    public IReadOnlyList<string> Packages => Missing.Select(m => m.Package).Distinct().Order(StringComparer.Ordinal).ToList();

    public string InstallCommand => "apt-get install -y --no-install-recommends " + string.Join(' ', Packages);
}

/// <summary>
/// Every host tool the build and the VM tests use. A probe is a command name (looked up on PATH) or an absolute path
/// (a file or folder that must exist, e.g. GRUB's module folders).
/// </summary>
public sealed class HostTools(Func<string, bool> exists)
{
    public static IReadOnlyList<HostRequirement> Requirements { get; } =
    [
        new("mmdebstrap (builds the Debian dom0 root)", "mmdebstrap", ["mmdebstrap"]),
        new("xorriso (writes the ISO)", "xorriso", ["xorriso"]),
        new("grub-mkrescue, grub-mkimage, grub-script-check, grub-editenv", "grub-common", ["grub-mkrescue", "grub-mkimage", "grub-script-check", "grub-editenv"]),
        new("GRUB i386-pc modules (BIOS boot)", "grub-pc-bin", ["/usr/lib/grub/i386-pc/multiboot2.mod"]),
        new("GRUB x86_64-efi modules (UEFI boot)", "grub-efi-amd64-bin", ["/usr/lib/grub/x86_64-efi/multiboot2.mod"]),
        new("pxelinux (BIOS PXE boot loader)", "pxelinux", ["/usr/lib/PXELINUX/pxelinux.0"]),
        new("syslinux modules (ldlinux.c32, mboot.c32 for PXE)", "syslinux-common", ["/usr/lib/syslinux/modules/bios/mboot.c32"]),
        new("mtools (FAT images for the EFI boot partition)", "mtools", ["mformat", "mcopy", "mmd"]),
        new("dosfstools", "dosfstools", ["mkfs.vfat"]),
        new("squashfs-tools", "squashfs-tools", ["mksquashfs", "unsquashfs"]),
        new("e2fsprogs", "e2fsprogs", ["mkfs.ext4"]),
        new("cpio", "cpio", ["cpio"]),
        new("busybox (the agent tests' guest content is made from it; its scripts are checked with busybox sh)", "busybox", ["busybox"]),
        new("zstd", "zstd", ["zstd"]),
        new("xz-utils", "xz-utils", ["xz"]),
        new("qemu-img", "qemu-utils", ["qemu-img"]),
        new("qemu-system-x86_64 (boot tests)", "qemu-system-x86", ["qemu-system-x86_64"]),
        new("OVMF UEFI firmware (boot tests)", "ovmf", ["/usr/share/ovmf/OVMF.fd"]),
        new("ssh-keygen (per-build keys, signatures)", "openssh-client", ["ssh-keygen"]),
        new("sshd (the harness self-tests run a local sshd)", "openssh-server", ["/usr/sbin/sshd"]),
        new("PostgreSQL server (NxTop Center's PostgreSQL tests start a throwaway one)", "postgresql", ["/usr/lib/postgresql"]),
        new("Chromium (NxTop Center's dashboard tests drive it headless through Playwright)", "chromium", ["/usr/lib/chromium/chromium"]),
        new("sfdisk (partitions the disk image)", "fdisk", ["sfdisk"]),
        new("Debian archive keyring (verifies the mirror)", "debian-archive-keyring", ["/usr/share/keyrings/debian-archive-keyring.gpg"]),
    ];

    public static HostTools ForThisMachine() => new(ProbeExists);

    public HostCheck Check() => new(Requirements.Where(r => !r.Probes.All(exists)).ToList());

    public static bool ProbeExists(string probe)
    {
        if (Path.IsPathRooted(probe))
        {
            return File.Exists(probe) || Directory.Exists(probe);
        }

        var path = Environment.GetEnvironmentVariable("PATH") ?? "/usr/local/bin:/usr/bin:/bin";
        var dirs = path.Split(':', StringSplitOptions.RemoveEmptyEntries).Concat(["/usr/sbin", "/sbin"]);
        return dirs.Any(d => File.Exists(Path.Combine(d, probe)));
    }

    public static bool IsRoot => Environment.UserName == "root" || geteuid() == 0;

    [System.Runtime.InteropServices.DllImport("libc", SetLastError = false)]
    private static extern uint geteuid();
}
