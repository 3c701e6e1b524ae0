using NxTop.Contracts;

namespace NxTop.Center.Publishing;

/// <summary>
/// The publisher key that signs every manifest. Its public half (<c>publisher.pub.pem</c> beside
/// the private key) is what the appliance build bakes in as the trusted key.
/// </summary>
public sealed class PublisherKey : IDisposable
{
    private const UnixFileMode PrivateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    private PublisherKey(ManifestSigner signer, string privateKeyPath, bool created)
    {
        Signer = signer;
        PrivateKeyPath = privateKeyPath;
        Created = created;
    }

    public ManifestSigner Signer { get; }

    public string PrivateKeyPath { get; }

    public string PublicKeyPath => PublicPathFor(PrivateKeyPath);

    public bool Created { get; }

    public string KeyId => Signer.KeyId;

    public string PublicKeyPem => Signer.ExportPublicKeyPem();

    public static string PublicPathFor(string privateKeyPath) =>
        privateKeyPath.EndsWith(".key.pem", StringComparison.Ordinal) ? privateKeyPath[..^".key.pem".Length] + ".pub.pem" : privateKeyPath + ".pub";

    /// <summary>Loads the key, or makes a new pair (private 0600) when the file does not exist.</summary>
    public static PublisherKey LoadOrCreate(string privateKeyPath)
    {
        if (File.Exists(privateKeyPath))
        {
            return new PublisherKey(ManifestSigner.FromPem(File.ReadAllText(privateKeyPath)), privateKeyPath, created: false);
        }

        var signer = ManifestSigner.Generate();
        WritePair(signer, privateKeyPath);
        return new PublisherKey(signer, privateKeyPath, created: true);
    }

    /// <summary>Writes a key pair as PEM: the private key 0600 (atomically, never over an existing one), the public key 0644.</summary>
    public static void WritePair(ManifestSigner signer, string privateKeyPath)
    {
        ArgumentNullException.ThrowIfNull(signer);
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(privateKeyPath))!);
        var temp = privateKeyPath + ".tmp";
        using (var stream = new FileStream(temp, new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write, UnixCreateMode = PrivateMode }))
        using (var writer = new StreamWriter(stream))
        {
            writer.Write(signer.ExportPrivateKeyPem());
            writer.Write('\n');
            writer.Flush();
            stream.Flush(flushToDisk: true);
        }

        File.Move(temp, privateKeyPath, overwrite: false);
        File.WriteAllText(PublicPathFor(privateKeyPath), signer.ExportPublicKeyPem() + "\n");
    }

    public void Dispose() => Signer.Dispose();
}
