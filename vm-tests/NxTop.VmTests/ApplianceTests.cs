using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace NxTop.VmTests;

/// <summary>
/// What every boot of the appliance must show, checked over SSH against the build's manifest. Each scenario
/// class below runs these against its own single boot.
/// </summary>
public abstract class ApplianceTests(VmFixture vm, ITestOutputHelper output)
{
    /// <summary>How far dom0's memory in <c>xl list</c> may be from the spec (Xen rounds and reserves a little).</summary>
    private const int Dom0MemToleranceMiB = 8;

    private SshSession Ssh => vm.Ssh;

    /// <summary>The boot under test, for the scenario-specific checks of derived classes.</summary>
    protected VmFixture Vm => vm;

    /// <summary>The test's output, for derived classes.</summary>
    protected ITestOutputHelper Output => output;

    private ImageExpectations Expect => vm.Image.Manifest.Expect;

    [Fact]
    public async Task Boot_reaches_ssh_as_root_with_the_pinned_host_key()
    {
        output.WriteLine(vm.Report());
        var ssh = Ssh;

        Assert.True(HostKeyFingerprint.AreEqual(vm.Image.HostKeyFingerprint, ssh.HostKeyFingerprint));
        Assert.Equal("0", (await ssh.RunAsync("id -u")).Stdout.Trim());
    }

    [Fact]
    public async Task No_systemd_unit_has_failed()
    {
        var failed = (await Ssh.RunAsync("systemctl --failed --no-legend --plain")).Stdout.Trim();
        if (failed.Length == 0)
        {
            return;
        }

        var report = new StringBuilder();
        report.AppendLine(CultureInfo.InvariantCulture, $"Failed units (system state '{vm.SystemState}'):").AppendLine(failed);
        foreach (var unit in failed.Split('\n').Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[0]))
        {
            var status = await Ssh.TryRunAsync($"systemctl status --no-pager --lines=15 {ShellQuote.Quote(unit)}");
            report.AppendLine(CultureInfo.InvariantCulture, $"--- {unit} ---").AppendLine(status.Stdout.TrimEnd());
        }

        Assert.Fail(report.ToString());
    }

    [Fact]
    public async Task Xl_info_reports_the_expected_xen_version()
    {
        var info = await XlInfoAsync();

        Assert.Equal(Expect.XenMajorMinor, $"{info["xen_major"]}.{info["xen_minor"]}");
        Assert.Equal("4", info["xen_major"]);
        Assert.Equal("17", info["xen_minor"]);
    }

    [Fact]
    public async Task Xl_list_shows_domain0()
    {
        var list = (await Ssh.RunAsync("xl list")).Stdout;

        var dom0 = XlOutput.ParseList(list).SingleOrDefault(d => d.Id == 0);
        Assert.True(dom0 is not null, $"No domain 0 in xl list:\n{list}");
        Assert.Equal("Domain-0", dom0.Name);
    }

    [Fact]
    public async Task Dom0_memory_and_vcpus_match_the_spec()
    {
        var list = (await Ssh.RunAsync("xl list")).Stdout;
        var dom0 = XlOutput.ParseList(list).Single(d => d.Name == "Domain-0");

        Assert.True(Math.Abs(dom0.MemMiB - Expect.Dom0MemMiB) <= Dom0MemToleranceMiB,
            $"dom0 has {dom0.MemMiB} MiB, the spec says {Expect.Dom0MemMiB} MiB (±{Dom0MemToleranceMiB}):\n{list}");
        Assert.True(dom0.Vcpus == Expect.Dom0MaxVcpus, $"dom0 has {dom0.Vcpus} vCPUs, the spec says {Expect.Dom0MaxVcpus}:\n{list}");
    }

    [Fact]
    public async Task Agent_is_active_and_reports_healthy_with_xen_4()
    {
        var active = await Ssh.TryRunAsync("systemctl is-active nxtop-agent.service");
        if (active.Stdout.Trim() != "active")
        {
            var status = await Ssh.TryRunAsync("systemctl status --no-pager --lines=30 nxtop-agent.service");
            Assert.Fail($"nxtop-agent.service is '{active.Stdout.Trim()}' {active.Stderr.Trim()}\n{status.Stdout}{status.Stderr}");
        }

        // nxtopctl exits 0 only when healthy (1 unhealthy, 2 agent unreachable). The agent probes xl info when it
        // starts and then every 30 s; under TCG the first probe may still be running when SSH answers, so poll.
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var reply = await Ssh.TryRunAsync("nxtopctl status --json");
            if (reply.Succeeded)
            {
                using var doc = JsonDocument.Parse(reply.Stdout);
                Assert.True(Bool(doc.RootElement, "healthy") == true, $"nxtopctl exited 0 but does not say healthy:true:\n{reply.Stdout}");
                var xen = Property(doc.RootElement, "xen");
                Assert.True(xen is { ValueKind: JsonValueKind.Object }, $"healthy without xen facts:\n{reply.Stdout}");
                Assert.Equal(4, Property(xen.Value, "xenMajor")?.GetInt32());
                vm.RecordAgentHealthy();
                return;
            }

            if (clock.Elapsed > TimeSpan.FromSeconds(120))
            {
                throw new RemoteCommandException(reply); // exit status, stdout and stderr of the last try
            }

            await Task.Delay(TimeSpan.FromSeconds(3));
        }
    }

    [Fact]
    public async Task Dom0_kernel_command_line_matches_the_spec()
    {
        var actual = XlOutput.NormalizeWhitespace((await Ssh.RunAsync("cat /proc/cmdline")).Stdout);
        var expected = XlOutput.NormalizeWhitespace(Expect.Dom0CommandLine);

        Assert.True(actual == expected || actual.Contains(expected, StringComparison.Ordinal),
            $"/proc/cmdline does not hold the spec's dom0 command line.\n  expected: {expected}\n  actual:   {actual}");
    }

    [Fact]
    public async Task Xen_command_line_matches_the_spec()
    {
        var info = await XlInfoAsync();

        Assert.Equal(XlOutput.NormalizeWhitespace(Expect.XenCommandLine), XlOutput.NormalizeWhitespace(info["xen_commandline"]));
    }

    [Fact]
    public async Task Hostname_matches_the_spec()
    {
        Assert.Equal(Expect.Hostname, (await Ssh.RunAsync("hostname")).Stdout.Trim());
    }

    [Fact]
    public async Task Password_login_is_refused()
    {
        var effective = (await Ssh.RunAsync("sshd -T")).Stdout;
        var setting = effective.Split('\n').Select(l => l.Trim())
            .FirstOrDefault(l => l.StartsWith("passwordauthentication ", StringComparison.OrdinalIgnoreCase));
        Assert.Equal("passwordauthentication no", setting);

        // And from the outside: the server must not even offer the password method.
        var attempt = await PasswordLogin.TryAsync("127.0.0.1", vm.SshPort, ApplianceImage.LoginUser, "nxtop-not-the-password",
            vm.Image.HostKeyFingerprint);
        Assert.True(attempt.Outcome == PasswordLoginOutcome.NotOffered, $"password login: {attempt.Outcome} ({attempt.Detail})");
    }

    private async Task<IReadOnlyDictionary<string, string>> XlInfoAsync()
    {
        var text = (await Ssh.RunAsync("xl info")).Stdout;
        var info = XlOutput.ParseInfo(text);
        foreach (var key in new[] { "xen_major", "xen_minor", "xen_commandline" })
        {
            Assert.True(info.ContainsKey(key), $"xl info has no {key}:\n{text}");
        }

        return info;
    }

    private static JsonElement? Property(JsonElement element, string name)
    {
        foreach (var p in element.EnumerateObject())
        {
            if (string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase))
            {
                return p.Value;
            }
        }

        return null;
    }

    private static bool? Bool(JsonElement element, string name) =>
        Property(element, name) is { ValueKind: JsonValueKind.True or JsonValueKind.False } v ? v.GetBoolean() : null;
}

