using System.Text.Json;
using Microsoft.Extensions.Time.Testing;

namespace NxTop.Agent.Tests;

public sealed class AgentStatusTests
{
    private static readonly DateTimeOffset Start = new(2026, 11, 24, 16, 0, 0, TimeSpan.Zero);

    private static readonly AgentConfig Config = new("https://center.example.net", PollIntervalSeconds: 120);

    private readonly FakeTimeProvider _time = new(Start);
    private readonly XenProbeState _probes = new();
    private readonly AgentStatusReporter _reporter;

    public AgentStatusTests() =>
        _reporter = new AgentStatusReporter(Config, new AgentInstance("0.1.0", 4242, Start), _probes, _time);

    private XenFacts ProbeNow() => XlInfo.ParseFacts(TestFiles.XlInfoSample, _time.GetUtcNow());

    private static JsonElement ToJson(AgentStatus status) =>
        JsonDocument.Parse(JsonSerializer.Serialize(status, AgentJson.Context.AgentStatus)).RootElement;

    [Fact]
    public void Before_the_first_probe_the_agent_is_unhealthy_and_has_no_xen()
    {
        var status = _reporter.Current();

        Assert.False(status.Healthy);
        Assert.Equal("xl info has not run yet", status.Reason);
        Assert.Null(status.Xen);
        Assert.Equal(JsonValueKind.Null, ToJson(status).GetProperty("xen").ValueKind);
    }

    [Fact]
    public void A_fresh_probe_is_healthy_and_the_JSON_has_the_contract_shape()
    {
        _probes.RecordSuccess(ProbeNow());
        _time.Advance(TimeSpan.FromSeconds(12.5));

        var json = ToJson(_reporter.Current());

        Assert.Equal(
            ["healthy", "reason", "agentVersion", "pid", "startedAt", "uptimeSeconds", "centerUrl", "pollIntervalSeconds", "xen", "lifecycle"],
            json.EnumerateObject().Select(p => p.Name));
        Assert.True(json.GetProperty("healthy").GetBoolean());
        Assert.Equal(JsonValueKind.Null, json.GetProperty("reason").ValueKind);
        Assert.Equal("0.1.0", json.GetProperty("agentVersion").GetString());
        Assert.Equal(4242, json.GetProperty("pid").GetInt32());
        Assert.Equal(Start, json.GetProperty("startedAt").GetDateTimeOffset());
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$", json.GetProperty("startedAt").GetString());
        Assert.Equal(12.5, json.GetProperty("uptimeSeconds").GetDouble());
        Assert.Equal("https://center.example.net", json.GetProperty("centerUrl").GetString());
        Assert.Equal(120, json.GetProperty("pollIntervalSeconds").GetInt32());

        var xen = json.GetProperty("xen");
        Assert.Equal(
            ["xenVersion", "xenMajor", "xenMinor", "totalMemoryMiB", "freeMemoryMiB", "nrCpus", "xenCommandline", "virtCaps", "probedAt"],
            xen.EnumerateObject().Select(p => p.Name));
        Assert.Equal("4.17.5-pre", xen.GetProperty("xenVersion").GetString());
        Assert.Equal(4, xen.GetProperty("xenMajor").GetInt32());
        Assert.Equal(17, xen.GetProperty("xenMinor").GetInt32());
        Assert.Equal(32613, xen.GetProperty("totalMemoryMiB").GetInt64());
        Assert.Equal(27211, xen.GetProperty("freeMemoryMiB").GetInt64());
        Assert.Equal(8, xen.GetProperty("nrCpus").GetInt32());
        Assert.StartsWith("placeholder dom0_mem=4096M,max:4096M", xen.GetProperty("xenCommandline").GetString(), StringComparison.Ordinal);
        Assert.StartsWith("pv hvm ", xen.GetProperty("virtCaps").GetString(), StringComparison.Ordinal);
        Assert.Equal(Start, xen.GetProperty("probedAt").GetDateTimeOffset());
    }

