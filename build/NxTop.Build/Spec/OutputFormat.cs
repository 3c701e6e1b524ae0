namespace NxTop.Build.Spec;

/// <summary>The image formats the build can write. Each one has a writer in the image-writer registry.</summary>
public enum OutputFormat
{
    Iso,

    /// <summary>A PXE tree for lab PCs: pxelinux (BIOS), GRUB EFI netboot (UEFI) and an iPXE HTTP script.</summary>
    Pxe,

    /// <summary>The A/B GPT disk image, raw (<c>.img</c>) and <c>.qcow2</c>, bootable under BIOS and UEFI.</summary>
    Disk,
}
