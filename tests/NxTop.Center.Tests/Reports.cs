using NxTop.Contracts;

namespace NxTop.Center.Tests;

internal static class Reports
{
    public static StatusReport Healthy(string deviceId, string reportId, string baseName, long version, params HistoryEntry[] history) => new(
        reportId,
        deviceId,
        "0.1.0",
        DateTimeOffset.UnixEpoch.AddDays(20000),
        new RunningVersions(new VersionRef(baseName, version), [], new VersionRef(baseName, version), ImageMode.Shared),
        new GuestStatus("desktop", GuestState.Running, 1, true),
        history,
        null,
        null,
        1);
}
