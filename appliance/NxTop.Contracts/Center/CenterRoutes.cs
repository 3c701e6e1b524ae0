using System.Globalization;

namespace NxTop.Contracts.Center;

/// <summary>
/// The Center's routes beyond the agent protocol in <see cref="ApiRoutes"/>: device commands and the
/// admin API (every admin call carries <c>Authorization: Bearer &lt;admin credential&gt;</c>).
/// </summary>
public static class CenterRoutes
{
    /// <summary><c>GET</c> → 200 <see cref="DeviceCommands"/> (device credential).</summary>
    public const string CommandsTemplate = "/api/v1/devices/{id}/commands";

    public const string AdminBlobs = "/api/v1/admin/blobs";
    public const string AdminContent = "/api/v1/admin/content";
    public const string AdminTracks = "/api/v1/admin/tracks";
    public const string AdminTrackTemplate = "/api/v1/admin/tracks/{name}";
    public const string AdminPromoteTemplate = "/api/v1/admin/tracks/{name}/promote";
    public const string AdminEnrollmentTokens = "/api/v1/admin/enrollment-tokens";
    public const string AdminDevices = "/api/v1/admin/devices";
    public const string AdminDeviceTemplate = "/api/v1/admin/devices/{id}";
    public const string AdminDeviceKillTemplate = "/api/v1/admin/devices/{id}/kill";
    public const string AdminDeviceAssignmentTemplate = "/api/v1/admin/devices/{id}/assignment";
    public const string AdminGroups = "/api/v1/admin/groups";
    public const string AdminGroupTemplate = "/api/v1/admin/groups/{name}";
    public const string AdminGroupMembersTemplate = "/api/v1/admin/groups/{name}/members";
    public const string AdminGroupAssignmentTemplate = "/api/v1/admin/groups/{name}/assignment";
    public const string AdminFleet = "/api/v1/admin/fleet";
    public const string AdminPublisherKey = "/api/v1/admin/publisher-key";
    public const string AdminTimings = "/api/v1/admin/timings";

    /// <summary><c>POST [?graceMinutes=N]</c> → 200 <see cref="BlobsCollected"/>: delete blobs no published manifest names.</summary>
    public const string AdminBlobCollect = "/api/v1/admin/blobs/collect";

    /// <summary><c>GET</c> → the admin credentials; <c>POST</c> <see cref="AdminCredentialRequest"/> → 201 <see cref="AdminCredentialIssued"/>.</summary>
    public const string AdminCredentials = "/api/v1/admin/credentials";

    /// <summary><c>DELETE</c> → 204: revoked at once; 409 for the last one.</summary>
    public const string AdminCredentialTemplate = "/api/v1/admin/credentials/{id}";

    public static string AdminCredential(long id) => Fill(AdminCredentialTemplate, "{id}", id.ToString(CultureInfo.InvariantCulture));

    public static string Commands(string deviceId) => Fill(CommandsTemplate, "{id}", deviceId);

    public static string AdminTrack(string name) => Fill(AdminTrackTemplate, "{name}", name);

    public static string AdminPromote(string name) => Fill(AdminPromoteTemplate, "{name}", name);

    public static string AdminDevice(string id) => Fill(AdminDeviceTemplate, "{id}", id);

    public static string AdminDeviceKill(string id) => Fill(AdminDeviceKillTemplate, "{id}", id);

    public static string AdminDeviceAssignment(string id) => Fill(AdminDeviceAssignmentTemplate, "{id}", id);

    public static string AdminGroup(string name) => Fill(AdminGroupTemplate, "{name}", name);

    public static string AdminGroupMembers(string name) => Fill(AdminGroupMembersTemplate, "{name}", name);

    public static string AdminGroupAssignment(string name) => Fill(AdminGroupAssignmentTemplate, "{name}", name);

    public static string AdminBlobsExpecting(string sha256) =>
        string.Create(CultureInfo.InvariantCulture, $"{AdminBlobs}?sha256={Uri.EscapeDataString(sha256)}");

    private static string Fill(string template, string hole, string value) => template.Replace(hole, Uri.EscapeDataString(value), StringComparison.Ordinal);
}
