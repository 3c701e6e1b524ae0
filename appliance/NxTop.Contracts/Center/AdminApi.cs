using System.Text.Json.Serialization;

namespace NxTop.Contracts.Center;

/// <summary>PUT <see cref="CenterRoutes.AdminBlobs"/> (raw body) → 201: the blob is stored under its sha256.</summary>
public sealed record BlobUploaded(string Sha256, long Size);

/// <summary>One blob of a manifest to publish; its size comes from the Center's store.</summary>
public sealed record PublishBlob(string Sha256, BlobRole Role, string MediaType);

public enum PublishChannel
{
    /// <summary>The new version becomes the staged one: pilot groups get it first (the default).</summary>
    [JsonStringEnumMemberName("staged")] Staged,

    /// <summary>The new version becomes current for everyone at once.</summary>
    [JsonStringEnumMemberName("current")] Current,

    /// <summary>Published only: devices get it when an assignment pins it.</summary>
    [JsonStringEnumMemberName("none")] None,
}

/// <summary>
/// POST <see cref="CenterRoutes.AdminContent"/> → 201 <see cref="PublishedContent"/>. A version of a
/// name already published is 409. <see cref="PatchOf"/> makes a patch: the new version's disk chain
/// is that version's chain followed by <see cref="Blobs"/> (the qcow2 delta).
/// The first version of a name is always current as well. Versions only go up: to go back, publish
/// the older version's content again as a new version (<see cref="PatchOf"/> with no blobs), which
/// agents accept where they would refuse a downgrade.
/// </summary>
public sealed record PublishRequest(
    ContentKind Kind,
    string Name,
    long? Version,
    IReadOnlyList<PublishBlob> Blobs,
    long? PatchOf,
    PublishChannel Channel,
    string? KernelCommandLine);

public sealed record PublishedContent(ContentKind Kind, string Name, long Version, string ManifestUrl, IReadOnlyList<ManifestBlob> Blobs, string KeyId);

/// <summary>A name's two pointers: what the fleet runs (current), and what pilot groups run (staged).</summary>
public sealed record TrackInfo(string Name, ContentKind Kind, long? Current, long? Staged, IReadOnlyList<long> Versions);

/// <summary>PUT <see cref="CenterRoutes.AdminTrackTemplate"/>: set both pointers (null clears staged; current must stay set).</summary>
public sealed record TrackUpdate(long? Current, long? Staged);

public enum GroupRing
{
    /// <summary>Gets current versions.</summary>
    [JsonStringEnumMemberName("general")] General,

    /// <summary>Gets staged versions first.</summary>
    [JsonStringEnumMemberName("pilot")] Pilot,
}

public sealed record GroupRequest(string Name, GroupRing Ring);

public sealed record GroupInfo(string Name, GroupRing Ring, long Members, DateTimeOffset Created);

/// <summary>POST <see cref="CenterRoutes.AdminGroupMembersTemplate"/>: moves the devices into the group in one transaction.</summary>
public sealed record GroupMembersRequest(IReadOnlyList<string> DeviceIds);

public sealed record GroupMembersResult(int Moved, int Unknown);

public sealed record AppAssignment(string Name, long? Version);

/// <summary>
/// PUT an assignment for a device or a group. A null version follows the name's track (current,
/// or staged for a device in a pilot group); a version pins it. A device's own assignment wins
/// over its group's.
/// </summary>
public sealed record AssignmentRequest(string BaseName, long? BaseVersion, IReadOnlyList<AppAssignment> Apps, DevicePolicy Policy);

public sealed record AssignmentInfo(string Target, string TargetId, string BaseName, long? BaseVersion, IReadOnlyList<AppAssignment> Apps, DevicePolicy Policy, DateTimeOffset Updated);

/// <summary>POST <see cref="CenterRoutes.AdminEnrollmentTokens"/> → 201 <see cref="EnrollmentTokensIssued"/>; the tokens are shown once.</summary>
public sealed record EnrollmentTokenRequest(string? Group, int Count, int ValidHours);

public sealed record EnrollmentTokensIssued(IReadOnlyList<string> Tokens, string? Group, DateTimeOffset ExpiresAt);

public sealed record DeviceSummary(
    string Id,
    string Name,
    string? Group,
    DateTimeOffset Enrolled,
    DateTimeOffset? LastContact,
    string? BaseVersion,
    string? Health,
    long Rollbacks,
    DateTimeOffset? KillRequested,
    DateTimeOffset? KillDelivered);

public sealed record DeviceEventInfo(DateTimeOffset At, string Event, string? Name, long? Version, string? Detail);

public sealed record DeviceDetail(DeviceSummary Device, HardwareInventory? Inventory, StatusReport? LastReport, DesiredState? Desired, IReadOnlyList<DeviceEventInfo> History);

public sealed record CountItem(string Key, long Count);

public sealed record FleetOverview(
    long Devices,
    long OutOfContact,
    long WithRollbacks,
    long KillPending,
    IReadOnlyList<CountItem> ByBaseVersion,
    IReadOnlyList<CountItem> ByHealth,
    int OutOfContactMinutes);

/// <summary>POST <see cref="CenterRoutes.AdminBlobCollect"/> → 200: what the blob garbage collector deleted and kept.</summary>
/// <param name="KeptReferenced">Blobs some published manifest names.</param>
/// <param name="KeptYoung">Unreferenced blobs written within the grace period (uploads that may still be published).</param>
public sealed record BlobsCollected(int Deleted, long BytesFreed, int KeptReferenced, int KeptYoung, int GraceMinutes);

/// <summary>An admin credential as listed (never the token; only its hash is stored).</summary>
public sealed record AdminCredentialInfo(long Id, string Name, DateTimeOffset Created);

/// <summary>POST <see cref="CenterRoutes.AdminCredentials"/>: a new admin credential.</summary>
public sealed record AdminCredentialRequest(string Name);

/// <summary>The new credential, shown once.</summary>
public sealed record AdminCredentialIssued(long Id, string Name, string Token);
