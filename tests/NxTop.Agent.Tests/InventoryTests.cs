using NxTop.Agent.Inventory;

namespace NxTop.Agent.Tests;

public sealed class InventoryTests : IDisposable
{
    private readonly TempDirectory _root = new();

    public InventoryTests()
    {
        Write("proc/cpuinfo", "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Core(TM) i5-8500T CPU @ 2.10GHz\n\nprocessor\t: 1\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Core(TM) i5-8500T CPU @ 2.10GHz\n");
        Write("proc/meminfo", "MemTotal:        4030556 kB\nMemFree:          123 kB\n");
        Write("proc/sys/kernel/hostname", "nxtop-dom0\n");
        Write("sys/block/sda/size", "500118192\n");
        Write("sys/block/sda/device/model", "Samsung SSD 860 \n");
        Write("sys/block/sda/queue/rotational", "0\n");
        Write("sys/block/sda/removable", "0\n");
        Write("sys/block/loop0/size", "1000\n");
        Write("sys/block/sr0/size", "0\n");
        Write("sys/block/nvme0n1/size", "1000215216\n");
        Write("sys/block/nvme0n1/device/serial", "S4EWNX0N123\n");
        Write("sys/class/net/eth0/address", "52:54:00:12:34:56\n");
        Write("sys/class/net/eth0/operstate", "up\n");
        Write("sys/class/net/eth0/speed", "1000\n");
        Directory.CreateDirectory(_root.Combine("sys/class/net/eth0/device"));
        Write("sys/class/net/lo/address", "00:00:00:00:00:00\n");
        Write("sys/class/net/xenbr0/address", "52:54:00:12:34:56\n");
        Write("sys/class/dmi/id/sys_vendor", "Dell Inc.\n");
        Write("sys/class/dmi/id/product_name", "OptiPlex 3060\n");
        Write("sys/class/dmi/id/product_serial", "ABC1234\n");
        Write("sys/class/dmi/id/bios_version", "1.2.3\n");
    }

    public void Dispose() => _root.Dispose();

    private void Write(string relative, string text)
    {
        var path = _root.Combine(relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
    }

    [Fact]
    public void Inventory_reads_cpu_memory_disks_nics_and_dmi_from_the_fixture_tree()
    {
        var inventory = new InventoryCollector(_root.Path).Collect();

        Assert.Equal("nxtop-dom0", inventory.Hostname);
        Assert.Equal(("Intel(R) Core(TM) i5-8500T CPU @ 2.10GHz", 2, "GenuineIntel"), (inventory.Cpu.Model, inventory.Cpu.LogicalCpus, inventory.Cpu.Vendor));
        Assert.Equal(4030556L * 1024, inventory.MemoryBytes);
        Assert.Equal(["nvme0n1", "sda"], inventory.Disks.Select(d => d.Name));
        var sda = inventory.Disks[1];
        Assert.Equal((500118192L * 512, "Samsung SSD 860", false), (sda.SizeBytes, sda.Model, sda.Rotational));
        Assert.Equal("S4EWNX0N123", inventory.Disks[0].Serial);
        var nic = Assert.Single(inventory.Nics);
        Assert.Equal(("eth0", "52:54:00:12:34:56", "up", (int?)1000), (nic.Name, nic.MacAddress, nic.OperState, nic.SpeedMbps));
        Assert.Equal(("Dell Inc.", "OptiPlex 3060", "ABC1234", "1.2.3"), (inventory.Dmi.SysVendor, inventory.Dmi.ProductName, inventory.Dmi.ProductSerial, inventory.Dmi.BiosVersion));
        Assert.Null(inventory.Dmi.ProductUuid);
        Assert.Null(inventory.Xen);
    }

    [Fact]
    public void Xen_facts_come_from_the_latest_xl_info_probe()
    {
        var probes = new XenProbeState();
        probes.RecordSuccess(XlInfo.ParseFacts(TestFiles.XlInfoSample, DateTimeOffset.UnixEpoch));

        var inventory = new InventoryCollector(_root.Path, probes).Collect();

        Assert.NotNull(inventory.Xen);
        Assert.StartsWith("4.17", inventory.Xen.Version, StringComparison.Ordinal);
        Assert.True(inventory.Xen.TotalMemoryMiB > 0);
    }

    [Fact]
    public void An_empty_root_gives_an_empty_inventory_rather_than_an_error()
    {
        using var empty = new TempDirectory();

        var inventory = new InventoryCollector(empty.Path).Collect();

        Assert.Equal(("unknown", 0, 0L), (inventory.Hostname, inventory.Cpu.LogicalCpus, inventory.MemoryBytes));
        Assert.Empty(inventory.Disks);
    }
}
