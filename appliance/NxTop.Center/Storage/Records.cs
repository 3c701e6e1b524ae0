using NxTop.Contracts;
using NxTop.Contracts.Center;

namespace NxTop.Center.Storage;

public sealed record AdminCredential(long Id, string Name, long CreatedAt);

public enum AdminRevocation
{
    Revoked,
    NotFound,
    LastCredential,
}

/// <summary>One published version of a base image or app layer: its signed manifest (as served) and its blobs.</summary>
public sealed record ArtifactRecord(
    ContentKind Kind,
    string Name,
    long Version,
    string SignedManifest,
    IReadOnlyList<ManifestBlob> Blobs,
    long CreatedAt);

/// <summary>A name's two moving pointers: what the fleet runs, and what the pilot groups try first.</summary>
public sealed record Track(string Name, ContentKind Kind, long? Current, long? Staged);

public sealed record GroupRecord(string Name, GroupRing Ring, long CreatedAt, long Members);

public sealed record EnrollmentTokenRecord(string TokenHash, string? Group, long CreatedAt, long ExpiresAt);

public sealed record DeviceRecord(
    string Id,
    string Name,
    string? Group,
    long EnrolledAt,
    long? LastContact,
    string? BaseVersion,
    string? Health,
    long Rollbacks,
    string? LastReport,
    string? Inventory,
    long? KillRequestedAt,
    long? KillDeliveredAt,
    string? DesiredFingerprint,
    long DesiredGeneration);

/// <summary>What happened to a device: enrolled, applied, committed, rolledBack, kill-requested, ...</summary>
public sealed record DeviceEvent(long At, string Event, string? Name, long? Version, string? Detail);

/// <summary>What the Center keeps on the device row from a status report.</summary>
public sealed record ReportSummary(string? BaseVersion, string? Health, string? Inventory, IReadOnlyList<DeviceEvent> Events);

public enum AssignmentTarget
{
    Device,
    Group,
}

/// <summary>
/// A base image and apps given to a device or a group. A null version follows the name's track
/// (current, or staged for pilot devices); a version pins it.
/// </summary>
public sealed record Assignment(
    AssignmentTarget Target,
    string TargetId,
    string BaseName,
    long? BaseVersion,
    IReadOnlyList<AppAssignment> Apps,
    DevicePolicy Policy,
    long UpdatedAt);

public sealed record FleetCounts(
    long Devices,
    long OutOfContact,
    long WithRollbacks,
    long KillPending,
    IReadOnlyList<CountItem> ByBaseVersion,
    IReadOnlyList<CountItem> ByHealth);
