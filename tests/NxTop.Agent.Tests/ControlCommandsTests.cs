using System.Text.Json;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using NxTop.Agent.Inventory;
using NxTop.Agent.Lifecycle;
using NxTop.Agent.Sync;
using NxTop.Contracts;

namespace NxTop.Agent.Tests;

public sealed class ControlCommandsTests : IDisposable
{
    private readonly EngineRig _rig = new();
    private readonly SyncTrigger _trigger = new();
    private readonly ControlCommands _commands;

    public ControlCommandsTests()
    {
        var config = new AgentConfig("http://127.0.0.1:9", StateDirectory: _rig.Layout.Root);
        using var http = new HttpClient();
        var sync = new SyncAgent(config, new CenterClient(http, new Uri(config.CenterUrl)), new DisconnectedState(_rig.Layout), new ReportOutbox(_rig.Layout),
            _rig.Engine, _rig.Guests, _rig.History, new InventoryCollector(_rig.Layout.Root), _rig.Time, NullLogger<SyncAgent>.Instance);
        _commands = new ControlCommands(_rig.Store, _rig.Engine, _rig.History, _trigger, sync, new DisconnectedState(_rig.Layout), NullLogger<ControlCommands>.Instance);
    }

    public void Dispose() => _rig.Dispose();

    private async Task InstallTwoVersions()
    {
        _rig.PublishBase(2);
        await _rig.Engine.ReconcileAsync(EngineRig.Desired(1, mode: ImageMode.Custom), CancellationToken.None);
        await _rig.Engine.ReconcileAsync(EngineRig.Desired(2, generation: 4, mode: ImageMode.Custom), CancellationToken.None);
    }

