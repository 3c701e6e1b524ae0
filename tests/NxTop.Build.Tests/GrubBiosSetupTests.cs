using System.Buffers.Binary;
using NxTop.Build.Images;

namespace NxTop.Build.Tests;

/// <summary>The byte-level grub-bios-setup: boot.img learns where core.img starts, core.img's block list names the rest.</summary>
public class GrubBiosSetupTests
{
    private static readonly byte[] BootImg = File.ReadAllBytes("/usr/lib/grub/i386-pc/boot.img");

    [Fact]
    public void Boot_code_points_at_the_core_sector_and_skips_the_drive_check()
    {
        var code = GrubBiosSetup.BootCode(BootImg, 2048);

        Assert.Equal(GrubBiosSetup.MbrCodeBytes, code.Length);
        Assert.Equal(2048, BinaryPrimitives.ReadInt64LittleEndian(code.AsSpan(0x5C)));
        Assert.Equal(0x90, code[0x66]);
        Assert.Equal(0x90, code[0x67]);
        // Everything else is GRUB's boot.img as shipped.
        for (var i = 0; i < code.Length; i++)
        {
            if (i is (>= 0x5C and < 0x64) or 0x66 or 0x67)
            {
                continue;
            }

            Assert.True(BootImg[i] == code[i], $"byte 0x{i:x} changed");
        }
    }

    [Fact]
    public void A_boot_image_that_is_not_a_boot_sector_is_refused()
    {
        var broken = BootImg.ToArray();
        broken[0x1FF] = 0;

        Assert.Throws<NxTopBuildException>(() => GrubBiosSetup.BootCode(broken, 2048));
        Assert.Throws<NxTopBuildException>(() => GrubBiosSetup.BootCode(BootImg.AsSpan(0, 440), 2048));
    }

    [Fact]
    public void Core_is_padded_and_its_block_list_loads_the_remaining_sectors_after_the_first()
    {
        var core = new byte[512 * 3 + 100];
        Random.Shared.NextBytes(core);

        var patched = GrubBiosSetup.Core(core, coreSector: 2048, partitionSectors: 2048);

        Assert.Equal(512 * 4, patched.Length);
        var entry = patched.AsSpan(500, 12);
        Assert.Equal(2049, BinaryPrimitives.ReadInt64LittleEndian(entry));
        Assert.Equal(3, BinaryPrimitives.ReadUInt16LittleEndian(entry[8..]));
        Assert.Equal(0x820, BinaryPrimitives.ReadUInt16LittleEndian(entry[10..]));
        Assert.True(patched.AsSpan(488, 12).IndexOfAnyExcept((byte)0) < 0, "the list must end after one entry");
        Assert.True(patched.AsSpan(512, core.Length - 512).SequenceEqual(core.AsSpan(512)));
        Assert.True(patched.AsSpan(core.Length).IndexOfAnyExcept((byte)0) < 0);
    }

    [Fact]
    public void A_core_larger_than_the_bios_boot_partition_is_refused_with_its_size()
    {
        var ex = Assert.Throws<NxTopBuildException>(() => GrubBiosSetup.Core(new byte[512 * 10], 2048, partitionSectors: 8));

        Assert.Contains("10 sectors", ex.Message, StringComparison.Ordinal);
        Assert.Contains("8", ex.Message, StringComparison.Ordinal);
    }
}
