using System.Buffers.Binary;

namespace NxTop.Build.Images;

/// <summary>
/// What <c>grub-bios-setup</c> does for a GPT disk with a BIOS boot partition, done on bytes so the build needs no
/// loop device and no root: GRUB's <c>boot.img</c> goes into the MBR's code area and learns the sector where
/// <c>core.img</c> starts; the first sector of <c>core.img</c> (<c>diskboot.img</c>) gets a block list naming the
/// rest of it. Offsets are those of GRUB 2's <c>include/grub/i386/pc/boot.h</c>.
/// </summary>
public static class GrubBiosSetup
{
    public const int SectorSize = 512;

    /// <summary>The MBR bytes that are boot code: everything before the disk signature and partition table.</summary>
    public const int MbrCodeBytes = 0x1B8;

    private const int KernelSectorOffset = 0x5C;
    private const int DriveCheckOffset = 0x66;
    private const int BlockListEntrySize = 12;
    private const ushort KernelSegment = 0x800;

    /// <summary>
    /// The MBR boot code (the first <see cref="MbrCodeBytes"/> bytes) for a core.img that starts at
    /// <paramref name="coreSector"/>. The disk's own signature and partition table stay as they are.
    /// </summary>
    public static byte[] BootCode(ReadOnlySpan<byte> bootImg, long coreSector)
    {
        if (bootImg.Length != SectorSize || bootImg[0x1FE] != 0x55 || bootImg[0x1FF] != 0xAA)
        {
            throw new NxTopBuildException($"GRUB's boot.img must be one 512-byte sector ending in 55 AA; got {bootImg.Length} bytes. Reinstall grub-pc-bin.");
        }

        var code = bootImg[..MbrCodeBytes].ToArray();
        BinaryPrimitives.WriteInt64LittleEndian(code.AsSpan(KernelSectorOffset), coreSector);
        // grub-bios-setup's work-around for BIOSes that pass a wrong boot drive: on a hard disk, the jump that skips
        // the drive check becomes two NOPs.
        code[DriveCheckOffset] = 0x90;
        code[DriveCheckOffset + 1] = 0x90;
        return code;
    }

    /// <summary>
    /// core.img, padded to whole sectors, with diskboot.img's block list pointing at the sectors after the first:
    /// they are loaded to segment 0x820, right after the first sector's 0x800.
    /// </summary>
    public static byte[] Core(ReadOnlySpan<byte> coreImg, long coreSector, long partitionSectors)
    {
        var sectors = (coreImg.Length + SectorSize - 1) / SectorSize;
        if (sectors < 2)
        {
            throw new NxTopBuildException($"GRUB's core.img is {coreImg.Length} bytes; expected at least two sectors (diskboot.img and the kernel).");
        }

        if (sectors > partitionSectors)
        {
            throw new NxTopBuildException($"GRUB's core.img needs {sectors} sectors but the BIOS boot partition has {partitionSectors}; build it with fewer modules.");
        }

        var core = new byte[sectors * SectorSize];
        coreImg.CopyTo(core);
        var first = SectorSize - BlockListEntrySize;
        var entry = core.AsSpan(first, BlockListEntrySize);
        BinaryPrimitives.WriteInt64LittleEndian(entry, coreSector + 1);
        BinaryPrimitives.WriteUInt16LittleEndian(entry[8..], (ushort)(sectors - 1));
        BinaryPrimitives.WriteUInt16LittleEndian(entry[10..], (ushort)(KernelSegment + (SectorSize >> 4)));
        // The next entry (below it) ends the list.
        core.AsSpan(first - BlockListEntrySize, BlockListEntrySize).Clear();
        return core;
    }
}