    [Fact]
    public void A_probe_stays_good_for_just_under_two_probe_periods()
    {
        _probes.RecordSuccess(ProbeNow());

        _time.Advance(TimeSpan.FromSeconds(60) - TimeSpan.FromTicks(1));
        Assert.True(_reporter.Current().Healthy);

        _time.Advance(TimeSpan.FromTicks(1));
        var stale = _reporter.Current();
        Assert.False(stale.Healthy);
        Assert.Equal("the last xl info probe is 60 s old (limit 60 s)", stale.Reason);
        Assert.NotNull(stale.Xen);
    }

    [Fact]
    public void A_failed_probe_is_unhealthy_with_its_reason_and_keeps_the_last_facts()
    {
        _probes.RecordSuccess(ProbeNow());
        _time.Advance(TimeSpan.FromSeconds(30));
        _probes.RecordFailure("'xl info' exited with code 1: libxl: error: cannot open /dev/xen/privcmd", _time.GetUtcNow());

        var status = _reporter.Current();

        Assert.False(status.Healthy);
        Assert.Equal("xl info failed: 'xl info' exited with code 1: libxl: error: cannot open /dev/xen/privcmd", status.Reason);
        Assert.Equal(Start, status.Xen?.ProbedAt);
    }

    [Fact]
    public void A_successful_probe_after_a_failure_is_healthy_again()
    {
        _probes.RecordFailure("timeout", _time.GetUtcNow());
        _time.Advance(TimeSpan.FromSeconds(30));
        _probes.RecordSuccess(ProbeNow());

        var status = _reporter.Current();

        Assert.True(status.Healthy);
        Assert.Null(status.Reason);
        Assert.Equal(Start.AddSeconds(30), status.Xen?.ProbedAt);
    }

    [Fact]
    public void Uptime_counts_from_the_start()
    {
        _time.Advance(TimeSpan.FromHours(2) + TimeSpan.FromMilliseconds(1234));

        Assert.Equal(7201.234, _reporter.Current().UptimeSeconds);
    }

    [Fact]
    public void The_control_protocol_answers_status_and_rejects_the_rest()
    {
        using var server = new ControlSocketServer(Config, _reporter, _time, Microsoft.Extensions.Logging.Abstractions.NullLogger<ControlSocketServer>.Instance);
        _probes.RecordSuccess(ProbeNow());

        var status = JsonDocument.Parse(server.Respond("status\r\n")).RootElement;
        Assert.True(status.GetProperty("healthy").GetBoolean());

        Assert.Equal("""{"error":"unknown command 'reboot'"}""", server.Respond("reboot\n"));
        Assert.Equal("""{"error":"unknown command 'say \"hi\"'"}""", server.Respond("say \"hi\""));
        Assert.Equal("""{"error":"unknown command ''"}""", server.Respond(""));
    }

    [Fact]
    public void The_human_readable_status_names_health_version_and_xen()
    {
        _probes.RecordSuccess(ProbeNow());
        _time.Advance(TimeSpan.FromSeconds(3725));
        _probes.RecordFailure("boom", _time.GetUtcNow());

        var text = CtlCommand.Format(_reporter.Current());

        Assert.Equal(
            """
            health:         UNHEALTHY: xl info failed: boom
            agent:          nxtop-agent 0.1.0, pid 4242
            started:        2026-11-24 16:00:00 UTC (up 1h 2m 5s)
            center:         https://center.example.net
            poll interval:  120 s
            xen:            4.17.5-pre (4.17)
            memory:         27211 MiB free of 32613 MiB
            cpus:           8
            virt caps:      pv hvm hvm_directio pv_directio hap shadow iommu_hap_pt_share vmtrace gnttab-v1 gnttab-v2
            xen cmdline:    placeholder dom0_mem=4096M,max:4096M dom0_max_vcpus=2 dom0_vcpus_pin console=com1,vga com1=115200,8n1 loglvl=all guest_loglvl=all no-real-mode edd=off
            probed:         2026-11-24 16:00:00 UTC
            """,
            text);
    }

    [Theory]
    [InlineData("0.1.0+4f2c9e1d", "0.1.0")]
    [InlineData("0.1.0", "0.1.0")]
    [InlineData("1.2.3-beta.1+sha.abc", "1.2.3-beta.1")]
    public void The_version_drops_build_metadata(string informational, string expected) =>
        Assert.Equal(expected, AgentVersion.StripBuildMetadata(informational));
}
