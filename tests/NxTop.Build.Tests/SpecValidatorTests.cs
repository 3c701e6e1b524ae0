using NxTop.Build.Spec;

namespace NxTop.Build.Tests;

public class SpecValidatorTests
{
    [Theory]
    [InlineData("1024M", 1024)]
    [InlineData("256M", 256)]
    [InlineData("1M", 1)]
    [InlineData("2G", 2048)]
    [InlineData("1G", 1024)]
    [InlineData("0001024M", 1024)]
    [InlineData("1048576M", 1048576)]
    [InlineData("1024G", 1048576)]
    [InlineData("1048577M", null)]
    [InlineData("1025G", null)]
    [InlineData("99999999999999999999M", null)]
    [InlineData("0M", null)]
    [InlineData("0G", null)]
    [InlineData("1024", null)]
    [InlineData("1024m", null)]
    [InlineData("2g", null)]
    [InlineData("1024MB", null)]
    [InlineData("1024K", null)]
    [InlineData("1.5G", null)]
    [InlineData("-1M", null)]
    [InlineData("+1M", null)]
    [InlineData(" 1024M", null)]
    [InlineData("1024M ", null)]
    [InlineData("1024M\n", null)]
    [InlineData("1 024M", null)]
    [InlineData("M", null)]
    [InlineData("lots", null)]
    [InlineData("", null)]
    public void TryParseMiB_reads_whole_mebibytes_or_gibibytes_only(string size, int? expected)
    {
        Assert.Equal(expected, SpecValidator.TryParseMiB(size));
    }

    [Fact]
    public void The_real_spec_and_profiles_have_no_value_problems()
    {
        foreach (var profile in new[] { "none", "release", "lab", "debug" })
        {
            Assert.Empty(SpecValidator.Validate(SpecLoader.Load(Repo.Spec, profile).Spec));
        }
    }

