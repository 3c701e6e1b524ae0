using System.Security.Cryptography;
using System.Text;
using NxTop.Build.Spec;

namespace NxTop.Build.Images;

/// <summary>One GPT partition of the appliance disk. Sectors are 512 bytes.</summary>
public sealed record DiskPartition(int Number, string Name, string TypeGuid, string Uuid, long StartSector, long SizeSectors)
{
    public long StartBytes => StartSector * DiskLayout.SectorSize;

    public long SizeBytes => SizeSectors * DiskLayout.SectorSize;

    /// <summary>The partition as GRUB names it on its disk, e.g. <c>gpt3</c>.</summary>
    public string GrubName => $"gpt{Number}";
}

/// <summary>
/// The A/B disk layout, the same in the disk image and on a disk the installer writes:
/// 1 BIOS boot (GRUB's core.img), 2 EFI system partition (GRUB for UEFI, grub.cfg, the GRUB environment block),
/// 3 and 4 the root slots A and B, 5 the data partition (/var/lib/nxtop), which is last so it can grow.
/// Every GUID, the FAT serial and the ext4 UUID are derived from the spec's sha256, so the same spec gives the same
/// bytes. Partitions start on 1 MiB boundaries.
/// </summary>
public sealed record DiskLayout(
    string DiskUuid,
    IReadOnlyList<DiskPartition> Partitions,
    long TotalBytes,
    string EspSerial,
    string DataUuid)
{
    public const int SectorSize = 512;

    public const long MiB = 1024 * 1024;

    /// <summary>GPT partition type GUIDs (UEFI spec and the Discoverable Partitions Specification).</summary>
    public const string BiosBootType = "21686148-6449-6E6F-744E-656564454649";

    public const string EspType = "C12A7328-F81F-11D2-BA4B-00A0C93EC93B";

    /// <summary>Plain "Linux filesystem data": neither the slots nor the data partition may be auto-mounted by systemd-gpt-auto-generator.</summary>
    public const string LinuxDataType = "0FC63DAF-8483-4772-8E79-3D69D8477DE4";

    public const int BiosBootMiB = 1;

    public DiskPartition BiosBoot => Partitions[0];

    public DiskPartition Esp => Partitions[1];

    public DiskPartition SlotA => Partitions[2];

    public DiskPartition SlotB => Partitions[3];

    public DiskPartition Data => Partitions[4];

    /// <summary>The smallest disk the installer accepts: the image's own size.</summary>
    public long MinimumDiskBytes => TotalBytes;

    public static DiskLayout For(DiskSpec disk, string specSha256)
    {
        var sizes = new (string Name, string Type, long MiB)[]
        {
            ("bios", BiosBootType, BiosBootMiB),
            ("esp", EspType, disk.EspMiB),
            ("nxtop-a", LinuxDataType, disk.SlotMiB),
            ("nxtop-b", LinuxDataType, disk.SlotMiB),
            ("nxtop-data", LinuxDataType, disk.DataMiB),
        };
        var parts = new List<DiskPartition>();
        var next = MiB / SectorSize;
        for (var i = 0; i < sizes.Length; i++)
        {
            var sectors = sizes[i].MiB * MiB / SectorSize;
            parts.Add(new DiskPartition(i + 1, sizes[i].Name, sizes[i].Type, DerivedGuid(specSha256, "partition/" + sizes[i].Name), next, sectors));
            next += sectors;
        }

        // 1 MiB after the last partition holds the backup GPT (33 sectors) and keeps the size a whole number of MiB.
        var total = next * SectorSize + MiB;
        return new DiskLayout(DerivedGuid(specSha256, "disk"), parts, total, DerivedHex(specSha256, "esp-serial")[..8].ToUpperInvariant(), DerivedGuid(specSha256, "data-fs"));
    }

    /// <summary>
    /// A GUID that is a pure function of the spec and a label: the first 16 bytes of sha256("nxtop:" + spec sha256 +
    /// "/" + label), marked as an RFC 9562 version 8 (custom) UUID.
    /// </summary>
    public static string DerivedGuid(string specSha256, string label)
    {
        var b = SHA256.HashData(Encoding.UTF8.GetBytes($"nxtop:{specSha256}/{label}"))[..16];
        b[6] = (byte)((b[6] & 0x0F) | 0x80);
        b[8] = (byte)((b[8] & 0x3F) | 0x80);
        var h = Convert.ToHexStringLower(b);
        return $"{h[..8]}-{h[8..12]}-{h[12..16]}-{h[16..20]}-{h[20..]}";
    }

    private static string DerivedHex(string specSha256, string label) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"nxtop:{specSha256}/{label}")));
}
