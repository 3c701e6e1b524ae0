using System.Text.Json.Serialization;

namespace NxTop.Contracts;

/// <summary>POST <see cref="ApiRoutes.Enroll"/>: a one-time token (from the spec or the install answer file) and what the device is.</summary>
public sealed record EnrollmentRequest(string Token, string Hostname, HardwareInventory Inventory);

/// <summary>The per-device identity; <see cref="Credential"/> is sent as a Bearer token on every later call.</summary>
public sealed record EnrollmentResponse(string DeviceId, string Credential);

/// <summary>What the Center wants this device to run.</summary>
/// <param name="Generation">
/// Bumped by the Center whenever it re-issues the desired state. A version that failed its health
/// check is not retried until the generation moves past the one it failed under.
/// </param>
public sealed record DesiredState(
    string DeviceId,
    ContentRef Base,
    IReadOnlyList<ContentRef> Apps,
    DevicePolicy Policy,
    DateTimeOffset IssuedAt,
    long Generation);

/// <summary>A published version and where its signed manifest is (absolute, or relative to the Center's URL).</summary>
public sealed record ContentRef(string Name, long Version, string ManifestUrl);

public enum ImageMode
{
    /// <summary>The OS differencing disk is discarded at every guest shutdown; base patches apply automatically.</summary>
    [JsonStringEnumMemberName("shared")] Shared,

    /// <summary>The user's differencing disk persists, also across patches (rebased onto the new base).</summary>
    [JsonStringEnumMemberName("custom")] Custom,
}

public enum LockoutAction
{
    /// <summary>Only report (log and status) that the device is locked out.</summary>
    [JsonStringEnumMemberName("none")] None,

    /// <summary>Shut the guest down and keep it down until the Center is reached again.</summary>
    [JsonStringEnumMemberName("stopGuest")] StopGuest,

    /// <summary>Pause the guest (xl pause) until the Center is reached again.</summary>
    [JsonStringEnumMemberName("pauseGuest")] PauseGuest,
}

/// <param name="LockoutDays">Days without contact with the Center before <see cref="LockoutAction"/>; 0 disables the lockout.</param>
public sealed record DevicePolicy(
    ImageMode ImageMode,
    int HealthCheckDeadlineSeconds,
    int LockoutDays,
    LockoutAction LockoutAction);

/// <summary>POST <see cref="ApiRoutes.ReportsTemplate"/>; queued on disk while the Center is unreachable.</summary>
/// <param name="ReportId">Unique per report; a Center ignores a report id it has already stored.</param>
public sealed record StatusReport(
    string ReportId,
    string DeviceId,
    string AgentVersion,
    DateTimeOffset ReportedAt,
    RunningVersions Running,
    GuestStatus Guest,
    IReadOnlyList<HistoryEntry> History,
    HardwareInventory? Inventory,
    string? LastError,
    long DesiredGeneration);

/// <summary>What runs now, and what was last committed (last-known-good).</summary>
public sealed record RunningVersions(
    VersionRef? Base,
    IReadOnlyList<VersionRef> Apps,
    VersionRef? LastKnownGoodBase,
    ImageMode? ImageMode);

public sealed record VersionRef(string Name, long Version);

public enum GuestState
{
    [JsonStringEnumMemberName("unknown")] Unknown,
    [JsonStringEnumMemberName("absent")] Absent,
    [JsonStringEnumMemberName("starting")] Starting,
    [JsonStringEnumMemberName("running")] Running,
    [JsonStringEnumMemberName("paused")] Paused,
    [JsonStringEnumMemberName("stopped")] Stopped,
    [JsonStringEnumMemberName("lockedOut")] LockedOut,
}

public sealed record GuestStatus(string Name, GuestState State, int? DomainId, bool? Healthy);

public enum HistoryEvent
{
    /// <summary>A version was staged: downloaded and verified, nothing running changed.</summary>
    [JsonStringEnumMemberName("staged")] Staged,

    /// <summary>The guest was switched to the new chain and is being health-checked.</summary>
    [JsonStringEnumMemberName("applied")] Applied,

    /// <summary>The health check passed; the version is last-known-good.</summary>
    [JsonStringEnumMemberName("committed")] Committed,

    /// <summary>The health check failed (or an operator asked); the previous chain runs again.</summary>
    [JsonStringEnumMemberName("rolledBack")] RolledBack,

    /// <summary>Content refused: signature, hash, size, downgrade, or a download that failed.</summary>
    [JsonStringEnumMemberName("refused")] Refused,

    /// <summary>After a restart, an interrupted transaction was finished or undone.</summary>
    [JsonStringEnumMemberName("recovered")] Recovered,

    /// <summary>The lockout policy acted (or was lifted).</summary>
    [JsonStringEnumMemberName("lockout")] Lockout,
}

public sealed record HistoryEntry(
    DateTimeOffset At,
    HistoryEvent Event,
    string Name,
    long Version,
    long? FromVersion,
    string? Reason);

public sealed record HardwareInventory(
    string Hostname,
    CpuInfo Cpu,
    long MemoryBytes,
    IReadOnlyList<DiskInfo> Disks,
    IReadOnlyList<NicInfo> Nics,
    DmiInfo Dmi,
    XenInfo? Xen);

public sealed record CpuInfo(string Model, int LogicalCpus, string? Vendor);

public sealed record DiskInfo(string Name, long SizeBytes, string? Model, string? Serial, bool Rotational, bool Removable);

public sealed record NicInfo(string Name, string? MacAddress, string? OperState, int? SpeedMbps);

/// <summary>Strings from /sys/class/dmi/id; null where the firmware gives none.</summary>
public sealed record DmiInfo(
    string? SysVendor,
    string? ProductName,
    string? ProductVersion,
    string? ProductSerial,
    string? ProductUuid,
    string? BoardVendor,
    string? BoardName,
    string? BiosVendor,
    string? BiosVersion,
    string? BiosDate,
    string? ChassisType);

public sealed record XenInfo(string Version, long TotalMemoryMiB, long FreeMemoryMiB, int NrCpus, string VirtCaps);
