using NxTop.Build.Rootfs;

namespace NxTop.Build.Tests;

public class StaleMountsTests
{
    private const string Mounts = """
        /dev/vda / ext4 rw,relatime 0 0
        proc /proc proc rw 0 0
        proc /cache/key.building/root/proc proc rw 0 0
        sysfs /cache/key.building/root/sys sysfs rw 0 0
        devpts /cache/key.building/root/dev/pts devpts rw 0 0
        tmpfs /cache/key.building/root/dev/shm tmpfs rw 0 0
        tmpfs /cache/key.building2/root/proc proc rw 0 0
        tmpfs /cache/key.building/my\040dir tmpfs rw 0 0
        """;

    [Fact]
    public void Only_mounts_below_the_folder_are_listed_deepest_first()
    {
        var below = StaleMounts.Below(Mounts, "/cache/key.building");

        Assert.Equal(
            ["/cache/key.building/root/dev/shm", "/cache/key.building/root/dev/pts", "/cache/key.building/root/sys",
             "/cache/key.building/root/proc", "/cache/key.building/my dir"],
            below);
    }

    [Fact]
    public void A_folder_with_nothing_mounted_below_gives_nothing()
    {
        Assert.Empty(StaleMounts.Below(Mounts, "/cache/other"));
    }
}
