using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;

namespace NxTop.Build.Spec;

/// <summary>Checks the values of a structurally valid spec. Paths are JSON paths; the loader fills in the file.</summary>
public static partial class SpecValidator
{
    public static IReadOnlyList<SpecProblem> Validate(ApplianceSpec s)
    {
        var p = new List<SpecProblem>();
        void Bad(string path, string message) => p.Add(new SpecProblem("", path, message));

        if (!NameRe().IsMatch(s.Name))
        {
            Bad("$.name", $"got \"{s.Name}\"; expected a lower-case name of letters, digits and '-' (it names the image files), e.g. \"nxtop\".");
        }

        if (!VersionRe().IsMatch(s.Version))
        {
            Bad("$.version", $"got \"{s.Version}\"; expected a version such as \"1.2.3\" or \"1.2.3-rc1\".");
        }

        if (s.Debian.Suite != "bookworm")
        {
            Bad("$.debian.suite", $"got \"{s.Debian.Suite}\"; expected \"bookworm\" (the dom0 recipe is made for Debian 12 and Xen 4.17).");
        }

        if (s.Debian.Mirror != "host" && !IsHttpUrl(s.Debian.Mirror))
        {
            Bad("$.debian.mirror", $"got \"{s.Debian.Mirror}\"; expected \"host\" (use this machine's apt sources) or an http(s) URL of a Debian mirror.");
        }

        if (s.Debian.SecurityMirror != "host" && !IsHttpUrl(s.Debian.SecurityMirror))
        {
            Bad("$.debian.securityMirror", $"got \"{s.Debian.SecurityMirror}\"; expected \"host\" or an http(s) URL of the Debian security archive.");
        }

        if (s.Debian.Components.Count == 0 || !s.Debian.Components.Contains("main"))
        {
            Bad("$.debian.components", "expected a list that includes \"main\".");
        }

        for (var i = 0; i < s.Debian.Packages.Count; i++)
        {
            if (!PackageRe().IsMatch(s.Debian.Packages[i]))
            {
                Bad($"$.debian.packages[{i}]", $"got \"{s.Debian.Packages[i]}\"; expected a Debian package name (lower-case letters, digits, '+', '-', '.').");
            }
        }

        foreach (var dup in s.Debian.Packages.GroupBy(x => x, StringComparer.Ordinal).Where(g => g.Count() > 1))
        {
            Bad("$.debian.packages", $"lists \"{dup.Key}\" more than once.");
        }

        if (TryParseMiB(s.Xen.Dom0Mem) is not { } mem || mem < 256)
        {
            Bad("$.xen.dom0Mem", $"got \"{s.Xen.Dom0Mem}\"; expected a memory size such as \"1024M\" or \"2G\", at least 256M.");
        }

        if (s.Xen.Dom0MaxVcpus is < 1 or > 128)
        {
            Bad("$.xen.dom0MaxVcpus", $"got {s.Xen.Dom0MaxVcpus}; expected a number of vCPUs from 1 to 128.");
        }

        if (!XenConsoleRe().IsMatch(s.Xen.Console))
        {
            Bad("$.xen.console", $"got \"{s.Xen.Console}\"; expected Xen console devices such as \"com1\", \"vga\" or \"com1,vga\".");
        }

        if (!Com1Re().IsMatch(s.Xen.Com1))
        {
            Bad("$.xen.com1", $"got \"{s.Xen.Com1}\"; expected a serial setting such as \"115200,8n1\".");
        }

        CheckArgs(s.Xen.ExtraArgs, "$.xen.extraArgs", ["dom0_mem=", "dom0_max_vcpus=", "console=", "com1="], Bad);

        if (!HostnameRe().IsMatch(s.Dom0.Hostname))
        {
            Bad("$.dom0.hostname", $"got \"{s.Dom0.Hostname}\"; expected a host name: letters, digits and '-', at most 63 characters, not starting or ending with '-'.");
        }

        if (!Dom0ConsoleRe().IsMatch(s.Dom0.Console))
        {
            Bad("$.dom0.console", $"got \"{s.Dom0.Console}\"; expected a Linux console such as \"hvc0\" (Xen's console) or \"tty0\".");
        }

        CheckArgs(s.Dom0.KernelArgs, "$.dom0.kernelArgs", ["console=", "boot=", "root="], Bad);

        if (!BridgeRe().IsMatch(s.Network.Bridge))
        {
            Bad("$.network.bridge", $"got \"{s.Network.Bridge}\"; expected an interface name of 1 to 15 letters and digits, e.g. \"xenbr0\".");
        }

        if (s.Network.InterfaceMatch.Split(' ').Any(g => !GlobRe().IsMatch(g)))
        {
            Bad("$.network.interfaceMatch", $"got \"{s.Network.InterfaceMatch}\"; expected systemd-networkd Name= globs separated by single spaces, such as \"en* eth*\".");
        }

        if (s.Network.Mode == NetworkMode.Static)
        {
            if (s.Network.Address is null || !IsCidr(s.Network.Address))
            {
                Bad("$.network.address", $"got {Show(s.Network.Address)}; a static network needs an address with prefix length, e.g. \"192.0.2.10/24\".");
            }

            if (s.Network.Gateway is null || !IPAddress.TryParse(s.Network.Gateway, out _))
            {
                Bad("$.network.gateway", $"got {Show(s.Network.Gateway)}; a static network needs a gateway IP address.");
            }
        }
        else if (s.Network.Address is not null || s.Network.Gateway is not null)
        {
            Bad(s.Network.Address is not null ? "$.network.address" : "$.network.gateway", "address and gateway are only used with \"mode\": \"static\"; remove them or set the mode.");
        }

        for (var i = 0; i < s.Network.Dns.Count; i++)
        {
            if (!IPAddress.TryParse(s.Network.Dns[i], out _))
            {
                Bad($"$.network.dns[{i}]", $"got \"{s.Network.Dns[i]}\"; expected an IP address.");
            }
        }

        for (var i = 0; i < s.Ssh.AuthorizedKeys.Count; i++)
        {
            if (!SshKeyRe().IsMatch(s.Ssh.AuthorizedKeys[i]))
            {
                Bad($"$.ssh.authorizedKeys[{i}]", "expected an OpenSSH public key line such as \"ssh-ed25519 AAAA... user@host\".");
            }
        }

        if (!s.Ssh.GenerateClientKey && s.Ssh.AuthorizedKeys.Count == 0)
        {
            // Reported at generateClientKey so that a profile that turns it off is the file blamed.
            Bad("$.ssh.generateClientKey", "no way to log in: set generateClientKey to true, or list at least one key in authorizedKeys (there are no passwords).");
        }

        if (!IsHttpUrl(s.Agent.CenterUrl))
        {
            Bad("$.agent.centerUrl", $"got \"{s.Agent.CenterUrl}\"; expected the NxTop Center's http(s) URL.");
        }

        if (s.Pxe.HttpBaseUrl is { } pxeBase
            && !(Uri.TryCreate(pxeBase, UriKind.Absolute, out var pxeUri) && pxeUri.Scheme == Uri.UriSchemeHttp && !string.IsNullOrEmpty(pxeUri.Host)
                 && pxeBase.EndsWith('/') && pxeUri.Query.Length == 0))
        {
            Bad("$.pxe.httpBaseUrl", $"got \"{pxeBase}\"; expected null or a plain http:// URL ending in '/', e.g. \"http://10.0.0.1/nxtop/\" (GRUB and the initramfs speak no https).");
        }

        if (s.Disk.EspMiB is < 16 or > 4096)
        {
            Bad("$.disk.espMiB", $"got {s.Disk.EspMiB}; expected MiB from 16 to 4096 for the EFI system partition (GRUB needs about 5).");
        }

        if (s.Disk.SlotMiB is < 64 or > 65536)
        {
            Bad("$.disk.slotMiB", $"got {s.Disk.SlotMiB}; expected MiB from 64 to 65536 for each root slot (it holds the whole ISO, so leave room for updates).");
        }

        if (s.Disk.DataMiB is < 16 or > 1048576)
        {
            Bad("$.disk.dataMiB", $"got {s.Disk.DataMiB}; expected MiB from 16 to 1048576 for the data partition (it grows to fill the disk on first boot).");
        }

        if (s.Install.Target is { } installTarget && !DiskRe().IsMatch(installTarget))
        {
            Bad("$.install.target", $"got \"{installTarget}\"; expected null or a disk device path such as \"/dev/sda\", \"/dev/nvme0n1\" or \"/dev/disk/by-id/...\".");
        }

        if (s.Agent.EnrollmentToken is { } token && (token.Length < 16 || token.Any(char.IsWhiteSpace)))
        {
            Bad("$.agent.enrollmentToken", "expected null or a one-time token of at least 16 characters without spaces (nxtop-center-admin tokens makes one).");
        }

        for (var i = 0; i < s.Agent.PublisherKeys.Count; i++)
        {
            if (!s.Agent.PublisherKeys[i].EndsWith(".pem", StringComparison.Ordinal))
            {
                Bad($"$.agent.publisherKeys[{i}]", $"got \"{s.Agent.PublisherKeys[i]}\"; expected the path of a PEM public key file ending in .pem (relative to the spec).");
            }
        }

        if (s.Agent.GuestMemoryMiB is < 64 or > 1_048_576)
        {
            Bad("$.agent.guestMemoryMiB", $"got {s.Agent.GuestMemoryMiB}; expected the desktop guest's memory in MiB, from 64 to 1048576.");
        }

        if (s.Agent.PollIntervalSeconds is < 5 or > 86400)
        {
            Bad("$.agent.pollIntervalSeconds", $"got {s.Agent.PollIntervalSeconds}; expected seconds from 5 to 86400.");
        }

        if (s.Boot.TimeoutSeconds is < 0 or > 300)
        {
            Bad("$.boot.timeoutSeconds", $"got {s.Boot.TimeoutSeconds}; expected seconds from 0 to 300.");
        }

        if (s.Image.Formats.Count == 0)
        {
            Bad("$.image.formats", "is empty; expected at least one output format, e.g. [\"iso\"].");
        }

        if (s.Image.Formats.Distinct().Count() != s.Image.Formats.Count)
        {
            Bad("$.image.formats", "lists a format more than once.");
        }

        return p;
    }

