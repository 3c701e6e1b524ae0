using System.Globalization;
using System.Text.Json;
using NxTop.Center.Storage;
using NxTop.Contracts;

namespace NxTop.Center.Fleet;

/// <summary>Checks a status report and reduces it to what the Center keeps on the device.</summary>
public static class ReportIntake
{
    public const int MaxReportIdLength = 128;
    public const int MaxHistoryEntries = 1000;

    /// <summary>Null when the report is acceptable, else the reason it is not.</summary>
    public static string? Validate(StatusReport report, string deviceId)
    {
        ArgumentNullException.ThrowIfNull(report);
        if (string.IsNullOrWhiteSpace(report.ReportId) || report.ReportId.Length > MaxReportIdLength)
        {
            return $"reportId must be 1-{MaxReportIdLength} characters";
        }

        if (!string.Equals(report.DeviceId, deviceId, StringComparison.Ordinal))
        {
            return $"the report names device '{report.DeviceId}', not '{deviceId}'";
        }

        if (report.History.Count > MaxHistoryEntries)
        {
            return $"at most {MaxHistoryEntries} history entries per report";
        }

        return null;
    }

    public static ReportSummary Summarise(StatusReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var baseVersion = report.Running.Base is { } running ? string.Create(CultureInfo.InvariantCulture, $"{running.Name}@{running.Version}") : null;
        var health = report.Guest.State switch
        {
            GuestState.LockedOut => "lockedOut",
            _ when report.Guest.Healthy is true => "healthy",
            _ when report.Guest.Healthy is false => "unhealthy",
            var state => "guest " + Wire(state),
        };
        var inventory = report.Inventory is null ? null : JsonSerializer.Serialize(report.Inventory, ContractsJsonContext.Default.HardwareInventory);
        var events = report.History.Select(h => new DeviceEvent(
            h.At.ToUnixTimeMilliseconds(),
            Wire(h.Event),
            h.Name,
            h.Version,
            Detail(h))).ToList();
        return new ReportSummary(baseVersion, health, inventory, events);
    }

    private static string? Detail(HistoryEntry entry) => (entry.FromVersion, entry.Reason) switch
    {
        (null, null) => null,
        ({ } from, null) => string.Create(CultureInfo.InvariantCulture, $"from {from}"),
        (null, { } reason) => reason,
        ({ } from, { } reason) => string.Create(CultureInfo.InvariantCulture, $"from {from}: {reason}"),
    };

    private static string Wire(HistoryEvent value) => JsonSerializer.Serialize(value, ContractsJsonContext.Default.HistoryEvent).Trim('"');

    private static string Wire(GuestState value) => JsonSerializer.Serialize(value, ContractsJsonContext.Default.GuestState).Trim('"');
}
