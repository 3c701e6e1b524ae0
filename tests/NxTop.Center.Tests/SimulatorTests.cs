using NxTop.Center.Cli;

namespace NxTop.Center.Tests;

public sealed class SimulatorTests : IDisposable
{
    private readonly CenterFactory center = new();

    public void Dispose() => center.Dispose();

    [Fact]
    public async Task Simulated_agents_enroll_poll_download_and_report_without_errors()
    {
        using var admin = center.Admin();
        using var devices = center.CreateClient();
        using var log = new StringWriter();
        var result = await new FleetSimulator(admin, devices, log).RunAsync(
            new SimulationOptions(20, TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(1), 4), null, default);

        Assert.Equal(0, result.Enroll.Errors + result.CheckIn.Errors + result.SteadyCheckIn.Errors + result.Report.Errors + result.Download.Errors);
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
    }
}