[Collection(nameof(Scenario.IsoBios))]
[Trait("Category", "Smoke")]
[TestCaseOrderer(DeclarationOrderer.TypeName, DeclarationOrderer.AssemblyName)]
public sealed class IsoBiosTests(IsoBiosFixture vm, ITestOutputHelper output) : ApplianceTests(vm, output);

[Collection(nameof(Scenario.IsoUefi))]
[Trait("Category", "Smoke")]
[TestCaseOrderer(DeclarationOrderer.TypeName, DeclarationOrderer.AssemblyName)]
public sealed class IsoUefiTests(IsoUefiFixture vm, ITestOutputHelper output) : ApplianceTests(vm, output);

[Collection(nameof(Scenario.IsoUsbUefi))]
[Trait("Category", "Nightly")]
[TestCaseOrderer(DeclarationOrderer.TypeName, DeclarationOrderer.AssemblyName)]
public sealed class IsoUsbUefiTests(IsoUsbUefiFixture vm, ITestOutputHelper output) : ApplianceTests(vm, output);

/// <summary>What a network boot must show besides the common checks: the root image came over HTTP.</summary>
public abstract class NetworkBootTests(VmFixture vm, ITestOutputHelper output) : ApplianceTests(vm, output)
{
    [Fact]
    public async Task The_root_image_was_fetched_over_http_and_is_the_live_medium()
    {
        var cmdline = (await Vm.Ssh.RunAsync("cat /proc/cmdline")).Stdout.Trim();
        Assert.Matches(@"(^| )fetch=http://[^ ]*/root\.iso( |$)", cmdline);
        Assert.Contains(Vm.HttpRequests, r => r.StartsWith($"HTTP GET /{Vm.Image.ImageId}/root.iso ", StringComparison.Ordinal) && r.Contains("-> 200", StringComparison.Ordinal));

        // live-boot loop-mounts the fetched ISO as its medium; both layers come from it.
        var mounts = (await Vm.Ssh.RunAsync("cat /proc/mounts")).Stdout;
        Assert.True(mounts.Contains("/run/live/medium iso9660", StringComparison.Ordinal), $"No iso9660 live medium in /proc/mounts:\n{mounts}");
        Assert.True(mounts.Contains("filesystem.squashfs", StringComparison.Ordinal) || mounts.Contains("squashfs", StringComparison.Ordinal),
            $"No squashfs layer in /proc/mounts:\n{mounts}");
    }
}

