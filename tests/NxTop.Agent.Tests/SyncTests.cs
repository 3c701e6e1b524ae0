using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using NxTop.Agent.Inventory;
using NxTop.Agent.Lifecycle;
using NxTop.Agent.Storage;
using NxTop.Agent.Sync;
using NxTop.Contracts;

namespace NxTop.Agent.Tests;

public sealed class ReportOutboxTests : IDisposable
{
    private readonly TempDirectory _temp = new();
    private readonly StoreLayout _layout;

    public ReportOutboxTests()
    {
        _layout = new StoreLayout(_temp.Combine("nxtop"));
        _layout.CreateDirectories();
    }

    public void Dispose() => _temp.Dispose();

    private static StatusReport Report(int minute) => new(
        $"r{minute}", "dev-1", "0.1.0", new DateTimeOffset(2026, 11, 24, 12, minute, 0, TimeSpan.Zero),
        new RunningVersions(null, [], null, null), new GuestStatus("desktop", GuestState.Absent, null, null), [], null, null, 1);

    [Fact]
    public async Task Reports_are_sent_oldest_first_and_a_failure_keeps_the_rest()
    {
        var outbox = new ReportOutbox(_layout);
        outbox.Enqueue(Report(3));
        outbox.Enqueue(Report(1));
        outbox.Enqueue(Report(2));
        var sent = new List<string>();

        await Assert.ThrowsAsync<HttpRequestException>(() => outbox.FlushAsync((report, _) =>
        {
            if (report.ReportId == "r2")
            {
                throw new HttpRequestException("link down");
            }

            sent.Add(report.ReportId);
            return Task.CompletedTask;
        }, CancellationToken.None));

        Assert.Equal(["r1"], sent);
        Assert.Equal(["r2", "r3"], outbox.Pending().Select(r => r.ReportId));
        Assert.Equal(2, await outbox.FlushAsync((report, _) => { sent.Add(report.ReportId); return Task.CompletedTask; }, CancellationToken.None));
        Assert.Equal(["r1", "r2", "r3"], sent);
        Assert.Equal(0, outbox.Count);
    }

    [Fact]
    public void The_queue_keeps_only_the_newest_reports()
    {
        var outbox = new ReportOutbox(_layout, maxReports: 3);
        for (var minute = 0; minute < 5; minute++)
        {
            outbox.Enqueue(Report(minute));
        }

        Assert.Equal(["r2", "r3", "r4"], outbox.Pending().Select(r => r.ReportId));
    }
}

public sealed class LockoutPolicyTests
{
    private static readonly DateTimeOffset Contact = new(2026, 11, 1, 8, 0, 0, TimeSpan.Zero);

    [Theory]
    [InlineData(7, 0, false)]
    [InlineData(7, 7 * 24 * 3600 - 1, false)]
    [InlineData(7, 7 * 24 * 3600, true)]
    [InlineData(0, 365 * 24 * 3600, false)]
    public void A_device_is_locked_out_once_the_days_without_contact_are_used_up(int days, int secondsSinceContact, bool lockedOut)
    {
        var policy = new DevicePolicy(ImageMode.Shared, 60, days, LockoutAction.StopGuest);

        var status = LockoutPolicy.Evaluate(policy, Contact, Contact.AddSeconds(secondsSinceContact));

        Assert.Equal(lockedOut, status.LockedOut);
        Assert.Equal(days > 0 ? Contact.AddDays(days) : null, status.LocksAt);
    }

    [Fact]
    public void Without_a_policy_or_a_first_contact_there_is_no_lockout()
    {
        Assert.False(LockoutPolicy.Evaluate(null, Contact, Contact.AddYears(1)).LockedOut);
        Assert.False(LockoutPolicy.Evaluate(new DevicePolicy(ImageMode.Shared, 60, 1, LockoutAction.StopGuest), null, Contact.AddYears(1)).LockedOut);
    }
}

public sealed class SyncTriggerTests
{
    [Fact]
    public async Task The_wait_ends_after_the_interval_on_the_fake_clock_or_at_once_when_requested()
    {
        var time = new FakeTimeProvider();
        var trigger = new SyncTrigger();

        var wait = trigger.WaitAsync(TimeSpan.FromMinutes(5), time, CancellationToken.None);
        await Task.Delay(50);
        Assert.False(wait.IsCompleted);
        time.Advance(TimeSpan.FromMinutes(5));
        await wait.WaitAsync(TimeSpan.FromSeconds(30));

        var second = trigger.WaitAsync(TimeSpan.FromMinutes(5), time, CancellationToken.None);
        trigger.Request();
        await second.WaitAsync(TimeSpan.FromSeconds(30));
    }
}