    /// <summary>"1024M" → 1024, "2G" → 2048; null if it is not a size.</summary>
    public static int? TryParseMiB(string size)
    {
        var m = SizeRe().Match(size);
        if (!m.Success || !long.TryParse(m.Groups[1].Value, NumberStyles.None, CultureInfo.InvariantCulture, out var n))
        {
            return null;
        }

        var mib = m.Groups[2].Value == "G" ? n * 1024 : n;
        return mib is > 0 and <= 1024 * 1024 ? (int)mib : null;
    }

    private static void CheckArgs(IReadOnlyList<string> args, string path, string[] owned, Action<string, string> bad)
    {
        for (var i = 0; i < args.Count; i++)
        {
            var a = args[i];
            if (a.Length == 0 || a.Any(c => char.IsWhiteSpace(c) || c is '"' or '\'' or '\\' or '$' or ';' or '`'))
            {
                bad($"{path}[{i}]", $"got \"{a}\"; expected one boot option with no spaces, quotes or shell characters.");
            }
            else if (owned.FirstOrDefault(o => a.StartsWith(o, StringComparison.Ordinal)) is { } o)
            {
                bad($"{path}[{i}]", $"\"{o}\" is set by its own spec field or by the image itself; remove it from this list.");
            }
        }
    }

    private static bool IsHttpUrl(string s) =>
        Uri.TryCreate(s, UriKind.Absolute, out var u) && (u.Scheme == Uri.UriSchemeHttp || u.Scheme == Uri.UriSchemeHttps) && !string.IsNullOrEmpty(u.Host);

