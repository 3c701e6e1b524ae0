using System.Text.Json.Serialization;

namespace NxTop.Contracts;

/// <summary>What a manifest publishes.</summary>
public enum ContentKind
{
    /// <summary>A guest OS disk: its <see cref="BlobRole.Disk"/> blobs form a qcow2 backing chain.</summary>
    [JsonStringEnumMemberName("base")] Base,

    /// <summary>An optional application: one <see cref="BlobRole.Disk"/> blob attached read-only as an extra guest disk.</summary>
    [JsonStringEnumMemberName("app")] App,
}

/// <summary>What a blob is for in the guest.</summary>
public enum BlobRole
{
    /// <summary>A disk image (qcow2 or raw, see <see cref="MediaTypes"/>). For a base, listed bottom first.</summary>
    [JsonStringEnumMemberName("disk")] Disk,

    /// <summary>A PV kernel that dom0 boots directly (optional; without it the guest boots with the configured bootloader).</summary>
    [JsonStringEnumMemberName("kernel")] Kernel,

    /// <summary>The kernel's initrd (optional).</summary>
    [JsonStringEnumMemberName("ramdisk")] Ramdisk,
}

public static class MediaTypes
{
    public const string Qcow2 = "application/vnd.nxtop.disk.qcow2";
    public const string Raw = "application/vnd.nxtop.disk.raw";
    public const string Binary = "application/octet-stream";
}

/// <summary>One content-addressed blob: lower-case hex sha256 of its bytes, and its exact size.</summary>
public sealed record ManifestBlob(string Sha256, long Size, BlobRole Role, string MediaType);

/// <summary>
/// A published version of a base image or an app layer. Versions are monotonic integers per
/// <see cref="Name"/> (1, 2, 3, ...): a total order with no parsing ambiguity, which is what the
/// downgrade rule needs. A manifest whose version is lower than the installed one is refused unless
/// <see cref="RollbackOf"/> is set to a version at least as high as the installed one: the publisher
/// re-signs the older content as an explicit rollback, so replaying an old signed manifest cannot
/// downgrade a device.
/// </summary>
/// <remarks>
/// A base's disk blobs are a qcow2 chain, bottom first. Every blob after the first is a qcow2
/// overlay whose backing file name is the <em>bare hex sha256</em> of the blob below it (relative,
/// format qcow2: <c>qemu-img create -f qcow2 -b &lt;parent-sha256&gt; -F qcow2 delta.qcow2</c>). The agent
/// keeps blobs in one directory named by their hash, so the chain resolves without rewriting a blob,
/// and a patch ships only its delta.
/// </remarks>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record ContentManifest(
    ContentKind Kind,
    string Name,
    long Version,
    IReadOnlyList<ManifestBlob> Blobs,
    DateTimeOffset Created,
    long? RollbackOf = null,
    string? KernelCommandLine = null);

/// <summary>The detached signature over <see cref="SignedManifest.Payload"/>'s bytes.</summary>
/// <param name="KeyId">"sha256:" + lower-case hex sha256 of the public key's DER SubjectPublicKeyInfo.</param>
/// <param name="Algorithm">Always <see cref="ManifestSignature.EcdsaP256Sha256"/>.</param>
/// <param name="Signature">Base64 ECDSA signature of the payload bytes: IEEE P1363 r||s (64 bytes), or DER (what <c>openssl dgst -sign</c> writes).</param>
public sealed record ManifestSignature(string KeyId, string Algorithm, string Signature)
{
    public const string EcdsaP256Sha256 = "ecdsa-p256-sha256";
}

/// <summary>
/// The envelope that travels and is stored: <see cref="Payload"/> is the base64 of the manifest's
/// exact UTF-8 JSON bytes, and the signature covers those bytes. Nothing is re-serialised before
/// verification, so there is no canonicalisation to agree on; the manifest is parsed only after the
/// signature checks out.
/// </summary>
public sealed record SignedManifest(string Payload, ManifestSignature? Signature);