[Collection(nameof(Scenario.PxeBios))]
[Trait("Category", "Smoke")]
[TestCaseOrderer(DeclarationOrderer.TypeName, DeclarationOrderer.AssemblyName)]
public sealed class PxeBiosTests(PxeBiosFixture vm, ITestOutputHelper output) : NetworkBootTests(vm, output)
{
    [Fact]
    public void Pxelinux_and_its_modules_came_over_tftp_and_only_the_root_over_http() =>
        Assert.DoesNotContain(Vm.HttpRequests, r => r.Contains("/xen ", StringComparison.Ordinal) || r.Contains("/vmlinuz ", StringComparison.Ordinal));
}

[Collection(nameof(Scenario.PxeUefi))]
[Trait("Category", "Nightly")]
[TestCaseOrderer(DeclarationOrderer.TypeName, DeclarationOrderer.AssemblyName)]
public sealed class PxeUefiTests(PxeUefiFixture vm, ITestOutputHelper output) : NetworkBootTests(vm, output);

[Collection(nameof(Scenario.IpxeHttp))]
[Trait("Category", "Nightly")]
[TestCaseOrderer(DeclarationOrderer.TypeName, DeclarationOrderer.AssemblyName)]
public sealed class IpxeHttpTests(IpxeHttpFixture vm, ITestOutputHelper output) : NetworkBootTests(vm, output)
{
    [Fact]
    public void Xen_the_kernel_and_the_initrd_came_over_http()
    {
        foreach (var file in new[] { "boot.ipxe", "xen", "vmlinuz", "initrd.img" })
        {
            Assert.Contains(Vm.HttpRequests, r => r.StartsWith($"HTTP GET /{Vm.Image.ImageId}/{file} ", StringComparison.Ordinal) && r.Contains("-> 200", StringComparison.Ordinal));
        }
    }
}

/// <summary>
/// dom0 can really run VMs: the build's smoke-test guest (Debian's kernel, a busybox initrd) is copied into dom0,
/// started with <c>xl create -c</c> as a PV and as a PVH guest, prints its marker on its console and powers off.
/// (HVM needs qemu-system-xen in dom0, which the appliance does not carry.)
/// </summary>
public abstract class GuestTests(VmFixture vm, ITestOutputHelper output)
{
    private const string Dom0Dir = "/var/lib/nxtop/smoke-guest";
    private const string Marker = "NXTOP-GUEST-UP";

    [Theory]
    [InlineData("pv")]
    [InlineData("pvh")]
    public async Task A_guest_boots_prints_its_marker_and_is_gone_after_it_powers_off(string type)
    {
        var ssh = vm.Ssh;
        var local = Path.Combine(vm.Image.Directory, "guest");
        await ssh.RunAsync($"mkdir -p {Dom0Dir}");
        foreach (var file in new[] { "vmlinuz", "initrd.img", "smoke-guest.cfg" })
        {
            await ssh.UploadFileAsync(Path.Combine(local, file), $"{Dom0Dir}/{file}");
        }

        var clock = Stopwatch.StartNew();
        var previous = ssh.CommandTimeout;
        ssh.CommandTimeout = TimeSpan.FromMinutes(4);
        CommandResult run;
        try
        {
            // xl create -c attaches the guest console; script gives it the terminal it wants. The guest powers off by
            // itself, which ends the console; timeout bounds a guest that hangs. Extra arguments override the config.
            run = await ssh.TryRunAsync($"timeout 180 script -qfec 'xl create -c {Dom0Dir}/smoke-guest.cfg type=\\\"{type}\\\"' /dev/null");
        }
        finally
        {
            ssh.CommandTimeout = previous;
            await ssh.TryRunAsync("xl destroy nxtop-smoke 2>/dev/null; true");
        }

        output.WriteLine($"{type}: xl create -c took {clock.Elapsed.TotalSeconds:0.0} s, exit {run.ExitStatus}:\n{run.Stdout}\n{run.Stderr}");
        Assert.True(run.Stdout.Contains(Marker, StringComparison.Ordinal),
            $"The {type} guest did not print {Marker} (exit {run.ExitStatus}):\n{run.Stdout}\n{run.Stderr}");
        if (type == "pv")
        {
            vm.RecordGuestBoot(clock.Elapsed.TotalSeconds);
        }
        var list = (await ssh.RunAsync("xl list")).Stdout;
        Assert.DoesNotContain("nxtop-smoke", list, StringComparison.Ordinal);
    }
}

[Collection(nameof(Scenario.IsoBios))]
[Trait("Category", "Smoke")]
public sealed class IsoBiosGuestTests(IsoBiosFixture vm, ITestOutputHelper output) : GuestTests(vm, output);

[Collection(nameof(Scenario.IpxeHttp))]
[Trait("Category", "Nightly")]
public sealed class IpxeHttpGuestTests(IpxeHttpFixture vm, ITestOutputHelper output) : GuestTests(vm, output);
