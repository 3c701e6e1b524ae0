using System.Globalization;
using NxTop.Contracts;

namespace NxTop.Agent.Inventory;

/// <summary>
/// dom0's hardware from procfs and sysfs under <paramref name="root"/> ("/" on the device, a fixture
/// tree in tests), plus the latest <c>xl info</c> facts. Anything unreadable is left out, never fatal.
/// </summary>
internal sealed class InventoryCollector(string root, XenProbeState? xen = null)
{
    private const int SectorBytes = 512;

    /// <summary>Block devices that are not disks: loop, RAM disks, zram, device-mapper and md stacks, optical drives.</summary>
    private static readonly string[] IgnoredBlockPrefixes = ["loop", "ram", "zram", "dm-", "md", "sr", "nbd"];

    public HardwareInventory Collect() => new(
        Hostname: Read("proc/sys/kernel/hostname") ?? Read("etc/hostname") ?? "unknown",
        Cpu: ReadCpu(),
        MemoryBytes: ReadMemTotalBytes(),
        Disks: ReadDisks(),
        Nics: ReadNics(),
        Dmi: ReadDmi(),
        Xen: xen?.Current.LastFacts is { } facts
            ? new XenInfo(facts.XenVersion, facts.TotalMemoryMiB, facts.FreeMemoryMiB, facts.NrCpus, facts.VirtCaps)
            : null);

    public CpuInfo ReadCpu()
    {
        var text = Read("proc/cpuinfo") ?? "";
        string? model = null, vendor = null;
        var count = 0;
        foreach (var line in text.Split('\n'))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon < 0)
            {
                continue;
            }

            var key = line[..colon].Trim();
            var value = line[(colon + 1)..].Trim();
            switch (key)
            {
                case "processor":
                    count++;
                    break;
                case "model name" when model is null:
                    model = value;
                    break;
                case "vendor_id" when vendor is null:
                    vendor = value;
                    break;
            }
        }

        return new CpuInfo(model ?? "unknown", count, vendor);
    }

    public long ReadMemTotalBytes()
    {
        foreach (var line in (Read("proc/meminfo") ?? "").Split('\n'))
        {
            if (line.StartsWith("MemTotal:", StringComparison.Ordinal))
            {
                var parts = line["MemTotal:".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (parts.Length > 0 && long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var kib))
                {
                    return kib * 1024;
                }
            }
        }

        return 0;
    }

    public IReadOnlyList<DiskInfo> ReadDisks()
    {
        var block = Path.Combine(root, "sys", "block");
        if (!Directory.Exists(block))
        {
            return [];
        }

        var disks = new List<DiskInfo>();
        foreach (var name in Directory.EnumerateFileSystemEntries(block).Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal))
        {
            if (IgnoredBlockPrefixes.Any(p => name.StartsWith(p, StringComparison.Ordinal)))
            {
                continue;
            }

            var sectors = ReadLong($"sys/block/{name}/size") ?? 0;
            if (sectors == 0)
            {
                continue;
            }

            disks.Add(new DiskInfo(
                name,
                sectors * SectorBytes,
                Read($"sys/block/{name}/device/model"),
                Read($"sys/block/{name}/device/serial"),
                Read($"sys/block/{name}/queue/rotational") == "1",
                Read($"sys/block/{name}/removable") == "1"));
        }

        return disks;
    }

    public IReadOnlyList<NicInfo> ReadNics()
    {
        var net = Path.Combine(root, "sys", "class", "net");
        if (!Directory.Exists(net))
        {
            return [];
        }

        var nics = new List<NicInfo>();
        foreach (var name in Directory.EnumerateFileSystemEntries(net).Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal))
        {
            // Only physical NICs have a device link; lo, bridges and Xen's vifs do not.
            if (!Exists($"sys/class/net/{name}/device"))
            {
                continue;
            }

            var speed = ReadLong($"sys/class/net/{name}/speed");
            nics.Add(new NicInfo(name, Read($"sys/class/net/{name}/address"), Read($"sys/class/net/{name}/operstate"),
                speed is > 0 and < int.MaxValue ? (int)speed : null));
        }

        return nics;
    }

    public DmiInfo ReadDmi()
    {
        string? Dmi(string name) => Read($"sys/class/dmi/id/{name}");
        return new DmiInfo(
            Dmi("sys_vendor"), Dmi("product_name"), Dmi("product_version"), Dmi("product_serial"), Dmi("product_uuid"),
            Dmi("board_vendor"), Dmi("board_name"), Dmi("bios_vendor"), Dmi("bios_version"), Dmi("bios_date"), Dmi("chassis_type"));
    }

    private bool Exists(string relative)
    {
        var path = Path.Combine(root, relative);
        return Directory.Exists(path) || File.Exists(path);
    }

    /// <summary>The trimmed contents, or null if missing, unreadable (product_serial is root-only) or empty.</summary>
    private string? Read(string relative)
    {
        try
        {
            var text = File.ReadAllText(Path.Combine(root, relative)).Trim();
            return text.Length == 0 ? null : text;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private long? ReadLong(string relative) =>
        long.TryParse(Read(relative), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value) ? value : null;
}