/// <summary>The sync loop against a Center played by a real HTTP server on 127.0.0.1.</summary>
public sealed class SyncAgentTests : IAsyncLifetime, IDisposable
{
    private const string Token = "one-time-token";
    private const string Credential = "device-secret";

    private readonly EngineRig _rig = new();
    private readonly HttpClient _http = new();
    private readonly List<StatusReport> _reports = [];
    private readonly List<TestRequest> _unauthorized = [];
    private TestHttpServer _center = null!;
    private DesiredState _desired = EngineRig.Desired(1, generation: 1) with { Policy = new DevicePolicy(ImageMode.Shared, 60, 2, LockoutAction.StopGuest) };
    private IReadOnlyList<ManifestBlob> _chain = [];
    private BlobDownloader _downloader = null!;

    public bool Online { get; set; } = true;

    public bool Killed { get; set; }

    public Task InitializeAsync()
    {
        _chain = _rig.PublishBase(2);
        _center = new TestHttpServer(Handle);
        _downloader = new BlobDownloader(_http, _rig.Store, new RetryPolicy(2, TimeSpan.FromMilliseconds(1), TimeSpan.FromMilliseconds(1), TimeSpan.FromSeconds(10)),
            TimeProvider.System, NullLogger<BlobDownloader>.Instance);
        _rig.FetcherOverride = new CenterContentFetcher(Center(), _downloader, new DisconnectedState(_rig.Layout));
        _rig.Reboot();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _center.DisposeAsync();

    public void Dispose()
    {
        _http.Dispose();
        _rig.Dispose();
    }

    private CenterClient Center() => new(_http, _center.BaseUrl);

    private TestResponse Handle(TestRequest request)
    {
        if (!Online)
        {
            return TestResponse.Empty(503);
        }

        if (request.Path == ApiRoutes.Enroll)
        {
            var enrollment = JsonSerializer.Deserialize(request.BodyText, ContractsJsonContext.Default.EnrollmentRequest)!;
            return enrollment.Token == Token
                ? TestResponse.Json(JsonSerializer.Serialize(new EnrollmentResponse("dev-1", Credential), ContractsJsonContext.Default.EnrollmentResponse))
                : TestResponse.Empty(401);
        }

        if (request.Header("Authorization") != $"Bearer {Credential}")
        {
            _unauthorized.Add(request);
            return TestResponse.Empty(401);
        }

        if (request.Path == ApiRoutes.DesiredState("dev-1") && Killed)
        {
            return TestResponse.Json(JsonSerializer.Serialize(
                new NxTop.Contracts.Center.DeviceCommand("kill-1", NxTop.Contracts.Center.DeviceCommandKind.Wipe, DateTimeOffset.UnixEpoch),
                NxTop.Contracts.Center.CenterJsonContext.Default.DeviceCommand), status: 410);
        }

        if (request.Path == ApiRoutes.DesiredState("dev-1"))
        {
            return TestResponse.Json(JsonSerializer.Serialize(_desired, ContractsJsonContext.Default.DesiredState));
        }

        if (request.Path == ApiRoutes.Reports("dev-1"))
        {
            lock (_reports)
            {
                _reports.Add(JsonSerializer.Deserialize(request.BodyText, ContractsJsonContext.Default.StatusReport)!);
            }

            return TestResponse.Empty(204);
        }

        foreach (var ((name, version), envelope) in _rig.Fetcher.Manifests)
        {
            if (request.Path == ApiRoutes.Manifest(name, version))
            {
                return TestResponse.Json(JsonSerializer.Serialize(envelope, ContractsJsonContext.Default.SignedManifest));
            }
        }

        var blob = _chain.FirstOrDefault(b => request.Path == ApiRoutes.Blob(b.Sha256));
        return blob is null ? TestResponse.Empty(404) : TestResponse.Bytes(request, File.ReadAllBytes(_rig.Publisher.BlobPath(blob)));
    }

    private SyncAgent Agent(string? token = Token, string? desiredStateFile = null)
    {
        var config = new AgentConfig(_center.BaseUrl.ToString(), EnrollmentToken: token, StateDirectory: _rig.Layout.Root, DesiredStateFile: desiredStateFile);
        return new SyncAgent(config, Center(), new DisconnectedState(_rig.Layout), new ReportOutbox(_rig.Layout), _rig.Engine, _rig.Guests,
            _rig.History, new InventoryCollector(_rig.Layout.Root), _rig.Time, NullLogger<SyncAgent>.Instance);
    }

    [Fact]
    public async Task It_enrolls_with_the_token_then_syncs_with_the_credential_downloads_over_http_and_reports()
    {
        var agent = Agent();

        await agent.RunOnceAsync(CancellationToken.None);

        var identity = new DisconnectedState(_rig.Layout).LoadIdentity()!;
        Assert.Equal(("dev-1", Credential), (identity.DeviceId, identity.Credential));
        Assert.Empty(_unauthorized);
        Assert.Equal(1, _rig.CurrentBase);
        Assert.Equal(_chain[0].Size, _downloader.BytesReceived);
        var report = Assert.Single(_reports);
        Assert.Equal(new VersionRef("desktop", 1), report.Running.Base);
        Assert.Equal(GuestState.Running, report.Guest.State);
        Assert.True(report.Guest.Healthy);
        Assert.Contains(report.History, e => e.Event == HistoryEvent.Committed);
        Assert.Equal(1, report.DesiredGeneration);
        Assert.True(agent.Last.CenterReachable);
        Assert.Equal(0, new ReportOutbox(_rig.Layout).Count);

        _desired = _desired with { Base = new ContentRef("desktop", 2, ApiRoutes.Manifest("desktop", 2)), Generation = 2 };
        await agent.RunOnceAsync(CancellationToken.None);

        Assert.Equal(2, _rig.CurrentBase);
        Assert.Equal(_chain[0].Size + _chain[1].Size, _downloader.BytesReceived); // the patch cost only its delta
        Assert.Single(_center.Requests, r => r.Path == ApiRoutes.Enroll);

        // Plain bodies with a length, not chunked: a simple test content server must be able to read them.
        Assert.All(_center.Requests.Where(r => r.Method == "POST"), r =>
        {
            Assert.Equal(r.Body.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), r.Header("Content-Length"));
            Assert.StartsWith("application/json", r.Header("Content-Type"), StringComparison.Ordinal);
        });
    }

