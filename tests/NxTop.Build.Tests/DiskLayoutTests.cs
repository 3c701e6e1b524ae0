using System.Text.Json;
using NxTop.Build.Images;
using NxTop.Build.Spec;
using NxTop.Build.Tools;

namespace NxTop.Build.Tests;

/// <summary>The A/B disk layout: sizes from the spec, 1 MiB alignment, identifiers derived from the spec hash, and an sfdisk script that sfdisk itself turns into the same table.</summary>
public class DiskLayoutTests
{
    private static readonly string SpecHash = new('7', 64);

    private static DiskLayout Layout(int esp = 32, int slot = 320, int data = 256) => DiskLayout.For(new DiskSpec(esp, slot, data), SpecHash);

    [Fact]
    public void Partitions_follow_each_other_on_MiB_boundaries_with_the_spec_sizes()
    {
        var d = Layout(esp: 48, slot: 200, data: 100);

        Assert.Equal(["bios", "esp", "nxtop-a", "nxtop-b", "nxtop-data"], d.Partitions.Select(p => p.Name));
        Assert.Equal([1, 2, 3, 4, 5], d.Partitions.Select(p => p.Number));
        Assert.Equal(2048, d.BiosBoot.StartSector);
        Assert.All(d.Partitions, p => Assert.Equal(0, p.StartBytes % DiskLayout.MiB));
        for (var i = 1; i < d.Partitions.Count; i++)
        {
            Assert.Equal(d.Partitions[i - 1].StartSector + d.Partitions[i - 1].SizeSectors, d.Partitions[i].StartSector);
        }

        Assert.Equal([1L, 48, 200, 200, 100], d.Partitions.Select(p => p.SizeBytes / DiskLayout.MiB));
        Assert.Equal(d.Data.StartBytes + d.Data.SizeBytes + DiskLayout.MiB, d.TotalBytes);
        Assert.Equal(DiskLayout.BiosBootType, d.BiosBoot.TypeGuid);
        Assert.Equal(DiskLayout.EspType, d.Esp.TypeGuid);
    }

    [Fact]
    public void Identifiers_are_a_function_of_the_spec_hash()
    {
        var a = Layout();
        var again = Layout();
        var other = DiskLayout.For(new DiskSpec(32, 320, 256), new string('8', 64));

        Assert.Equal(a, again with { Partitions = a.Partitions });
        Assert.Equal(a.Partitions.Select(p => p.Uuid), again.Partitions.Select(p => p.Uuid));
        Assert.NotEqual(a.DiskUuid, other.DiskUuid);
        Assert.NotEqual(a.SlotA.Uuid, other.SlotA.Uuid);
        Assert.NotEqual(a.EspSerial, other.EspSerial);
        Assert.Equal(7, a.Partitions.Select(p => p.Uuid).Append(a.DiskUuid).Append(a.DataUuid).Distinct().Count());
        Assert.Matches("^[0-9A-F]{8}$", a.EspSerial);
    }

    [Fact]
    public void Derived_guids_are_rfc9562_version_8()
    {
        var g = DiskLayout.DerivedGuid(SpecHash, "x");

        Assert.Matches("^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$", g);
        Assert.True(Guid.TryParse(g, out _));
        Assert.NotEqual(g, DiskLayout.DerivedGuid(SpecHash, "y"));
    }

    [Fact]
    public async Task Sfdisk_writes_exactly_the_rendered_layout()
    {
        var configs = Rendering.For("none");
        var d = configs.Disk;
        var script = configs["disk/layout.sfdisk.sbn"].Content;
        using var dir = new TempDir();
        var image = Path.Combine(dir.Path, "disk.img");
        await using (var fs = File.Create(image))
        {
            fs.SetLength(d.TotalBytes);
        }

        await new ProcessRunner().RunAsync("sfdisk", ["--quiet", "--no-reread", "--no-tell-kernel", image], new ToolRun { StandardInput = script });
        var dump = await new ProcessRunner().RunAsync("sfdisk", ["--json", image]);

        using var json = JsonDocument.Parse(dump.StandardOutput);
        var table = json.RootElement.GetProperty("partitiontable");
        Assert.Equal("gpt", table.GetProperty("label").GetString());
        Assert.Equal(d.DiskUuid, table.GetProperty("id").GetString(), ignoreCase: true);
        var parts = table.GetProperty("partitions").EnumerateArray().ToList();
        Assert.Equal(d.Partitions.Count, parts.Count);
        for (var i = 0; i < parts.Count; i++)
        {
            var p = d.Partitions[i];
            Assert.Equal(p.StartSector, parts[i].GetProperty("start").GetInt64());
            Assert.Equal(p.SizeSectors, parts[i].GetProperty("size").GetInt64());
            Assert.Equal(p.Uuid, parts[i].GetProperty("uuid").GetString(), ignoreCase: true);
            Assert.Equal(p.TypeGuid, parts[i].GetProperty("type").GetString(), ignoreCase: true);
            Assert.Equal(p.Name, parts[i].GetProperty("name").GetString());
        }
    }

    [Fact]
    public async Task A_disk_smaller_than_the_layout_is_refused_by_sfdisk()
    {
        var configs = Rendering.For("none");
        using var dir = new TempDir();
        var image = Path.Combine(dir.Path, "small.img");
        await using (var fs = File.Create(image))
        {
            fs.SetLength(configs.Disk.TotalBytes / 2);
        }

        var result = await new ProcessRunner().RunAsync("sfdisk", ["--quiet", "--no-reread", "--no-tell-kernel", image],
            new ToolRun { StandardInput = configs["disk/layout.sfdisk.sbn"].Content, CheckExitCode = false });

        Assert.NotEqual(0, result.ExitCode);
    }
}
