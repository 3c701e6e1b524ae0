namespace NxTop.Center;

internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Information, "NxTop Center storage: {Provider}, schema version {Version}; content in {ContentDirectory}")]
    public static partial void Storage(ILogger logger, string provider, int version, string contentDirectory);

    [LoggerMessage(2, LogLevel.Warning, "Created the first admin credential; it is in {Path} (mode 0600) and is not shown again")]
    public static partial void AdminCredentialCreated(ILogger logger, string path);

    [LoggerMessage(3, LogLevel.Warning, "Generated a publisher key pair: {PrivateKeyPath} (keep it secret) and {PublicKeyPath} (bake it into the appliance build); key id {KeyId}")]
    public static partial void PublisherKeyCreated(ILogger logger, string privateKeyPath, string publicKeyPath, string keyId);

    [LoggerMessage(4, LogLevel.Information, "Publisher key {KeyId} from {PrivateKeyPath}")]
    public static partial void PublisherKeyLoaded(ILogger logger, string keyId, string privateKeyPath);

    [LoggerMessage(5, LogLevel.Information, "Deleted {Count} unfinished upload(s) left by an earlier run")]
    public static partial void LeftoversDeleted(ILogger logger, int count);

    [LoggerMessage(6, LogLevel.Information, "Published {Kind} {Name} version {Version} ({Blobs} blob(s))")]
    public static partial void Published(ILogger logger, string kind, string name, long version, int blobs);

    [LoggerMessage(7, LogLevel.Information, "Enrolled device {DeviceId} ({Hostname})")]
    public static partial void Enrolled(ILogger logger, string deviceId, string hostname);

    [LoggerMessage(8, LogLevel.Warning, "Refused enrollment: {Reason}")]
    public static partial void EnrollmentRefused(ILogger logger, string reason);

    [LoggerMessage(9, LogLevel.Warning, "Kill requested for device {DeviceId}")]
    public static partial void KillRequested(ILogger logger, string deviceId);

    [LoggerMessage(10, LogLevel.Warning, "Delivered the kill command to device {DeviceId}")]
    public static partial void KillDelivered(ILogger logger, string deviceId);

    [LoggerMessage(11, LogLevel.Warning, "Refused an upload: {Reason}")]
    public static partial void UploadRefused(ILogger logger, string reason);

    [LoggerMessage(12, LogLevel.Information, "Blob collection: deleted {Deleted} ({Bytes} bytes); kept {Referenced} referenced and {Young} young")]
    public static partial void BlobsCollected(ILogger logger, int deleted, long bytes, int referenced, int young);

    [LoggerMessage(13, LogLevel.Warning, "Revoked admin credential {Id}")]
    public static partial void AdminCredentialRevoked(ILogger logger, long id);
}