    [Fact]
    public async Task Without_a_token_or_identity_it_does_not_contact_the_center()
    {
        await Agent(token: null).RunOnceAsync(CancellationToken.None);

        Assert.Empty(_center.Requests);
        Assert.Null(_rig.CurrentBase);
    }

    [Fact]
    public async Task When_the_center_is_away_the_cached_desired_state_holds_and_reports_queue_until_it_returns()
    {
        var agent = Agent();
        await agent.RunOnceAsync(CancellationToken.None);
        Online = false;
        _rig.Guests.Runtime = new GuestRuntime(GuestState.Absent, null); // the guest went down meanwhile

        await agent.RunOnceAsync(CancellationToken.None);
        await agent.RunOnceAsync(CancellationToken.None);

        Assert.False(agent.Last.CenterReachable);
        Assert.Equal(GuestState.Running, _rig.Guests.Runtime.State); // started again from the local cache
        Assert.Equal(1, _rig.CurrentBase);
        Assert.Equal(2, new ReportOutbox(_rig.Layout).Count);
        Assert.Single(_reports);

        Online = true;
        await agent.RunOnceAsync(CancellationToken.None);

        Assert.Equal(4, _reports.Count);
        Assert.True(_reports.Select(r => r.ReportedAt).SequenceEqual(_reports.Select(r => r.ReportedAt).Order()));
        Assert.Equal(0, new ReportOutbox(_rig.Layout).Count);
    }

    [Fact]
    public async Task The_lockout_stops_the_guest_after_the_policy_days_and_lifts_when_the_center_answers()
    {
        var agent = Agent();
        await agent.RunOnceAsync(CancellationToken.None);
        Online = false;

        _rig.Time.Advance(TimeSpan.FromDays(2) - TimeSpan.FromSeconds(1));
        await agent.RunOnceAsync(CancellationToken.None);
        Assert.False(agent.Last.Lockout.LockedOut);
        Assert.Equal(GuestState.Running, _rig.Guests.Runtime.State);

        _rig.Time.Advance(TimeSpan.FromSeconds(1));
        await agent.RunOnceAsync(CancellationToken.None);
        Assert.True(agent.Last.Lockout.LockedOut);
        Assert.Equal(GuestState.Absent, _rig.Guests.Runtime.State);
        Assert.Equal(HistoryEvent.Lockout, _rig.History.Read()[^1].Event);
        Assert.Equal(GuestState.LockedOut, new ReportOutbox(_rig.Layout).Pending()[^1].Guest.State);

        await agent.RunOnceAsync(CancellationToken.None);
        Assert.Equal(GuestState.Absent, _rig.Guests.Runtime.State); // stays down

        Online = true;
        await agent.RunOnceAsync(CancellationToken.None);
        Assert.False(agent.Last.Lockout.LockedOut);
        Assert.Equal(GuestState.Running, _rig.Guests.Runtime.State);
    }

