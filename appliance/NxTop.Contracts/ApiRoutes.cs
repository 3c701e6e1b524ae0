namespace NxTop.Contracts;

/// <summary>
/// The HTTP protocol between the agent and NxTop Center (or the vm-tests content server).
/// Every call except <see cref="Enroll"/> and the content routes carries
/// <c>Authorization: Bearer &lt;device credential&gt;</c>; the content routes accept it too, so a
/// Center may protect them. Bodies are JSON (<see cref="ContractsJsonContext"/>), UTF-8.
/// </summary>
public static class ApiRoutes
{
    public const string AuthenticationScheme = "Bearer";

    public const string JsonMediaType = "application/json";

    /// <summary><c>POST</c> <see cref="EnrollmentRequest"/> → 200 <see cref="EnrollmentResponse"/>; 401/403 for a bad or used token.</summary>
    public const string Enroll = "/api/v1/enroll";

    /// <summary><c>GET</c> → 200 <see cref="DesiredState"/>, 204 when the Center has none for the device yet.</summary>
    public const string DesiredStateTemplate = "/api/v1/devices/{id}/desired-state";

    /// <summary><c>POST</c> <see cref="StatusReport"/> → 2xx. Reports carry a <c>reportId</c>; a Center treats a repeat as a no-op (queued reports may be resent).</summary>
    public const string ReportsTemplate = "/api/v1/devices/{id}/reports";

    /// <summary><c>GET</c> → 200 <see cref="SignedManifest"/>.</summary>
    public const string ManifestTemplate = "/content/manifests/{name}/{version}";

    /// <summary><c>GET</c> → 200 the blob's bytes, <c>application/octet-stream</c>; must honour <c>Range: bytes=N-</c> with 206.</summary>
    public const string BlobTemplate = "/content/blobs/sha256/{hash}";

    public static string DesiredState(string deviceId) => DesiredStateTemplate.Replace("{id}", Uri.EscapeDataString(deviceId), StringComparison.Ordinal);

    public static string Reports(string deviceId) => ReportsTemplate.Replace("{id}", Uri.EscapeDataString(deviceId), StringComparison.Ordinal);

    public static string Manifest(string name, long version) => ManifestTemplate
        .Replace("{name}", Uri.EscapeDataString(name), StringComparison.Ordinal)
        .Replace("{version}", version.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal);

    public static string Blob(string sha256) => BlobTemplate.Replace("{hash}", sha256, StringComparison.Ordinal);
}
