using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace NxTop.Agent.Lifecycle;

/// <summary>One guest disk as xl's qdisk backend sees it.</summary>
internal sealed record GuestDisk(string Target, string Vdev, bool ReadOnly, string Format);

/// <summary>
/// An <c>xl</c> PV guest config, rendered from data. The templates folder belongs to the image build;
/// the guest config is per device and per version, so the agent renders it itself.
/// </summary>
internal sealed record XlGuestConfig(
    string Name,
    int MemoryMiB,
    int Vcpus,
    string Kernel,
    string? Ramdisk,
    string? Extra,
    IReadOnlyList<GuestDisk> Disks,
    string Bridge,
    string MacAddress)
{
    /// <summary>xl's disk spec: <c>target=</c> goes last because it may hold commas.</summary>
    public static string DiskSpec(GuestDisk disk) =>
        $"format={disk.Format}, vdev={disk.Vdev}, access={(disk.ReadOnly ? "ro" : "rw")}, backendtype=qdisk, target={Checked(disk.Target)}";

    /// <summary>A locally administered unicast MAC in Xen's 00:16:3e range, derived from the guest and device so it is stable.</summary>
    public static string MacFor(string seed)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(seed));
        return string.Create(CultureInfo.InvariantCulture, $"00:16:3e:{hash[0] & 0x7f:x2}:{hash[1]:x2}:{hash[2]:x2}");
    }

    /// <summary>Xen names disks xvda, xvdb, ... xvdz.</summary>
    public static string Vdev(int index) =>
        index is >= 0 and < 26 ? "xvd" + (char)('a' + index) : throw new ArgumentOutOfRangeException(nameof(index), "at most 26 disks");

    public string Render()
    {
        var text = new StringBuilder();
        text.Append("# Written by nxtop-agent; rewritten at every guest start.\n");
        Line(text, "name", Quote(Name));
        Line(text, "type", Quote("pv"));
        Line(text, "memory", MemoryMiB.ToString(CultureInfo.InvariantCulture));
        Line(text, "vcpus", Vcpus.ToString(CultureInfo.InvariantCulture));
        Line(text, "kernel", Quote(Kernel));
        if (Ramdisk is not null)
        {
            Line(text, "ramdisk", Quote(Ramdisk));
        }

        if (Extra is not null)
        {
            Line(text, "extra", Quote(Extra));
        }

        Line(text, "disk", "[ " + string.Join(",\n         ", Disks.Select(d => "'" + DiskSpec(d) + "'")) + " ]");
        Line(text, "vif", $"[ 'bridge={Checked(Bridge)}, mac={Checked(MacAddress)}' ]");
        Line(text, "on_poweroff", Quote("destroy"));
        Line(text, "on_reboot", Quote("restart"));
        Line(text, "on_crash", Quote("destroy"));
        return text.ToString();
    }

    private static void Line(StringBuilder text, string key, string value) => text.Append(key).Append(" = ").Append(value).Append('\n');

    private static string Quote(string value) => "\"" + Checked(value) + "\"";

    /// <summary>xl's config strings have no escapes; the agent's own paths never need them.</summary>
    private static string Checked(string value) =>
        value.IndexOfAny(['"', '\'', '\n', '\r', '\\']) < 0 ? value : throw new ArgumentException($"'{value}' cannot go into an xl config (quote, backslash or newline)");
}
