namespace NxTop.Center;

/// <summary>The Center's settings (section <c>Center</c>); every one has a working default.</summary>
public sealed class CenterOptions
{
    public const string Section = "Center";

    /// <summary>Holds center.db, content/, admin-token and the publisher key unless those are set one by one.</summary>
    public string DataDirectory { get; set; } = DefaultDataDirectory();

    /// <summary><c>Data Source=...</c> for SQLite (default: DataDirectory/center.db), <c>Host=...</c> for PostgreSQL.</summary>
    public string? ConnectionString { get; set; }

    public string? ContentDirectory { get; set; }

    /// <summary>PEM private key (ECDSA P-256) that signs manifests; generated with its .pub.pem on first start if missing.</summary>
    public string? PublisherKeyPath { get; set; }

    public long MaxUploadBytes { get; set; } = 64L << 30;

    /// <summary>Enrollment attempts allowed per client address per minute.</summary>
    public int EnrollmentPermitsPerMinute { get; set; } = 30;

    /// <summary>A device is out of contact when it has not called for this long (dashboard and fleet counts).</summary>
    public int OutOfContactMinutes { get; set; } = 60;

    /// <summary>
    /// Serve published blobs to anyone, <c>Cache-Control: public</c>, so a shared cache or CDN in front can
    /// keep one copy for the whole fleet. Blobs are content-addressed and every manifest is signed, so
    /// integrity does not depend on who serves them; what is given up is the confidentiality of the
    /// bytes (to anyone who knows a blob's sha256). Manifests, desired states and unpublished uploads stay private.
    /// </summary>
    public bool PublicBlobs { get; set; }

    /// <summary>The blob collector keeps unreferenced blobs younger than this (uploads that may still be published).</summary>
    public int BlobGraceMinutes { get; set; } = 60;

    /// <summary>
    /// How long a publish, an upload's last step or a blob collection waits for the content store's lock
    /// (<c>store.lock</c>, shared with every other process on the same content directory) before it gives up with 503.
    /// </summary>
    public int ContentLockWaitSeconds { get; set; } = 30;

    public string ResolvedConnectionString => ConnectionString ?? $"Data Source={Path.Combine(DataDirectory, "center.db")}";

    public string ResolvedContentDirectory => ContentDirectory ?? Path.Combine(DataDirectory, "content");

    public string ResolvedPublisherKeyPath => PublisherKeyPath ?? Path.Combine(DataDirectory, "publisher.key.pem");

    public string AdminTokenPath => Path.Combine(DataDirectory, "admin-token");

    /// <summary>Creates the data directory, owner-only (it holds the admin token and the publisher key), if it is missing.</summary>
    public void EnsureDataDirectory()
    {
        if (!Directory.Exists(DataDirectory))
        {
            Directory.CreateDirectory(DataDirectory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
    }

    private static string DefaultDataDirectory()
    {
        var fromEnvironment = Environment.GetEnvironmentVariable("NXTOP_CENTER_DATA");
        if (!string.IsNullOrEmpty(fromEnvironment))
        {
            return fromEnvironment;
        }

        var xdg = Environment.GetEnvironmentVariable("XDG_DATA_HOME");
        var root = string.IsNullOrEmpty(xdg) ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".local", "share") : xdg;
        return Path.Combine(root, "nxtop-center");
    }
}
