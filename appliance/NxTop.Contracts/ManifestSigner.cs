using System.Security.Cryptography;
using System.Text.Json;

namespace NxTop.Contracts;

/// <summary>Signs manifests with an ECDSA P-256 private key (PEM: "EC PRIVATE KEY" or PKCS#8 "PRIVATE KEY").</summary>
public sealed class ManifestSigner : IDisposable
{
    private readonly ECDsa _key;

    private ManifestSigner(ECDsa key)
    {
        if (key.KeySize != 256)
        {
            key.Dispose();
            throw new ArgumentException($"the signing key must be ECDSA P-256, got a {key.KeySize}-bit key");
        }

        _key = key;
        KeyId = ManifestKeys.KeyId(key);
    }

    public string KeyId { get; }

    public static ManifestSigner FromPem(string privateKeyPem)
    {
        var key = ECDsa.Create();
        try
        {
            key.ImportFromPem(privateKeyPem);
        }
        catch
        {
            key.Dispose();
            throw;
        }

        return new ManifestSigner(key);
    }

    /// <summary>A fresh P-256 key pair (tests, and the build making a lab key).</summary>
    public static ManifestSigner Generate() => new(ECDsa.Create(ECCurve.NamedCurves.nistP256));

    public string ExportPrivateKeyPem() => _key.ExportPkcs8PrivateKeyPem();

    public string ExportPublicKeyPem() => _key.ExportSubjectPublicKeyInfoPem();

    /// <summary>Serialises the manifest once and signs exactly those bytes.</summary>
    public SignedManifest Sign(ContentManifest manifest) =>
        SignPayload(JsonSerializer.SerializeToUtf8Bytes(manifest, ContractsJsonContext.Default.ContentManifest));

    /// <summary>Signs the given manifest bytes as they are (a publisher that writes its own JSON).</summary>
    public SignedManifest SignPayload(ReadOnlySpan<byte> payload)
    {
        var signature = _key.SignData(payload, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        return new SignedManifest(
            Convert.ToBase64String(payload),
            new ManifestSignature(KeyId, ManifestSignature.EcdsaP256Sha256, Convert.ToBase64String(signature)));
    }

    public void Dispose() => _key.Dispose();
}

public static class ManifestKeys
{
    /// <summary>"sha256:" + hex sha256 of the DER SubjectPublicKeyInfo (<c>openssl pkey -pubin -outform DER | sha256sum</c>).</summary>
    public static string KeyId(ECDsa key) =>
        "sha256:" + Convert.ToHexStringLower(SHA256.HashData(key.ExportSubjectPublicKeyInfo()));
}
