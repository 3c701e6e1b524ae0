using System.Security.Cryptography;
using System.Text.Json;

namespace NxTop.Contracts;

/// <summary>Why a manifest was refused.</summary>
public enum ManifestRefusal
{
    None,
    NotSigned,
    UnsupportedAlgorithm,
    UnknownKey,
    BadSignature,
    Malformed,
}

/// <summary>The outcome of <see cref="ManifestVerifier.Verify"/>: a manifest, or a refusal with its reason.</summary>
public sealed record ManifestVerification(ContentManifest? Manifest, ManifestRefusal Refusal, string? Reason)
{
    public bool IsValid => Manifest is not null;

    public static ManifestVerification Refused(ManifestRefusal refusal, string reason) => new(null, refusal, reason);
}

/// <summary>
/// Verifies signed manifests against trusted public keys (PEM SubjectPublicKeyInfo), keyed by their
/// <see cref="ManifestKeys.KeyId"/>. The payload is parsed only after its signature verifies.
/// </summary>
public sealed class ManifestVerifier : IDisposable
{
    private readonly Dictionary<string, ECDsa> _keys;

    private ManifestVerifier(Dictionary<string, ECDsa> keys) => _keys = keys;

    public IReadOnlyCollection<string> KeyIds => _keys.Keys;

    public static ManifestVerifier FromPublicKeyPems(IEnumerable<string> publicKeyPems)
    {
        var keys = new Dictionary<string, ECDsa>(StringComparer.Ordinal);
        foreach (var pem in publicKeyPems)
        {
            var key = ECDsa.Create();
            try
            {
                key.ImportFromPem(pem);
                if (key.KeySize != 256)
                {
                    throw new ArgumentException($"trusted keys must be ECDSA P-256, got a {key.KeySize}-bit key");
                }
            }
            catch
            {
                key.Dispose();
                throw;
            }

            keys[ManifestKeys.KeyId(key)] = key;
        }

        return new ManifestVerifier(keys);
    }

    public ManifestVerification Verify(SignedManifest envelope)
    {
        ArgumentNullException.ThrowIfNull(envelope);
        if (envelope.Signature is not { } signature || string.IsNullOrEmpty(signature.Signature))
        {
            return ManifestVerification.Refused(ManifestRefusal.NotSigned, "the manifest is unsigned");
        }

        if (signature.Algorithm != ManifestSignature.EcdsaP256Sha256)
        {
            return ManifestVerification.Refused(ManifestRefusal.UnsupportedAlgorithm,
                $"unsupported signature algorithm '{signature.Algorithm}' (expected {ManifestSignature.EcdsaP256Sha256})");
        }

        if (!_keys.TryGetValue(signature.KeyId, out var key))
        {
            return ManifestVerification.Refused(ManifestRefusal.UnknownKey,
                $"signed with unknown key {signature.KeyId} (trusted: {(_keys.Count == 0 ? "none" : string.Join(", ", _keys.Keys))})");
        }

        byte[] payload, signatureBytes;
        try
        {
            payload = Convert.FromBase64String(envelope.Payload);
            signatureBytes = Convert.FromBase64String(signature.Signature);
        }
        catch (FormatException)
        {
            return ManifestVerification.Refused(ManifestRefusal.Malformed, "the payload or the signature is not valid base64");
        }

        var format = signatureBytes.Length == 64 ? DSASignatureFormat.IeeeP1363FixedFieldConcatenation : DSASignatureFormat.Rfc3279DerSequence;
        bool valid;
        try
        {
            valid = key.VerifyData(payload, signatureBytes, HashAlgorithmName.SHA256, format);
        }
        catch (CryptographicException)
        {
            valid = false;
        }

        if (!valid)
        {
            return ManifestVerification.Refused(ManifestRefusal.BadSignature, $"bad signature (key {signature.KeyId})");
        }

        ContentManifest? manifest;
        try
        {
            manifest = JsonSerializer.Deserialize(payload, ContractsJsonContext.Default.ContentManifest);
        }
        catch (JsonException ex)
        {
            return ManifestVerification.Refused(ManifestRefusal.Malformed, $"the signed payload is not a manifest: {ex.Message}");
        }

        if (manifest is null)
        {
            return ManifestVerification.Refused(ManifestRefusal.Malformed, "the signed payload is null");
        }

        var problem = ManifestRules.Check(manifest);
        return problem is null ? new ManifestVerification(manifest, ManifestRefusal.None, null) : ManifestVerification.Refused(ManifestRefusal.Malformed, problem);
    }

    public void Dispose()
    {
        foreach (var key in _keys.Values)
        {
            key.Dispose();
        }
    }
}

/// <summary>The structural rules a manifest obeys; the verifier and the Center's publisher share them.</summary>
public static class ManifestRules
{
    public static bool IsSha256Hex(string? value) =>
        value is { Length: 64 } && value.All(c => char.IsAsciiDigit(c) || c is >= 'a' and <= 'f');

    /// <summary>Names are path segments on the device and in URLs: lower-case letters, digits, '-', '.', '_'.</summary>
    public static bool IsValidName(string? name) =>
        name is { Length: > 0 and <= 64 } && name[0] != '.' && name.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c is '-' or '.' or '_');

    /// <summary>Null if the manifest is well-formed, else the first problem.</summary>
    public static string? Check(ContentManifest manifest)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        if (!IsValidName(manifest.Name))
        {
            return $"name '{manifest.Name}' is not [a-z0-9._-]{{1,64}}";
        }

        if (manifest.Version < 1)
        {
            return $"version must be a positive integer, got {manifest.Version}";
        }

        if (manifest.RollbackOf is { } from && from <= manifest.Version)
        {
            return $"rollbackOf ({from}) must be higher than version ({manifest.Version})";
        }

        var disks = manifest.Blobs.Count(b => b.Role == BlobRole.Disk);
        if (disks == 0)
        {
            return "the manifest has no disk blob";
        }

        if (manifest.Kind == ContentKind.App && disks != 1)
        {
            return $"an app layer has exactly one disk blob, got {disks}";
        }

        foreach (var blob in manifest.Blobs)
        {
            if (!IsSha256Hex(blob.Sha256))
            {
                return $"blob sha256 '{blob.Sha256}' is not 64 lower-case hex digits";
            }

            if (blob.Size < 0)
            {
                return $"blob {blob.Sha256} has a negative size";
            }

            if (blob.Role == BlobRole.Disk && blob.MediaType is not (MediaTypes.Qcow2 or MediaTypes.Raw))
            {
                return $"disk blob {blob.Sha256} has media type '{blob.MediaType}' (expected {MediaTypes.Qcow2} or {MediaTypes.Raw})";
            }

            if (manifest.Kind == ContentKind.Base && blob.Role == BlobRole.Disk && blob.MediaType != MediaTypes.Qcow2)
            {
                return $"base disk blob {blob.Sha256} must be qcow2";
            }
        }

        if (manifest.Blobs.Count(b => b.Role == BlobRole.Kernel) > 1 || manifest.Blobs.Count(b => b.Role == BlobRole.Ramdisk) > 1)
        {
            return "at most one kernel and one ramdisk blob";
        }

        return null;
    }
}
