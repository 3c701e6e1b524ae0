using NxTop.Center.Cli;
using NxTop.Contracts;
using NxTop.Contracts.Center;

namespace NxTop.Center.Tests;

/// <summary>The fleet simulator runs the agent's own sync client (enroll, poll, Range-resumed download, outbox reports) against a Center.</summary>
public sealed class SimulatorTests : IDisposable
{
    private readonly CenterFactory center = new();

    public void Dispose() => center.Dispose();

    private async Task<SimulationResult> RunAsync(int devices, bool interrupt = true)
    {
        using var admin = center.Admin();
        using var transport = center.Server.CreateHandler();
        using var log = new StringWriter();
        return await new FleetSimulator(admin, transport, center.Server.BaseAddress, log).RunAsync(
            new SimulationOptions(devices, TimeSpan.FromMilliseconds(500), SimulatedRun, 4, InterruptDownloads: interrupt), null, default);
    }

    /// <summary>
    /// How long each simulated fleet runs. 1 s was enough on a quiet machine, but in a clean-clone CI run, with the
    /// other test assemblies sharing the two cores, only 7 of 20 devices got through enrolment and their first
    /// check-in in time; every device must, so the run is long enough for that under load.
    /// </summary>
    private static readonly TimeSpan SimulatedRun = TimeSpan.FromSeconds(6);

    [Fact]
    public async Task Simulated_agents_enroll_poll_download_and_report_without_errors()
    {
        var result = await RunAsync(20);

        Assert.Equal(0, result.Enroll.Errors + result.CheckIn.Errors + result.SteadyCheckIn.Errors + result.Report.Errors + result.Download.Errors);
        Assert.Empty(result.ErrorKinds);
        Assert.Equal(20, result.Enroll.Count);
        Assert.Equal(20, result.Download.Count);
        Assert.Equal(20, result.CheckIn.Count);
        Assert.True(result.SteadyCheckIn.Count >= 1, FleetSimulator.Table(result));
        Assert.True(result.CheckIn.P99Ms >= result.CheckIn.P50Ms);
        Assert.Equal(20, (await center.Store.ListDevicesAsync("simulated", default)).Count(d => d.BaseVersion == "sim-desktop@1"));
        Assert.Contains("| check-in, steady |", FleetSimulator.Table(result), StringComparison.Ordinal);
        var serverCheckIns = Assert.Single(result.Server!.Operations, o => o.Operation == "GetDesiredState");
        Assert.Equal(result.CheckIn.Count + result.SteadyCheckIn.Count, serverCheckIns.Count);
        Assert.Contains("| server: GetDesiredState |", FleetSimulator.Table(result), StringComparison.Ordinal);

        // Every first blob response was cut half way and the agent's downloader resumed it with Range.
        Assert.Equal(20, result.InterruptedDownloads);
        Assert.Equal(20, result.ResumedDownloads);
        Assert.Equal(40, Assert.Single(result.Server.Operations, o => o.Operation == "GetBlob").Count);
        Assert.Equal(20, Assert.Single(result.Server.Operations, o => o.Operation == "GetManifest").Count);
        Assert.Equal(result.Report.Count, Assert.Single(result.Server.Operations, o => o.Operation == "PostReport").Count);
    }

    [Fact]
    public async Task Without_interruptions_each_blob_comes_in_one_request()
    {
        var result = await RunAsync(5, interrupt: false);
        Assert.Equal(5, result.Download.Count);
        Assert.Equal(0, result.InterruptedDownloads + result.ResumedDownloads);
        Assert.Equal(5, Assert.Single(result.Server!.Operations, o => o.Operation == "GetBlob").Count);
    }

    [Fact]
    public async Task A_blob_that_does_not_match_its_manifest_is_refused_by_every_agent()
    {
        var published = await center.PublishAsync(ContentKind.Base, "sim-desktop", "the real content", PublishChannel.Current);
        var sha256 = Assert.Single(published.Blobs).Sha256;
        var path = Path.Combine(center.DataDirectory, "content", "sha256", sha256[..2], sha256);
        await File.WriteAllTextAsync(path, "the fake content");

        var result = await RunAsync(6);

        Assert.Equal(0, result.Download.Count);
        Assert.True(result.Download.Errors >= 6, FleetSimulator.Table(result));
        Assert.True(result.ErrorKinds.ContainsKey("download HashMismatch"), FleetSimulator.Table(result));
        Assert.Equal(0, result.CheckIn.Errors + result.Report.Errors);
    }
}