    [Fact]
    public async Task A_pause_lockout_pauses_and_unpauses_the_guest()
    {
        _desired = _desired with { Policy = _desired.Policy with { LockoutAction = LockoutAction.PauseGuest } };
        var agent = Agent();
        await agent.RunOnceAsync(CancellationToken.None);
        Online = false;
        _rig.Time.Advance(TimeSpan.FromDays(3));

        await agent.RunOnceAsync(CancellationToken.None);
        Assert.Equal(GuestState.Paused, _rig.Guests.Runtime.State);

        Online = true;
        await agent.RunOnceAsync(CancellationToken.None);
        Assert.Equal(GuestState.Running, _rig.Guests.Runtime.State);
        Assert.Equal(["pause", "unpause"], _rig.Guests.Actions.Where(a => a is "pause" or "unpause"));
    }

    [Fact]
    public async Task A_device_that_never_reached_the_center_uses_the_local_desired_state_file_and_cached_content()
    {
        Online = false;
        var file = Path.Combine(_rig.Layout.Root, "..", "desired.json");
        File.WriteAllText(file, JsonSerializer.Serialize(_desired, ContractsJsonContext.Default.DesiredState));
        // The install media put the content into the store already.
        var envelope = _rig.Fetcher.Manifests[("desktop", 1)];
        _rig.Store.ImportFile(_rig.Publisher.BlobPath(_chain[0]), _chain[0]);
        _rig.Store.SaveManifest(_rig.Publisher.Verifier().Verify(envelope).Manifest!, envelope);

        await Agent(desiredStateFile: Path.GetFullPath(file)).RunOnceAsync(CancellationToken.None);

        Assert.Equal(1, _rig.CurrentBase);
        Assert.Equal(GuestState.Running, _rig.Guests.Runtime.State);
    }

    [Fact]
    public async Task A_wipe_order_destroys_the_guest_and_deletes_content_disks_state_and_credential()
    {
        var agent = Agent();
        await agent.RunOnceAsync(CancellationToken.None);
        Assert.True(File.Exists(_rig.Layering.OsTop));
        Killed = true;

        await agent.RunOnceAsync(CancellationToken.None);

        Assert.Equal(GuestState.Absent, _rig.Guests.Runtime.State);
        Assert.Equal("stop", _rig.Guests.Actions[^1]);
        Assert.True(File.Exists(_rig.Layout.Wiped));
        Assert.Equal(["wiped.json"], Directory.EnumerateFileSystemEntries(_rig.Layout.Root).Select(Path.GetFileName));
        Assert.Contains("wipe", agent.Last.CenterError, StringComparison.Ordinal);

        // Afterwards the agent stays idle: no calls, no guest.
        var calls = _center.Requests.Count;
        Killed = false;
        await agent.RunOnceAsync(CancellationToken.None);
        await _rig.Engine.EnsureGuestRunningAsync(CancellationToken.None);
        Assert.Equal(calls, _center.Requests.Count);
        Assert.Equal(GuestState.Absent, _rig.Guests.Runtime.State);
    }

    [Fact]
    public async Task The_sync_service_recovers_first_and_stops_when_asked()
    {
        var config = new AgentConfig(_center.BaseUrl.ToString(), PollIntervalSeconds: 3600, EnrollmentToken: Token, StateDirectory: _rig.Layout.Root);
        var trigger = new SyncTrigger();
        var agent = Agent();
        using var service = new SyncService(config, _rig.Engine, agent, trigger, _rig.Time, NullLogger<SyncService>.Instance);

        await service.StartAsync(CancellationToken.None);
        var started = TimeProvider.System.GetTimestamp();
        while (agent.Last.LastSyncAt is null)
        {
            Assert.True(TimeProvider.System.GetElapsedTime(started) < TimeSpan.FromSeconds(60), "the first sync did not finish");
            await Task.Delay(20);
        }

        await service.StopAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.True(service.ExecuteTask!.IsCompletedSuccessfully);
        Assert.Equal(1, _rig.CurrentBase);
    }
}