    [Fact]
    public async Task Versions_names_the_running_last_good_and_previous_versions()
    {
        await InstallTwoVersions();

        var reply = JsonDocument.Parse(_commands.Versions()).RootElement;

        Assert.Equal("desktop", reply.GetProperty("base").GetProperty("name").GetString());
        Assert.Equal(2, reply.GetProperty("base").GetProperty("version").GetInt64());
        Assert.Equal("custom", reply.GetProperty("imageMode").GetString());
        Assert.Equal(2, reply.GetProperty("lastKnownGood").GetProperty("version").GetInt64());
        Assert.Equal(1, reply.GetProperty("previous").GetProperty("version").GetInt64());
        Assert.Equal(4, reply.GetProperty("appliedGeneration").GetInt64());
        Assert.Equal(JsonValueKind.Null, reply.GetProperty("transaction").ValueKind);

        var text = CtlCommand.FormatLifecycle("versions", reply);
        Assert.Contains("base:           desktop/2\n", text, StringComparison.Ordinal);
        Assert.Contains("previous:       desktop/1\n", text, StringComparison.Ordinal);
        Assert.Contains("image mode:     custom\n", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task History_lists_the_events_with_camel_case_names_and_formats_one_a_line()
    {
        await InstallTwoVersions();

        var reply = JsonDocument.Parse(_commands.History()).RootElement;

        Assert.Equal(["staged", "applied", "committed", "staged", "applied", "committed"],
            reply.EnumerateArray().Select(e => e.GetProperty("event").GetString()));
        var lines = CtlCommand.FormatLifecycle("history", reply).Split('\n');
        Assert.Equal(6, lines.Length);
        Assert.Matches(@"^2026-11-24 12:00:00 UTC  committed   desktop/2 \(from 1\)  the guest reported ok; desktop/2 \(custom\) is last-known-good$", lines[^1]);
    }

    [Fact]
    public async Task Rollback_now_starts_in_the_background_and_lands_in_the_history()
    {
        await InstallTwoVersions();

        var ack = JsonDocument.Parse(_commands.RollbackNow()).RootElement;
        await _commands.RollbackCompletion.WaitAsync(TimeSpan.FromSeconds(60));

        Assert.True(ack.GetProperty("accepted").GetBoolean());
        Assert.Equal(1, _rig.CurrentBase);
        Assert.Contains(_rig.History.Read(), e => e.Event == HistoryEvent.RolledBack);
    }

    [Fact]
    public async Task Verify_hashes_the_store_and_names_a_corrupt_blob()
    {
        await InstallTwoVersions();
        var ok = JsonDocument.Parse(_commands.Verify()).RootElement;
        Assert.True(ok.GetProperty("consistent").GetBoolean());
        Assert.Equal(2, ok.GetProperty("blobs").GetInt32());

        var blob = _rig.State.LoadInstalled().Current!.BaseTop.Sha256;
        var path = _rig.Layout.Blob(blob);
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        using (var stream = new FileStream(path, FileMode.Open, FileAccess.Write))
        {
            stream.Seek(-1, SeekOrigin.End);
            stream.WriteByte(0x5a);
        }

        var bad = JsonDocument.Parse(_commands.Verify()).RootElement;
        Assert.False(bad.GetProperty("consistent").GetBoolean());
        Assert.Contains($"problem:        blob {blob} is corrupt", CtlCommand.FormatLifecycle("verify", bad), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Sync_now_wakes_the_sync_loop()
    {
        var wait = _trigger.WaitAsync(TimeSpan.FromHours(1), new FakeTimeProvider(), CancellationToken.None);

        var ack = JsonDocument.Parse(_commands.SyncNow()).RootElement;

        Assert.True(ack.GetProperty("accepted").GetBoolean());
        await wait.WaitAsync(TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task The_status_carries_the_lifecycle_and_ctl_prints_it()
    {
        await InstallTwoVersions();

        var life = _commands.Status();

        Assert.Equal("desktop/2 (custom)", life.Running);
        Assert.False(life.LockedOut);
        var status = new AgentStatus(true, null, "0.1.0", 1, DateTimeOffset.UnixEpoch, 1, "https://c", 300, null, life);
        var text = CtlCommand.Format(status);
        Assert.Contains("running:        desktop/2 (custom)\n", text, StringComparison.Ordinal);
        Assert.Contains("center link:    unreachable, never contacted\n", text, StringComparison.Ordinal);
    }
}

/// <summary>The new ctl commands through the real host and socket.</summary>
[Collection(ScriptTests.Name)]
public sealed class CtlLifecycleEndToEndTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    private static async Task<(int ExitCode, string Stdout, string Stderr)> Ctl(params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var exitCode = await AgentCli.RunAsync(["ctl", .. args], stdout, stderr, TimeProvider.System, CancellationToken.None);
        return (exitCode, stdout.ToString(), stderr.ToString());
    }

    [Fact]
    public async Task Versions_history_sync_now_and_rollback_now_answer_over_the_socket()
    {
        var socket = _temp.Combine("run", "agent.sock");
        var config = new AgentConfig("http://127.0.0.1:9", 60, socket, _temp.Combine("state"), _temp.WriteFakeXl(),
            TrustedKeysDirectory: _temp.Combine("keys"), InventoryRoot: _temp.Path);
        var builder = AgentHost.CreateBuilder(TimeProvider.System);
        builder.Services.AddAgent(config, TimeProvider.System);
        using var host = builder.Build();
        await host.StartAsync();
        try
        {
            var versions = await Ctl("versions", "--socket", socket);
            Assert.Equal((0, ""), (versions.ExitCode, versions.Stderr));
            Assert.Contains("base:           none\n", versions.Stdout, StringComparison.Ordinal);

            var history = await Ctl("history", "--socket", socket, "--json");
            Assert.Equal((0, "[]\n"), (history.ExitCode, history.Stdout));

            var verify = await Ctl("verify", "--socket", socket);
            Assert.Equal((0, "store:          consistent\nblobs:          0\n"), (verify.ExitCode, verify.Stdout));

            var sync = await Ctl("sync-now", "--socket", socket);
            Assert.Equal((0, "sync requested\n"), (sync.ExitCode, sync.Stdout));

            var rollback = await Ctl("rollback-now", "--socket", socket);
            Assert.Equal(0, rollback.ExitCode);
            Assert.StartsWith("rollback started", rollback.Stdout, StringComparison.Ordinal);

            var status = JsonDocument.Parse((await Ctl("status", "--socket", socket, "--json")).Stdout).RootElement;
            Assert.Equal(JsonValueKind.Object, status.GetProperty("lifecycle").ValueKind);
            Assert.Equal(JsonValueKind.Null, status.GetProperty("lifecycle").GetProperty("running").ValueKind);

            var unknown = await Ctl("reboot", "--socket", socket);
            Assert.Equal(64, unknown.ExitCode);
        }
        finally
        {
            await host.StopAsync();
        }
    }
}
