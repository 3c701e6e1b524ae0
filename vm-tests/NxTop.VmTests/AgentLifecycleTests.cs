using System.Globalization;
using System.Text.Json;
using NxTop.Center.Hosting;
using NxTop.Contracts;
using NxTop.Contracts.Center;
using NxTop.Qemu.TestContent;

namespace NxTop.VmTests;

/// <summary>
/// Issue 5 on virtual hardware: the vmtest profile's disk image boots under SeaBIOS, and the agent in dom0, pointed at
/// an in-process Center on the host's 127.0.0.1 (10.0.2.2 from the guest) with <c>nxtopctl enroll</c>, goes through a
/// device's life, one step per test, in this order: enroll; receive the base and the app and run the guest healthy
/// with the app; commit a good patch (downloading only its delta); roll a bad patch back by itself and report it;
/// refuse a corrupted download and an unsigned manifest without applying anything; and, with the Center stopped,
/// start the guest from the cache after a reboot. Then the agent's idle RSS and start time. Every step prints what it
/// saw. The test content (a busybox PV guest: Debian's kernel from the image, modules and busybox copied from dom0)
/// is made on the host by <see cref="TestGuestContent"/>.
/// </summary>
[Collection(nameof(Scenario.AgentDisk))]
[Trait("Category", "Nightly")]
[TestCaseOrderer(DeclarationOrderer.TypeName, DeclarationOrderer.AssemblyName)]
public sealed class AgentLifecycleTests(AgentDiskFixture vm, AgentLifecycle life, ITestOutputHelper output) : IClassFixture<AgentLifecycle>
{
    private static readonly TimeSpan FirstContentDeadline = TimeSpan.FromMinutes(15);
    private static readonly TimeSpan PatchDeadline = TimeSpan.FromMinutes(10);

    private Dom0 Dom0 => new(vm.Ssh);

    /// <summary>Keeps a number for the Bench table (<c>artifacts/vm-logs/AgentDisk.measures.json</c>).</summary>
    private void Record(string name, string value, string aim = "") =>
        Measures.Record(Measures.PathFor(life.Repo.VmLogs, nameof(Scenario.AgentDisk)), new Measure(name, value, aim));

    private CenterHost Center => life.Center ?? throw new InvalidOperationException("The Center is not running: an earlier step failed.");

    private TestGuestSet Content => life.Content ?? throw new InvalidOperationException("No test content: the enrollment step failed.");

    private string DeviceId => life.DeviceId ?? throw new InvalidOperationException("No device: the enrollment step failed.");

    [Fact]
    public async Task Dom0_has_the_qdisk_backend_qemu_img_guest_console_logs_and_the_test_key()
    {
        // SSH can come up before the agent: on a slow TCG boot its start still waited for xen.service (seen once,
        // at 391 s to SSH). Up to 3 minutes for it to be active, then the facts.
        var facts = await Dom0.TryRunAsync(
            "timeout 180 sh -c 'until systemctl is-active -q nxtop-agent; do sleep 2; done'; "
            + "echo \"qemu-img: $(qemu-img --version 2>&1 | head -n 1)\"; "
            + "echo \"qdisk backend: $(pgrep -a -f '^/usr/libexec/xen-qemu-system-i386 .*-xen-domid 0' || echo none)\"; "
            + "echo \"xenconsoled: $(ps -o args= -C xenconsoled)\"; "
            + "echo \"console logs: $(ls -d /var/log/xen/console 2>&1)\"; "
            + "echo \"trusted keys: $(cat /usr/share/nxtop/keys/*.pem | sha256sum)\"; "
            + "echo \"agent: $(systemctl is-active nxtop-agent) $(/usr/lib/nxtop/nxtop-agent --version)\"; "
            + "echo \"memory: $(xl info | grep -E '^(total|free)_memory' | tr -s ' ' | tr '\\n' ' ')\"; "
            + "echo \"failed units: $(systemctl --failed --no-legend --plain | tr '\\n' ' ')\"");
        output.WriteLine(facts.Stdout + facts.Stderr);
        var testKey = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(
            File.ReadAllBytes(Path.Combine(life.Repo.Root, "vm-tests", "keys", "vmtest-publisher.pub.pem"))));
        var lines = facts.Stdout.Split('\n').ToDictionary(l => l.Split(':')[0], l => l, StringComparer.Ordinal);