    private static bool IsCidr(string s)
    {
        var parts = s.Split('/');
        return parts.Length == 2 && IPAddress.TryParse(parts[0], out var ip)
            && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var len)
            && len >= 0 && len <= (ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 32 : 128);
    }

    private static string Show(string? s) => s is null ? "nothing" : $"\"{s}\"";

    [GeneratedRegex(@"^[a-z0-9][a-z0-9-]{0,39}\z")]
    private static partial Regex NameRe();

    [GeneratedRegex(@"^/dev/[A-Za-z0-9._:/+-]+\z")]
    private static partial Regex DiskRe();

    [GeneratedRegex(@"^\d+\.\d+\.\d+([-+][0-9A-Za-z.-]+)?\z")]
    private static partial Regex VersionRe();

    [GeneratedRegex(@"^[a-z0-9][a-z0-9+.-]+\z")]
    private static partial Regex PackageRe();

    [GeneratedRegex(@"^([0-9]+)([MG])\z")]
    private static partial Regex SizeRe();

    [GeneratedRegex(@"^(com1|com2|vga|dbgp|none)(,(com1|com2|vga|dbgp))*\z")]
    private static partial Regex XenConsoleRe();

    [GeneratedRegex(@"^[0-9]{4,7},[5-8][noems][12]\z")]
    private static partial Regex Com1Re();

    [GeneratedRegex(@"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)\z")]
    private static partial Regex HostnameRe();

    [GeneratedRegex(@"^(hvc0|tty[0-9]+|ttyS[0-9]+(,[0-9]+n8)?)\z")]
    private static partial Regex Dom0ConsoleRe();

    [GeneratedRegex(@"^[a-z][a-z0-9]{0,14}\z")]
    private static partial Regex BridgeRe();

    [GeneratedRegex(@"^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com) [A-Za-z0-9+/=]{16,}( .*)?\z")]
    private static partial Regex SshKeyRe();

    [GeneratedRegex(@"^[A-Za-z0-9*?_.:\[\]-]+\z")]
    private static partial Regex GlobRe();
}
