using NxTop.Contracts.Center;

namespace NxTop.Center.Storage;

/// <summary>
/// Everything the Center remembers. One implementation over ADO.NET serves SQLite (the embedded
/// default) and PostgreSQL (bigger fleets); the connection string chooses.
/// Every method that returns has committed: an acknowledged write survives a restart.
/// </summary>
public interface ICenterStore
{
    string Provider { get; }

    Task MigrateAsync(CancellationToken cancellationToken);

    Task<int> SchemaVersionAsync(CancellationToken cancellationToken);

    // Admin credentials (stored as SHA-256 of a 256-bit random token).
    Task<long> CountAdminCredentialsAsync(CancellationToken cancellationToken);

    Task AddAdminCredentialAsync(string name, string tokenHash, CancellationToken cancellationToken);

    Task<AdminCredential?> FindAdminCredentialAsync(string tokenHash, CancellationToken cancellationToken);

    Task<IReadOnlyList<AdminCredential>> ListAdminCredentialsAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Deletes the credential (its hash is gone, so the token stops working at once). Refuses to delete the
    /// last one, which would lock every admin out.
    /// </summary>
    Task<AdminRevocation> RevokeAdminCredentialAsync(long id, CancellationToken cancellationToken);

    // Publishing.
    /// <summary>Records the artifact and moves its track in one transaction; false when that version exists.</summary>
    Task<bool> PublishArtifactAsync(ArtifactRecord artifact, bool makeCurrent, bool makeStaged, CancellationToken cancellationToken);

    Task<ArtifactRecord?> GetArtifactAsync(string name, long version, CancellationToken cancellationToken);

    Task<IReadOnlyList<long>> ListVersionsAsync(string name, CancellationToken cancellationToken);

    Task<bool> IsBlobReferencedAsync(string sha256, CancellationToken cancellationToken);

    /// <summary>Every blob that some published manifest names.</summary>
    Task<IReadOnlySet<string>> ListReferencedBlobsAsync(CancellationToken cancellationToken);

    Task<Track?> GetTrackAsync(string name, CancellationToken cancellationToken);

    Task<IReadOnlyList<Track>> ListTracksAsync(CancellationToken cancellationToken);

    Task SetTrackAsync(Track track, CancellationToken cancellationToken);

    // Groups.
    /// <summary>Creates the group or changes its ring.</summary>
    Task PutGroupAsync(string name, GroupRing ring, CancellationToken cancellationToken);

    Task<GroupRecord?> GetGroupAsync(string name, CancellationToken cancellationToken);

    /// <summary>The group's ring without counting its members (the desired-state path).</summary>
    Task<GroupRing?> GetGroupRingAsync(string name, CancellationToken cancellationToken);

    Task<IReadOnlyList<GroupRecord>> ListGroupsAsync(CancellationToken cancellationToken);

    /// <summary>Moves devices into a group (or out of any with null) in one transaction; returns how many exist.</summary>
    Task<int> SetGroupAsync(IReadOnlyCollection<string> deviceIds, string? group, CancellationToken cancellationToken);

    // Enrollment and devices.
    /// <summary>Stores one-time tokens (by hash), all in one transaction.</summary>
    Task AddEnrollmentTokensAsync(IReadOnlyCollection<EnrollmentTokenRecord> tokens, CancellationToken cancellationToken);

    /// <summary>
    /// Spends a one-time token and creates the device in one transaction. Null when the token is
    /// unknown, used or expired.
    /// </summary>
    Task<DeviceRecord?> RedeemEnrollmentTokenAsync(string tokenHash, string deviceId, string deviceName, string credentialHash, string? inventory, CancellationToken cancellationToken);

    Task<DeviceRecord?> FindDeviceByCredentialAsync(string credentialHash, CancellationToken cancellationToken);

    Task<DeviceRecord?> GetDeviceAsync(string id, CancellationToken cancellationToken);

    Task<IReadOnlyList<DeviceRecord>> ListDevicesAsync(string? group, CancellationToken cancellationToken);

    /// <summary>Records last-contact times, many devices in one transaction.</summary>
    Task TouchDevicesAsync(IReadOnlyCollection<KeyValuePair<string, long>> contacts, CancellationToken cancellationToken);

    /// <summary>
    /// Stores a report once: a retried report with the same id changes nothing and returns false.
    /// </summary>
    Task<bool> RecordReportAsync(string deviceId, string reportId, string body, ReportSummary summary, CancellationToken cancellationToken);

    Task<IReadOnlyList<DeviceEvent>> GetHistoryAsync(string deviceId, int limit, CancellationToken cancellationToken);

    /// <summary>
    /// Remembers the fingerprint of the desired state just resolved for the device and returns its
    /// generation, bumped whenever the fingerprint changes.
    /// </summary>
    Task<long> UpdateDesiredAsync(string deviceId, string fingerprint, CancellationToken cancellationToken);

    Task<bool> RequestKillAsync(string deviceId, CancellationToken cancellationToken);

    Task MarkKillDeliveredAsync(string deviceId, CancellationToken cancellationToken);

    // Assignments.
    Task PutAssignmentAsync(Assignment assignment, CancellationToken cancellationToken);

    Task<Assignment?> GetAssignmentAsync(AssignmentTarget target, string targetId, CancellationToken cancellationToken);

    Task<IReadOnlyList<Assignment>> ListAssignmentsAsync(CancellationToken cancellationToken);

    Task<bool> DeleteAssignmentAsync(AssignmentTarget target, string targetId, CancellationToken cancellationToken);

    // Dashboard.
    Task<FleetCounts> CountFleetAsync(long outOfContactBefore, CancellationToken cancellationToken);
}