        Assert.Contains("qemu-img version", lines["qemu-img"], StringComparison.Ordinal);
        Assert.Contains("-xen-domid 0 -xen-attach", lines["qdisk backend"], StringComparison.Ordinal);
        Assert.Matches("--log=(guest|all)", lines["xenconsoled"]);
        Assert.Contains(testKey, lines["trusted keys"], StringComparison.Ordinal);
        Assert.StartsWith("agent: active", lines["agent"], StringComparison.Ordinal);
        Assert.Equal("failed units:", lines["failed units"].Trim());
    }

    [Fact]
    public async Task The_agent_enrolls_with_the_center()
    {
        life.Content = await BuildContentAsync();
        var center = await life.StartCenterAsync();
        output.WriteLine($"Center {center.Url} (the guest: {center.UrlForQemuGuest}), data {life.CenterDirectory}");
        var set = life.Content;
        await center.PublishAsync(ContentKind.Base, TestGuestSet.BaseName,
            [
                new HostedBlob(set.BaseV1.Path, BlobRole.Disk, MediaTypes.Qcow2),
                new HostedBlob(set.Kernel.Path, BlobRole.Kernel, MediaTypes.Binary),
                new HostedBlob(set.Initrd.Path, BlobRole.Ramdisk, MediaTypes.Binary),
            ],
            PublishChannel.Current, patchOf: null, kernelCommandLine: TestGuestScripts.KernelCommandLine);
        await center.PublishAppAsync(TestGuestSet.AppName, set.App.Path, MediaTypes.Qcow2);
        await center.PutGroupAsync(AgentLifecycle.Group);
        await center.AssignGroupAsync(AgentLifecycle.Group, TestGuestSet.BaseName, [new AppAssignment(TestGuestSet.AppName, null)], AgentLifecycle.Policy);
        var token = await center.CreateEnrollmentTokenAsync(AgentLifecycle.Group);

        var enroll = await Dom0.RunAsync(
            $"nxtopctl enroll --center {ShellQuote.Quote(center.UrlForQemuGuest.ToString())} --token {ShellQuote.Quote(token)} && systemctl restart nxtop-agent");
        output.WriteLine(enroll.Trim());
        var device = await Poll.UntilAsync("the device enrolled", TimeSpan.FromMinutes(3), async () =>
        {
            var devices = await center.ListDevicesAsync();
            return (devices.Count == 1, devices.Count > 0 ? devices[0] : null, $"{devices.Count} devices: {string.Join(", ", devices.Select(d => $"{d.Id} {d.Name} group={d.Group}"))}");
        }, output);

        life.DeviceId = device!.Id;
        Assert.Equal(AgentLifecycle.Group, device.Group);
        var status = (await Dom0.TryRunAsync("nxtopctl status --json")).Stdout;
        output.WriteLine($"nxtopctl status: {status.Trim()}");
        Assert.Contains($"\"centerUrl\":\"{center.UrlForQemuGuest}\"", status, StringComparison.Ordinal);
        Assert.Contains(device.Id, await Dom0.RunAsync("cat /var/lib/nxtop/state/identity.json"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_base_and_the_app_arrive_and_the_guest_runs_healthy_with_the_app()
    {
        _ = DeviceId;
        await Dom0.SyncNowAsync();
        await WaitForCommittedAsync(1, FirstContentDeadline);

        var console = await Dom0.ConsoleAsync();
        output.WriteLine($"guest console:{Poll.Lines(console, "NXTOP")}");
        Assert.Contains($"{TestGuestScripts.GuestMarker} base=desktop version=1 ", console, StringComparison.Ordinal);
        Assert.Contains($"{TestGuestScripts.AppMarker} name={TestGuestSet.AppName} version=1", console, StringComparison.Ordinal);
        Assert.Contains($"{TestGuestScripts.AppUpMarker} name={TestGuestSet.AppName} version=1", console, StringComparison.Ordinal);
        Assert.Contains($"{TestGuestScripts.HealthMarker}ok", console, StringComparison.Ordinal);

        var xl = await Dom0.RunAsync("xl list desktop; xl block-list desktop; cat /var/lib/nxtop/guests/desktop/guest.cfg");
        output.WriteLine(xl);
        Assert.Contains("vdev=xvdb, access=rw, backendtype=qdisk, target=/var/lib/nxtop/guests/desktop/app-0.qcow2", xl, StringComparison.Ordinal);
        // xl's watcher and the guest's qdisk device model (not dom0's own, -xen-domid 0) live in the guest's own
        // scope, not in the agent's cgroup. The [x] keeps this shell's own command line from matching.
        var cgroups = await Dom0.RunAsync("for p in $(pgrep -f '[x]l create|[x]en-domid [1-9]'); do echo \"$p $(tr '\\0' ' ' < /proc/$p/cmdline | cut -c1-60): $(cat /proc/$p/cgroup)\"; done");
        output.WriteLine($"guest processes:\n{cgroups}");
        var guestProcesses = cgroups.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains(guestProcesses, l => l.Contains("xl create", StringComparison.Ordinal));
        Assert.Contains(guestProcesses, l => l.Contains("xen-qemu-system", StringComparison.Ordinal));
        Assert.All(guestProcesses, l => Assert.Matches("/nxtop-guests\\.slice/nxtop-guest-desktop-[0-9a-f]{12}\\.scope$", l));
        var blobs = await Dom0.BlobsAsync();
        output.WriteLine($"store: {blobs.Count} blobs, {blobs.Values.Sum()} bytes: {string.Join(", ", blobs.Select(b => $"{b.Key[..12]} {b.Value} B"))}");
        Assert.Equal(new[] { Content.BaseV1.Sha256, Content.Kernel.Sha256, Content.Initrd.Sha256, Content.App.Sha256 }.Order(), blobs.Keys.Order());
        Record("agent: first download (PV kernel, initrd, base v1 qcow2, app layer)", string.Create(CultureInfo.InvariantCulture, $"{blobs.Values.Sum():N0} B"));
        await WaitForCenterReportAsync("reports desktop/1 committed and healthy",
            r => r.Running.Base?.Version == 1 && r.Running.LastKnownGoodBase?.Version == 1 && r.Guest.Healthy == true);
    }

    [Fact]
    public async Task A_good_patch_downloads_only_its_delta_and_is_committed()
    {
        var before = await Dom0.BlobsAsync();
        var published = await Center.PublishPatchAsync(TestGuestSet.BaseName, Content.PatchV2.Path, of: 1);
        output.WriteLine($"published {published.Name}/{published.Version}: {string.Join(" <- ", published.Blobs.Where(b => b.Role == BlobRole.Disk).Select(b => b.Sha256[..12]))}");
        await Dom0.SyncNowAsync();
        await WaitForCommittedAsync(2, PatchDeadline);

        var after = await Dom0.BlobsAsync();
        var fetched = after.Keys.Except(before.Keys).ToList();
        var image = Content.BaseV1.Size + Content.PatchV2.Size;
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"patch v2 downloaded {fetched.Count} blob(s), {fetched.Sum(f => after[f])} bytes; the whole image (v1 qcow2 + delta) is {image} bytes "
            + $"({100.0 * Content.PatchV2.Size / image:0.00} %), its file system {TestGuestContent.RootBytes} bytes"));
        Assert.Equal([Content.PatchV2.Sha256], fetched);
        Record("agent: bytes downloaded for a patch changing one 4 KiB block", string.Create(CultureInfo.InvariantCulture,
            $"{fetched.Sum(f => after[f]):N0} B = {100.0 * fetched.Sum(f => after[f]) / image:0.00} % of the whole image ({image:N0} B)"), "a delta, not the image");
        var console = await Dom0.ConsoleAsync();
        output.WriteLine($"guest console:{Poll.Lines(console, "NXTOP_GUEST", "NXTOP_HEALTH")}");
        Assert.Contains($"{TestGuestScripts.GuestMarker} base=desktop version=2 ", console, StringComparison.Ordinal);
        await WaitForCenterReportAsync("reports desktop/2 committed", r => r.Running.Base?.Version == 2 && r.Running.LastKnownGoodBase?.Version == 2);
    }

    [Fact]
    public async Task A_bad_patch_is_rolled_back_automatically_and_the_rollback_is_reported()
    {
        await Dom0.StartConsoleClockAsync();
        var since = await Dom0.NowAsync();
        var published = await Center.PublishPatchAsync(TestGuestSet.BaseName, Content.PatchV3.Path, of: 2);
        output.WriteLine($"published {published.Name}/{published.Version} (its guest never reports health; deadline {AgentLifecycle.HealthDeadlineSeconds} s)");
        await Dom0.SyncNowAsync();

        var rolledBack = await Poll.UntilAsync("the agent rolled desktop/3 back", PatchDeadline + TimeSpan.FromSeconds(AgentLifecycle.HealthDeadlineSeconds), async () =>
        {
            var history = await Dom0.HistoryAsync();
            var entry = history.LastOrDefault(h => h.GetProperty("event").GetString() == "rolledBack" && h.GetProperty("version").GetInt64() == 3);
            return (entry.ValueKind == JsonValueKind.Object, entry, string.Join(" | ", history.TakeLast(4).Select(h => h.ToString())));
        }, output);
        output.WriteLine($"history: {rolledBack}");
        var versions = await WaitForCommittedAsync(2, TimeSpan.FromMinutes(3));
        Assert.Contains(versions.GetProperty("failed").EnumerateArray(), f => f.GetProperty("name").GetString() == "desktop" && f.GetProperty("version").GetInt64() == 3);

        // The time from the failed health check to the previous version running, all on dom0's clock.
        // Polled: the domain exists (so the wait above ends) a moment before xl create returns and the agent logs it.
        var (failed, restarted) = await Poll.UntilAsync("the journal shows the failed check and the restart of desktop/2", TimeSpan.FromMinutes(2), async () =>
        {
            var journal = await Dom0.AgentJournalAsync(since);
            var failedLine = journal.FirstOrDefault(j => j.Message.Contains("Health check of desktop/3", StringComparison.Ordinal));
            var restartLine = journal.FirstOrDefault(j => failedLine.Message is not null && j.At >= failedLine.At
                && j.Message.Contains("Started guest desktop on desktop/2", StringComparison.Ordinal));
            return (failedLine.Message is not null && restartLine.Message is not null, (failedLine, restartLine),
                string.Join("\n  ", journal.Select(j => j.Message).Where(m => !m.Contains("vif-bridge", StringComparison.Ordinal))));
        }, output);
        var timed = await Poll.UntilAsync("desktop/2 reported healthy again", TimeSpan.FromMinutes(3), async () =>
        {
            var lines = (await Dom0.RunAsync($"cat {Dom0.TimedConsoleLog}")).Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Select(l => (At: double.Parse(l[..l.IndexOf(' ', StringComparison.Ordinal)], CultureInfo.InvariantCulture), Line: l[(l.IndexOf(' ', StringComparison.Ordinal) + 1)..]))
                .Where(l => l.At >= failed.At).ToList();
            var healthy = lines.FirstOrDefault(l => l.Line.Contains($"{TestGuestScripts.HealthMarker}ok", StringComparison.Ordinal));
            return (healthy.Line is not null, (Booted: lines.FirstOrDefault(l => l.Line.Contains("version=2", StringComparison.Ordinal)).At, Healthy: healthy.At),
                $"{lines.Count} console lines since the failure");
        }, output);
        var console = await Dom0.ConsoleAsync();
        output.WriteLine($"guest console:{Poll.Lines(console, "NXTOP_GUEST", "NXTOP_HEALTH")}");
        Assert.Contains($"{TestGuestScripts.SilentMarker} version=3", console, StringComparison.Ordinal);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"failed health check -> previous version's domain created: {restarted.At - failed.At:0.0} s; -> its init ran: {timed.Booted - failed.At:0.0} s; "
            + $"-> it reported healthy: {timed.Healthy - failed.At:0.0} s (aim: running within 60 s under TCG)\n  {failed.Message}\n  {restarted.Message}"));
        Record("agent: failed health check → previous version's guest created (TCG)", string.Create(CultureInfo.InvariantCulture, $"{restarted.At - failed.At:0.0} s"), "≤ 60 s");
        Record("agent: failed health check → previous version's guest healthy again (TCG)", string.Create(CultureInfo.InvariantCulture, $"{timed.Healthy - failed.At:0.0} s"));
        Assert.True(restarted.At - failed.At <= 60, $"The previous version ran {restarted.At - failed.At:0.0} s after the failed health check (aim: 60 s).");

        var report = await WaitForCenterReportAsync("received the rollback in a report", r => r.History.Any(h => h.Event == HistoryEvent.RolledBack && h.Version == 3));
        output.WriteLine($"Center: last error '{report.LastError}'");
        var detail = await Center.GetDeviceAsync(DeviceId);
        output.WriteLine($"Center device history: {string.Join(" | ", detail.History.TakeLast(5).Select(h => $"{h.At:HH:mm:ss} {h.Event} {h.Name}/{h.Version} {h.Detail}"))}");
    }

    [Fact]
    public async Task A_corrupted_download_is_refused_and_nothing_is_applied()
    {
        var domain = await Dom0.DomainIdAsync();
        var published = await Center.PublishPatchAsync(TestGuestSet.BaseName, Content.PatchV4.Path, of: 2);
        var stored = life.StoredBlobPath(Content.PatchV4.Sha256);
        File.SetUnixFileMode(stored, File.GetUnixFileMode(stored) | UnixFileMode.UserWrite);
        await using (var file = new FileStream(stored, FileMode.Open, FileAccess.ReadWrite))
        {
            // Flip the bytes of one cluster in the middle; the size stays, the sha256 does not.
            file.Position = file.Length / 2;
            var bytes = new byte[64];
            await file.ReadExactlyAsync(bytes);
            for (var i = 0; i < bytes.Length; i++)
            {
                bytes[i] ^= 0xff;
            }

            file.Position = file.Length / 2;
            await file.WriteAsync(bytes);
        }

        output.WriteLine($"published {published.Name}/{published.Version} and flipped 64 bytes at the middle of the Center's copy of {Content.PatchV4.Sha256[..12]} ({stored})");
        await Dom0.SyncNowAsync();
        var refused = await WaitForHistoryAsync("refused", 4, TimeSpan.FromMinutes(5));
        output.WriteLine($"history: {refused}");
        Assert.Contains(Content.PatchV4.Sha256, refused.GetProperty("reason").GetString(), StringComparison.Ordinal);

        await AssertNothingAppliedAsync(domain, Content.PatchV4.Sha256, 4);
    }

    [Fact]
    public async Task An_unsigned_manifest_is_refused_and_nothing_is_applied()
    {
        var domain = await Dom0.DomainIdAsync();
        var version = await life.PublishUnsignedBaseAsync(await life.BlobsOfAsync(TestGuestSet.BaseName, 2), 5);
        output.WriteLine($"published desktop/{version} with an unsigned manifest (desktop/2's blobs) as current");
        await Dom0.SyncNowAsync();
        var refused = await WaitForHistoryAsync("refused", version, TimeSpan.FromMinutes(5));
        output.WriteLine($"history: {refused}");
        Assert.Contains("sign", refused.GetProperty("reason").GetString(), StringComparison.OrdinalIgnoreCase);

        await AssertNothingAppliedAsync(domain, null, version);
        Assert.DoesNotContain("5.json", await Dom0.RunAsync("ls /var/lib/nxtop/manifests/desktop/"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task With_the_center_stopped_the_guest_starts_from_the_cache_after_a_reboot()
    {
        _ = DeviceId;
        // Emptied, so that every line after the reboot is new even if the log outlived it.
        await Dom0.RunAsync($": > {Dom0.ConsoleLog}");
        await life.StopCenterAsync();
        output.WriteLine("Center stopped");
        var machineId = (await Dom0.RunAsync("cat /etc/machine-id")).Trim();
        var took = await vm.RebootAsync();
        output.WriteLine($"dom0 rebooted: SSH again after {took.TotalSeconds:0} s");

        var console = await Poll.UntilAsync("the guest runs desktop/2 from the cache", TimeSpan.FromMinutes(10), async () =>
        {
            var fresh = await Dom0.ConsoleAsync();
            var domain = await Dom0.DomainIdAsync();
            var healthy = fresh.Contains($"{TestGuestScripts.GuestMarker} base=desktop version=2 ", StringComparison.Ordinal)
                && fresh.Contains($"{TestGuestScripts.HealthMarker}ok", StringComparison.Ordinal);
            return (domain is not null && healthy, fresh, $"domain {domain?.ToString(CultureInfo.InvariantCulture) ?? "none"};{Poll.Lines(fresh, "NXTOP")}");
        }, output);

        var versions = await Dom0.VersionsAsync();
        output.WriteLine($"versions: {versions}");
        Assert.Equal("desktop/2", Dom0.Ref(versions.GetProperty("base")));
        var status = await Dom0.TryRunAsync("nxtopctl status --json");
        output.WriteLine($"nxtopctl status: {status.Stdout.Trim()}");
        using var doc = JsonDocument.Parse(status.Stdout);
        Assert.False(doc.RootElement.GetProperty("lifecycle").GetProperty("centerReachable").GetBoolean());
        var journal = await Dom0.RunAsync("journalctl -b -u nxtop-agent --no-pager | grep -E 'unreachable|Started guest|Recovered' | tail -n 5");
        output.WriteLine(journal);
        Assert.Contains("The Center is unreachable", journal, StringComparison.Ordinal);
        Assert.Contains("version=2", console, StringComparison.Ordinal);
        // The device keeps its machine id (nxtop-data restores it from the data partition), so the previous boot's
        // journal is there: it shows that the shutdown gave the guest its clean stop (nxtop-guest-stop.service),
        // instead of xendomains waiting for a guest whose watcher the agent's stop had killed.
        Assert.Equal(machineId, (await Dom0.RunAsync("cat /etc/machine-id")).Trim());
        var guestStop = await Dom0.RunAsync("journalctl -b -1 --no-pager -o cat -u nxtop-guest-stop.service | grep 'stop-guest' | tail -n 3; true");
        output.WriteLine($"nxtop-guest-stop at the reboot: {guestStop.Trim()}");
        Assert.Contains("nxtop-agent stop-guest: guest desktop (domain ", guestStop, StringComparison.Ordinal);
        Record("dom0 reboot with the guest running, reboot → SSH again", string.Create(CultureInfo.InvariantCulture, $"{took.TotalSeconds:0} s"));
    }

    [Fact]
    public async Task The_agent_idles_within_40_MB_and_its_start_time_is_reported()
    {
        var facts = await Dom0.RunAsync(
            "pid=$(systemctl show -p MainPID --value nxtop-agent); grep -E '^(VmRSS|VmHWM)' /proc/$pid/status; "
            + "systemctl show nxtop-agent -p ExecMainStartTimestampMonotonic -p ActiveEnterTimestampMonotonic; "
            + "systemd-analyze blame --no-pager | grep -E 'nxtop-agent|xen.service'; nxtop-agent --version 2>/dev/null || /usr/lib/nxtop/nxtop-agent --version");
        output.WriteLine(facts);
        var values = facts.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Split([':', '='], 2))
            .Where(p => p.Length == 2)
            .GroupBy(p => p[0].Trim(), StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.First()[1].Trim(), StringComparer.Ordinal);
        var rssKiB = long.Parse(values["VmRSS"].Split(' ', StringSplitOptions.RemoveEmptyEntries)[0], CultureInfo.InvariantCulture);
        var startSeconds = (long.Parse(values["ActiveEnterTimestampMonotonic"], CultureInfo.InvariantCulture)
            - long.Parse(values["ExecMainStartTimestampMonotonic"], CultureInfo.InvariantCulture)) / 1e6;
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"agent idle RSS {rssKiB / 1024.0:0.0} MiB (peak {values["VmHWM"]}); start (exec to READY=1, Center unreachable, guest started from the cache): {startSeconds:0.00} s"));
        Record("agent: idle RSS (VmRSS)", string.Create(CultureInfo.InvariantCulture, $"{rssKiB / 1024.0:0.0} MiB"), "≤ 40 MB");
        Record("agent: start, exec → READY=1 (Center unreachable, guest from the cache)", string.Create(CultureInfo.InvariantCulture, $"{startSeconds:0.00} s"));
        Assert.True(rssKiB <= 40 * 1024, $"The agent's idle RSS is {rssKiB} KiB (aim: 40 MB).");
    }

    [Fact]
    public async Task Restarting_the_agent_leaves_the_guest_and_its_disks_running()
    {
        var before = await Dom0.DomainIdAsync();
        Assert.NotNull(before);
        var backend = $"pgrep -f 'xen-domid {before}( |$)'";
        var dm = (await Dom0.RunAsync(backend)).Trim();
        Assert.NotEqual("", dm);

        var since = (await Dom0.RunAsync("date +%s")).Trim();
        await Dom0.RunAsync("systemctl restart nxtop-agent");
        // A sync after the restart has reconciled: a guest that had gone with the agent would have been started again.
        var facts = await Poll.UntilAsync("the restarted agent has synced once", TimeSpan.FromMinutes(3), async () =>
        {
            var status = await Dom0.TryRunAsync("nxtopctl status --json");
            var synced = false;
            if (status.ExitStatus is 0 or 1 && status.Stdout.TrimStart().StartsWith('{'))
            {
                using var doc = JsonDocument.Parse(status.Stdout);
                synced = doc.RootElement.TryGetProperty("lifecycle", out var lifecycle) && lifecycle.ValueKind == JsonValueKind.Object
                    && lifecycle.GetProperty("lastSyncAt").ValueKind == JsonValueKind.String;
            }

            return (synced, status.Stdout, $"exit {status.ExitStatus}");
        }, output);
        output.WriteLine($"status after the restart: {facts.Trim()}");

        Assert.Equal(before, await Dom0.DomainIdAsync());
        Assert.Equal(dm, (await Dom0.RunAsync($"{backend}; true")).Trim());
        var journal = await Dom0.RunAsync($"journalctl -u nxtop-agent --no-pager -o cat --since @{since} | grep -E 'Started guest|stopped|starting'; true");
        output.WriteLine(journal);
        Assert.Contains("nxtop-agent stopped", journal, StringComparison.Ordinal);
        Assert.Contains("starting, pid", journal, StringComparison.Ordinal);
        Assert.DoesNotContain("Started guest", journal, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_power_cut_while_a_patch_is_health_checked_comes_back_on_the_old_version_then_the_patch_commits()
    {
        await life.RestartCenterAsync();
        output.WriteLine($"Center restarted on its data at {Center.Url}");
        await PowerCutDuringPatchAsync("guest-started", "switched", version: 6, over: 2, runningAfter: 2, mayRetry: true);
        await WaitForCommittedAsync(6, PatchDeadline);
    }

    [Fact]
    public async Task A_power_cut_while_a_patch_is_committed_comes_back_on_the_new_version()
    {
        await PowerCutDuringPatchAsync("committing", "committing", version: 7, over: 6, runningAfter: 7);
        await WaitForCommittedAsync(7, TimeSpan.FromMinutes(3));
    }

    [Fact]
    public async Task A_power_cut_while_a_bad_patch_is_rolled_back_comes_back_on_the_old_version_with_the_patch_marked_failed()
    {
        await PowerCutDuringPatchAsync("rolling-back", "rollingBack", version: 8, over: 7, runningAfter: 7);
        var versions = await WaitForCommittedAsync(7, TimeSpan.FromMinutes(3));
        Assert.Contains(versions.GetProperty("failed").EnumerateArray(), f => f.GetProperty("name").GetString() == "desktop" && f.GetProperty("version").GetInt64() == 8);
    }

    [Fact]
    public async Task A_disk_that_fills_up_during_a_download_gives_a_clear_error_and_the_old_version_keeps_running()
    {
        var domain = await Dom0.DomainIdAsync();
        // Everything free on the data partition, root's reserved blocks included (the agent is root), but 20 KiB:
        // room for the small state files the agent rewrites, not for the 40 KiB patch. ext4 keeps reserved_clusters
        // (up to 16 MiB) that even root cannot fallocate, so they are left out; and one fallocate of all but 20 KiB
        // can still need an extent block more, so: all but 1 MiB, then a second file of all but 20 KiB, 4 KiB less
        // at each refusal.
        const string Fill = "/var/lib/nxtop/vmtest-fill";
        try
        {
            var fill = await Dom0.RunAsync(
                "d=/var/lib/nxtop; resv=$(cat /sys/fs/ext4/$(basename \"$(findmnt -no SOURCE $d)\")/reserved_clusters) && "
                + "free() { echo $(( $(stat -f -c '%f * %S' $d) - resv * $(stat -f -c '%S' $d) )); } && "
                + $"fallocate -l $(( $(free) - 1048576 )) {Fill}.1 && sync && n=$(( $(free) - 20480 )) && i=0 && "
                + $"while ! fallocate -l $n {Fill}.2 2>/dev/null; do rm -f {Fill}.2; n=$((n - 4096)); i=$((i + 1)); [ $n -gt 0 ] && [ $i -lt 64 ] || exit 1; done; "
                + "sync; echo $(free)");
            var freeBytes = long.Parse(fill.Trim(), CultureInfo.InvariantCulture);
            output.WriteLine($"filled the data partition: {freeBytes} bytes free");
            Assert.True(freeBytes < Content.PatchV9.Size, $"The fill left {freeBytes} bytes free, room for the {Content.PatchV9.Size}-byte patch.");

            var published = await Center.PublishPatchAsync(TestGuestSet.BaseName, Content.PatchV9.Path, of: 7);
            Assert.Equal(9, published.Version);
            await Dom0.SyncNowAsync();
            var error = await Poll.UntilAsync("the agent reports the full disk", PatchDeadline, async () =>
            {
                var status = await Dom0.TryRunAsync("nxtopctl status --json");
                using var doc = JsonDocument.Parse(status.Stdout);
                var lastError = doc.RootElement.GetProperty("lifecycle").GetProperty("lastError").GetString() ?? "";
                return (lastError.Contains("disk full", StringComparison.Ordinal), lastError, $"last error '{lastError}'");
            }, output);
            output.WriteLine($"status: {error}");
            Assert.Contains(Content.PatchV9.Sha256, error, StringComparison.Ordinal);
            Assert.Matches("desktop/7 .*keeps running", error);
            // The journal lives on the same full partition, so journald may have stopped writing: printed, not asserted.
            output.WriteLine((await Dom0.TryRunAsync("journalctl -b -u nxtop-agent --no-pager | grep -F 'disk full' | tail -n 2")).Stdout);

            var versions = await Dom0.VersionsAsync();
            Assert.Equal("desktop/7", Dom0.Ref(versions.GetProperty("base")));
            Assert.Equal(JsonValueKind.Null, versions.GetProperty("transaction").ValueKind);
            Assert.Equal(domain, await Dom0.DomainIdAsync());
            Assert.DoesNotContain(Content.PatchV9.Sha256, (await Dom0.BlobsAsync()).Keys);
        }
        finally
        {
            await Dom0.RunAsync($"rm -f {Fill}.1 {Fill}.2");
        }

        // With room again, the next sync fetches and commits the patch.
        await Dom0.SyncNowAsync();
        await WaitForCommittedAsync(9, PatchDeadline);
        var verify = await Dom0.TryRunAsync("nxtopctl verify");
        output.WriteLine($"nxtopctl verify (exit {verify.ExitStatus}): {verify.Stdout.Trim()}");
        Assert.Equal(0, verify.ExitStatus);
    }

    /// <summary>
    /// Arms the agent's power-cut hook at <paramref name="step"/> (a drop-in under /run, so the next boot runs without
    /// it), publishes desktop/<paramref name="version"/> as a patch of <paramref name="over"/>, waits until the agent
    /// holds right after that step, cuts the power, and checks the next boot: the agent recovered the transaction from
    /// <paramref name="phase"/> to desktop/<paramref name="runningAfter"/>, the first guest to start runs that version
    /// and reports healthy, and the store verifies. With <paramref name="mayRetry"/> (the recovery went back to the old
    /// version of a patch that had not failed), the agent may instead apply the patch again at once, in a new
    /// transaction with its own health check, so the first guest may be the patch's.
    /// </summary>
    private async Task PowerCutDuringPatchAsync(string step, string phase, int version, int over, int runningAfter, bool mayRetry = false)
    {
        await Dom0.RunAsync(
            "mkdir -p /run/systemd/system/nxtop-agent.service.d && "
            + $"printf '[Service]\nEnvironment=NXTOP_AGENT_HOLD_AT={step}\n' > /run/systemd/system/nxtop-agent.service.d/power-cut.conf && "
            + "systemctl daemon-reload && systemctl restart nxtop-agent && nxtopctl status >/dev/null");
        var since = await Dom0.NowAsync();
        var published = await Center.PublishPatchAsync(TestGuestSet.BaseName, Content.Top(version).Path, of: over);
        Assert.Equal(version, published.Version);
        output.WriteLine($"published desktop/{version} over desktop/{over}; the agent holds after step '{step}'");
        await Dom0.SyncNowAsync();
        await Poll.UntilAsync($"the agent holds after '{step}'", PatchDeadline + TimeSpan.FromSeconds(AgentLifecycle.HealthDeadlineSeconds), async () =>
        {
            var journal = await Dom0.AgentJournalAsync(since);
            var held = journal.Any(j => j.Message.Contains($"Holding after step '{step}'", StringComparison.Ordinal));
            return (held, held, string.Join(" | ", journal.TakeLast(3).Select(j => j.Message)));
        }, output);
        var before = await Dom0.VersionsAsync();
        output.WriteLine($"at the cut: {before}");
        Assert.Equal(phase, before.GetProperty("transaction").GetProperty("phase").GetString());

        var took = await vm.PowerCutAsync();
        output.WriteLine($"power cut; dom0 back (SSH) after {took.TotalSeconds:0} s");
        Record($"dom0: power cut at '{step}' → SSH again", string.Create(CultureInfo.InvariantCulture, $"{took.TotalSeconds:0.0} s"));
        Assert.Contains("inactive", (await Dom0.TryRunAsync("test -e /run/systemd/system/nxtop-agent.service.d/power-cut.conf && echo armed || echo inactive")).Stdout, StringComparison.Ordinal);

        var recovered = await Poll.UntilAsync($"the agent recovered the transaction cut at '{phase}'", TimeSpan.FromMinutes(5), async () =>
        {
            var journal = await Dom0.RunAsync("journalctl -b -u nxtop-agent --no-pager -o cat | grep -E 'Recovered transaction' | tail -n 1");
            return (journal.Contains($"interrupted at '{phase}'", StringComparison.Ordinal), journal.Trim(), journal.Trim());
        }, output);
        output.WriteLine(recovered);
        Assert.Contains($"back on desktop/{runningAfter} ", recovered, StringComparison.Ordinal);
        var history = await Dom0.HistoryAsync();
        Assert.Contains(history, h => h.GetProperty("event").GetString() == "recovered" && h.GetProperty("version").GetInt64() == version);

        // The first guest of the new boot runs the version the recovery chose, or (mayRetry) the patch applied again.
        // Either way it must report healthy: never a mixture, never nothing.
        var guestLine = $"{TestGuestScripts.GuestMarker} base=";
        var markers = await Poll.UntilAsync("a guest after the cut reports its health", TimeSpan.FromMinutes(5), async () =>
        {
            var lines = (await Dom0.ConsoleAsync()).Split('\n')
                .Where(l => l.Contains(guestLine, StringComparison.Ordinal) || l.Contains(TestGuestScripts.HealthMarker, StringComparison.Ordinal)).ToList();
            var healthy = lines.Count > 0 && lines[0].Contains(guestLine, StringComparison.Ordinal)
                && lines.Skip(1).Any(l => l.Contains($"{TestGuestScripts.HealthMarker}ok", StringComparison.Ordinal));
            return (healthy, lines, $"{lines.Count} marker lines: {string.Join(" | ", lines)}");
        }, output);
        output.WriteLine($"guest console after the cut: {string.Join(" | ", markers)}");
        if (mayRetry && markers[0].Contains($"{guestLine}desktop version={version} ", StringComparison.Ordinal))
        {
            // The patch was applied again after the recovery: a new transaction, recorded after the recovery.
            var afterRecovery = (await Dom0.HistoryAsync()).SkipWhile(h => h.GetProperty("event").GetString() != "recovered").ToList();
            output.WriteLine($"history after the recovery: {string.Join(" | ", afterRecovery.Select(h => h.ToString()))}");
            Assert.Contains(afterRecovery, h => h.GetProperty("event").GetString() == "applied" && h.GetProperty("version").GetInt64() == version);
        }
        else
        {
            Assert.Contains($"{guestLine}desktop version={runningAfter} ", markers[0], StringComparison.Ordinal);
        }

        var verify = await Dom0.TryRunAsync("nxtopctl verify");
        output.WriteLine($"nxtopctl verify (exit {verify.ExitStatus}): {verify.Stdout.Trim()}");
        Assert.Equal(0, verify.ExitStatus);
    }

    /// <summary>Kernel from the image, busybox and the modules from dom0: the guest runs what the appliance ships.</summary>
    private async Task<TestGuestSet> BuildContentAsync()
    {
        var release = (await Dom0.RunAsync("uname -r")).Trim();
        var root = Path.Combine(life.ContentDirectory + ".sysroot");
        if (Directory.Exists(root))
        {
            Directory.Delete(root, recursive: true);
        }

        foreach (var file in TestGuestScripts.BusyboxFiles.Select(f => f.Source)
            .Concat(TestGuestScripts.Modules.Select(m => $"lib/modules/{release}/{m}")))
        {
            var local = Path.Combine(root, file);
            Directory.CreateDirectory(Path.GetDirectoryName(local)!);
            await vm.Ssh.DownloadFileAsync("/" + file, local);
        }

        var kernel = Path.Combine(vm.Image.Directory, "guest", "vmlinuz");
        var set = await new TestGuestContent(output.WriteLine).BuildAsync(new TestGuestInputs(kernel, release, root), life.ContentDirectory);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"kernel {release}; base v1 {set.BaseV1.Size} B; patch v2 {set.PatchV2.Size} B; patch v3 {set.PatchV3.Size} B; app {set.App.Size} B"));
        return set;
    }

    /// <summary>Waits until dom0 runs and has committed desktop/<paramref name="version"/> with no transaction in flight.</summary>
    private async Task<JsonElement> WaitForCommittedAsync(long version, TimeSpan deadline) =>
        await Poll.UntilAsync($"desktop/{version} runs and is last-known-good", deadline, async () =>
        {
            var versions = await Dom0.VersionsAsync();
            var domain = await Dom0.DomainIdAsync();
            var done = Dom0.Ref(versions.GetProperty("base")) == $"desktop/{version}"
                && Dom0.Ref(versions.GetProperty("lastKnownGood")) == $"desktop/{version}"
                && versions.GetProperty("transaction").ValueKind == JsonValueKind.Null
                && domain is not null;
            var history = await Dom0.HistoryAsync();
            return (done, versions, $"domain {domain?.ToString(CultureInfo.InvariantCulture) ?? "none"}; versions {versions}; history: "
                + string.Join(" | ", history.TakeLast(3).Select(h => $"{h.GetProperty("event").GetString()} {h.GetProperty("name").GetString()}/{h.GetProperty("version").GetInt64()}: {h.GetProperty("reason")}")));
        }, output);

    private Task<JsonElement> WaitForHistoryAsync(string kind, long version, TimeSpan deadline) =>
        Poll.UntilAsync($"a '{kind}' record for desktop/{version}", deadline, async () =>
        {
            var history = await Dom0.HistoryAsync();
            var entry = history.LastOrDefault(h => h.GetProperty("event").GetString() == kind && h.GetProperty("version").GetInt64() == version);
            return (entry.ValueKind == JsonValueKind.Object, entry, string.Join(" | ", history.TakeLast(3).Select(h => h.ToString())));
        }, output);

    private Task<StatusReport> WaitForCenterReportAsync(string what, Func<StatusReport, bool> done) =>
        Poll.UntilAsync($"the Center {what}", TimeSpan.FromMinutes(3), async () =>
        {
            var report = (await Center.GetDeviceAsync(DeviceId)).LastReport;
            return (report is not null && done(report), report!, report is null ? "no report yet"
                : $"base {report.Running.Base?.Name}/{report.Running.Base?.Version}, last-known-good {report.Running.LastKnownGoodBase?.Version}, guest {report.Guest.State} healthy={report.Guest.Healthy}, last error '{report.LastError}'");
        }, output);

    /// <summary>desktop/2 still runs in the same domain, the refused content is not in the store, and the store verifies.</summary>
    private async Task AssertNothingAppliedAsync(int? domainBefore, string? refusedBlob, long refusedVersion)
    {
        var versions = await Dom0.VersionsAsync();
        var domain = await Dom0.DomainIdAsync();
        var blobs = await Dom0.BlobsAsync();
        var partial = await Dom0.RunAsync("ls -A /var/lib/nxtop/blobs/partial/");
        var verify = await Dom0.TryRunAsync("nxtopctl verify");
        output.WriteLine($"after refusing desktop/{refusedVersion}: base {Dom0.Ref(versions.GetProperty("base"))}, domain {domainBefore} -> {domain}, "
            + $"{blobs.Count} blobs, partial [{partial.Trim()}]; nxtopctl verify (exit {verify.ExitStatus}): {verify.Stdout.Trim()}");

        Assert.Equal("desktop/2", Dom0.Ref(versions.GetProperty("base")));
        Assert.Equal("desktop/2", Dom0.Ref(versions.GetProperty("lastKnownGood")));
        Assert.Equal(domainBefore, domain);
        if (refusedBlob is not null)
        {
            Assert.DoesNotContain(refusedBlob, blobs.Keys);
        }

        Assert.Equal("", partial.Trim());
        Assert.Equal(0, verify.ExitStatus);
    }
}