    /// <summary>
    /// Each row is a profile drop-in over the real spec and the one JSON path it must be rejected at
    /// (null: it must load). The problem must be blamed on the profile.
    /// </summary>
    [Theory]
    [InlineData("""{ "name": "appliance-2" }""", null)]
    [InlineData("""{ "name": "NxTop" }""", "$.name")]
    [InlineData("""{ "name": "-nxtop" }""", "$.name")]
    [InlineData("""{ "name": "nx_top" }""", "$.name")]
    [InlineData("""{ "name": "abcdefghijabcdefghijabcdefghijabcdefghij" }""", null)]
    [InlineData("""{ "name": "abcdefghijabcdefghijabcdefghijabcdefghijk" }""", "$.name")]
    [InlineData("""{ "name": "nxtop\n" }""", "$.name")]
    [InlineData("""{ "version": "1.2.3-rc1" }""", null)]
    [InlineData("""{ "version": "1.2.3+build.5" }""", null)]
    [InlineData("""{ "version": "1.2" }""", "$.version")]
    [InlineData("""{ "version": "v1.2.3" }""", "$.version")]
    [InlineData("""{ "version": "1.2.3\n" }""", "$.version")]
    [InlineData("""{ "debian": { "suite": "trixie" } }""", "$.debian.suite")]
    [InlineData("""{ "debian": { "mirror": "http://deb.debian.org/debian" } }""", null)]
    [InlineData("""{ "debian": { "mirror": "https://mirror.lab.invalid/debian/" } }""", null)]
    [InlineData("""{ "debian": { "mirror": "deb.debian.org/debian" } }""", "$.debian.mirror")]
    [InlineData("""{ "debian": { "mirror": "ftp://deb.debian.org/debian" } }""", "$.debian.mirror")]
    [InlineData("""{ "debian": { "securityMirror": "Host" } }""", "$.debian.securityMirror")]
    [InlineData("""{ "debian": { "components": ["main", "contrib", "non-free-firmware"] } }""", null)]
    [InlineData("""{ "debian": { "components": ["contrib"] } }""", "$.debian.components")]
    [InlineData("""{ "debian": { "components": [] } }""", "$.debian.components")]
    [InlineData("""{ "debian": { "packages": [] } }""", null)]
    [InlineData("""{ "debian": { "packages": ["g++", "libstdc++6", "python3.11"] } }""", null)]
    [InlineData("""{ "debian": { "packages": ["Htop"] } }""", "$.debian.packages[0]")]
    [InlineData("""{ "debian": { "packages": ["htop", "h"] } }""", "$.debian.packages[1]")]
    [InlineData("""{ "debian": { "packages": ["htop", "htop"] } }""", "$.debian.packages")]
    [InlineData("""{ "debian": { "packages": ["htop\n"] } }""", "$.debian.packages[0]")]
    [InlineData("""{ "xen": { "dom0Mem": "256M" } }""", null)]
    [InlineData("""{ "xen": { "dom0Mem": "4G" } }""", null)]
    [InlineData("""{ "xen": { "dom0Mem": "255M" } }""", "$.xen.dom0Mem")]
    [InlineData("""{ "xen": { "dom0Mem": "1024" } }""", "$.xen.dom0Mem")]
    [InlineData("""{ "xen": { "dom0Mem": "1024M\n" } }""", "$.xen.dom0Mem")]
    [InlineData("""{ "xen": { "dom0MaxVcpus": 128 } }""", null)]
    [InlineData("""{ "xen": { "dom0MaxVcpus": 0 } }""", "$.xen.dom0MaxVcpus")]
    [InlineData("""{ "xen": { "dom0MaxVcpus": 129 } }""", "$.xen.dom0MaxVcpus")]
    [InlineData("""{ "xen": { "console": "vga" } }""", null)]
    [InlineData("""{ "xen": { "console": "com1,com2,vga" } }""", null)]
    [InlineData("""{ "xen": { "console": "serial" } }""", "$.xen.console")]
    [InlineData("""{ "xen": { "console": "com1, vga" } }""", "$.xen.console")]
    [InlineData("""{ "xen": { "console": "com1\n" } }""", "$.xen.console")]
    [InlineData("""{ "xen": { "com1": "9600,8n1" } }""", null)]
    [InlineData("""{ "xen": { "com1": "115200" } }""", "$.xen.com1")]
    [InlineData("""{ "xen": { "com1": "115200,9n1" } }""", "$.xen.com1")]
    [InlineData("""{ "xen": { "com1": "115200,8n1\n" } }""", "$.xen.com1")]
    [InlineData("""{ "xen": { "extraArgs": ["iommu=1", "sched=credit2"] } }""", null)]
    [InlineData("""{ "xen": { "extraArgs": ["dom0_mem=2G"] } }""", "$.xen.extraArgs[0]")]
    [InlineData("""{ "xen": { "extraArgs": ["ok", "console=vga"] } }""", "$.xen.extraArgs[1]")]
    [InlineData("""{ "xen": { "extraArgs": ["a b"] } }""", "$.xen.extraArgs[0]")]
    [InlineData("""{ "xen": { "extraArgs": [""] } }""", "$.xen.extraArgs[0]")]
    [InlineData("""{ "xen": { "extraArgs": ["x=$(id)"] } }""", "$.xen.extraArgs[0]")]
    [InlineData("""{ "xen": { "extraArgs": ["x=\"y\""] } }""", "$.xen.extraArgs[0]")]
    [InlineData("""{ "xen": { "extraArgs": ["x;y"] } }""", "$.xen.extraArgs[0]")]
    [InlineData("""{ "dom0": { "hostname": "NxTop-Lab-1" } }""", null)]
    [InlineData("""{ "dom0": { "hostname": "-nxtop" } }""", "$.dom0.hostname")]
    [InlineData("""{ "dom0": { "hostname": "nxtop-" } }""", "$.dom0.hostname")]
    [InlineData("""{ "dom0": { "hostname": "nx.top" } }""", "$.dom0.hostname")]
    [InlineData("""{ "dom0": { "hostname": "nxtop\n" } }""", "$.dom0.hostname")]
    [InlineData("""{ "dom0": { "console": "tty0" } }""", null)]
    [InlineData("""{ "dom0": { "console": "ttyS0,115200n8" } }""", null)]
    [InlineData("""{ "dom0": { "console": "ttyS0,115200" } }""", "$.dom0.console")]
    [InlineData("""{ "dom0": { "console": "hvc1" } }""", "$.dom0.console")]
    [InlineData("""{ "dom0": { "kernelArgs": ["nomodeset", "loglevel=7"] } }""", null)]
    [InlineData("""{ "dom0": { "kernelArgs": ["root=/dev/sda1"] } }""", "$.dom0.kernelArgs[0]")]
    [InlineData("""{ "dom0": { "kernelArgs": ["boot=nfs"] } }""", "$.dom0.kernelArgs[0]")]
    [InlineData("""{ "dom0": { "kernelArgs": ["console=tty0"] } }""", "$.dom0.kernelArgs[0]")]
    [InlineData("""{ "network": { "bridge": "br0" } }""", null)]
    [InlineData("""{ "network": { "bridge": "br-0" } }""", "$.network.bridge")]
    [InlineData("""{ "network": { "bridge": "Xenbr0" } }""", "$.network.bridge")]
    [InlineData("""{ "network": { "bridge": "abcdefghijklmnop" } }""", "$.network.bridge")]
    [InlineData("""{ "network": { "interfaceMatch": "enp[0-9]s0 eth?" } }""", null)]
    [InlineData("""{ "network": { "interfaceMatch": "en*  eth*" } }""", "$.network.interfaceMatch")]
    [InlineData("""{ "network": { "interfaceMatch": "" } }""", "$.network.interfaceMatch")]
    [InlineData("""{ "network": { "interfaceMatch": "en*;eth*" } }""", "$.network.interfaceMatch")]
    [InlineData("""{ "network": { "dns": ["192.0.2.53", "2001:db8::53"] } }""", null)]
    [InlineData("""{ "network": { "dns": ["192.0.2.53", "dns.lab.invalid"] } }""", "$.network.dns[1]")]
    [InlineData("""{ "network": { "gateway": "192.0.2.1" } }""", "$.network.gateway")]
    [InlineData("""{ "network": { "mode": "static", "address": "192.0.2.10/33", "gateway": "192.0.2.1" } }""", "$.network.address")]
    [InlineData("""{ "network": { "mode": "static", "address": "2001:db8::10/64", "gateway": "2001:db8::1" } }""", null)]
    [InlineData("""{ "network": { "mode": "static", "address": "192.0.2.10/24", "gateway": "gw" } }""", "$.network.gateway")]
    [InlineData("""{ "ssh": { "authorizedKeys": ["ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAB"] } }""", null)]
    [InlineData("""{ "ssh": { "authorizedKeys": ["ssh-ed25519 short"] } }""", "$.ssh.authorizedKeys[0]")]
    [InlineData("""{ "ssh": { "authorizedKeys": ["AAAAC3NzaC1lZDI1NTE5AAAAI me@desk"] } }""", "$.ssh.authorizedKeys[0]")]
    [InlineData("""{ "ssh": { "authorizedKeys": ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI me@desk\n"] } }""", "$.ssh.authorizedKeys[0]")]
    [InlineData("""{ "agent": { "centerUrl": "http://10.0.0.1:8080" } }""", null)]
    [InlineData("""{ "agent": { "centerUrl": "center.lab.invalid" } }""", "$.agent.centerUrl")]
    [InlineData("""{ "agent": { "centerUrl": "ftp://center.lab.invalid/" } }""", "$.agent.centerUrl")]
    [InlineData("""{ "agent": { "pollIntervalSeconds": 5 } }""", null)]
    [InlineData("""{ "agent": { "pollIntervalSeconds": 86400 } }""", null)]
    [InlineData("""{ "agent": { "pollIntervalSeconds": 4 } }""", "$.agent.pollIntervalSeconds")]
    [InlineData("""{ "agent": { "guestMemoryMiB": 64 } }""", null)]
    [InlineData("""{ "agent": { "guestMemoryMiB": 63 } }""", "$.agent.guestMemoryMiB")]
    [InlineData("""{ "agent": { "pollIntervalSeconds": 86401 } }""", "$.agent.pollIntervalSeconds")]
    [InlineData("""{ "boot": { "timeoutSeconds": 0 } }""", null)]
    [InlineData("""{ "boot": { "timeoutSeconds": 300 } }""", null)]
    [InlineData("""{ "boot": { "timeoutSeconds": -1 } }""", "$.boot.timeoutSeconds")]
    [InlineData("""{ "boot": { "timeoutSeconds": 301 } }""", "$.boot.timeoutSeconds")]
    [InlineData("""{ "image": { "formats": [] } }""", "$.image.formats")]
    [InlineData("""{ "pxe": { "httpBaseUrl": "http://10.0.0.1/nxtop/" } }""", null)]
    [InlineData("""{ "agent": { "enrollmentToken": "short" } }""", "$.agent.enrollmentToken")]
    [InlineData("""{ "agent": { "enrollmentToken": "0123456789abcdef0123" } }""", null)]
    [InlineData("""{ "agent": { "publisherKeys": ["keys/publisher.pub"] } }""", "$.agent.publisherKeys[0]")]
    [InlineData("""{ "pxe": { "httpBaseUrl": "http://10.0.0.1/nxtop" } }""", "$.pxe.httpBaseUrl")]
    [InlineData("""{ "pxe": { "httpBaseUrl": "https://10.0.0.1/nxtop/" } }""", "$.pxe.httpBaseUrl")]
    [InlineData("""{ "pxe": { "httpBaseUrl": "tftp://10.0.0.1/" } }""", "$.pxe.httpBaseUrl")]
    [InlineData("""{ "image": { "formats": ["iso", "iso"] } }""", "$.image.formats")]
    [InlineData("""{ "disk": { "espMiB": 15 } }""", "$.disk.espMiB")]
    [InlineData("""{ "disk": { "espMiB": 16 } }""", null)]
    [InlineData("""{ "disk": { "slotMiB": 63 } }""", "$.disk.slotMiB")]
    [InlineData("""{ "disk": { "slotMiB": 65536 } }""", null)]
    [InlineData("""{ "disk": { "dataMiB": 0 } }""", "$.disk.dataMiB")]
    [InlineData("""{ "install": { "target": "/dev/sda" } }""", null)]
    [InlineData("""{ "install": { "target": "/dev/disk/by-id/ata-X_123:0" } }""", null)]
    [InlineData("""{ "install": { "target": "sda" } }""", "$.install.target")]
    [InlineData("""{ "install": { "target": "/dev/sda; reboot" } }""", "$.install.target")]
    [InlineData("""{ "install": { "target": "/dev/sda\n" } }""", "$.install.target")]
    [InlineData("""{ "boot": { "defaultEntry": "install" } }""", null)]
    public void A_value_is_accepted_or_rejected_at_its_path(string dropIn, string? rejectedAt)
    {
        using var spec = new TempSpec();
        var profile = spec.WriteProfile("row", dropIn);

        if (rejectedAt is null)
        {
            spec.Load("row");
            return;
        }

        var ex = spec.LoadFails("row");
        Assert.True(ex.Problems.Count == 1, ex.Message);
        SpecAssert.Problem(ex, profile, rejectedAt);
    }
}
