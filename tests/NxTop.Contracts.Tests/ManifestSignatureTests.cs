using System.Diagnostics;
using System.Text;
using System.Text.Json;
using NxTop.Contracts;

namespace NxTop.Contracts.Tests;

public sealed class ManifestSignatureTests : IDisposable
{
    private readonly ManifestSigner _signer = ManifestSigner.Generate();
    private readonly ManifestVerifier _verifier;

    public ManifestSignatureTests() => _verifier = ManifestVerifier.FromPublicKeyPems([_signer.ExportPublicKeyPem()]);

    public void Dispose()
    {
        _signer.Dispose();
        _verifier.Dispose();
    }

    internal static ContentManifest Sample(long version = 3, long? rollbackOf = null) => new(
        ContentKind.Base,
        "desktop",
        version,
        [new ManifestBlob(new string('a', 64), 1234, BlobRole.Disk, MediaTypes.Qcow2)],
        new DateTimeOffset(2026, 11, 24, 12, 0, 0, TimeSpan.Zero),
        rollbackOf);

    [Fact]
    public void A_signed_manifest_verifies_and_round_trips()
    {
        var envelope = _signer.Sign(Sample());

        var result = _verifier.Verify(envelope);

        Assert.True(result.IsValid, result.Reason);
        Assert.Equal(ManifestRefusal.None, result.Refusal);
        Assert.Equal("desktop", result.Manifest!.Name);
        Assert.Equal(3, result.Manifest.Version);
        Assert.Equal(Sample().Blobs, result.Manifest.Blobs);
        Assert.Equal(_signer.KeyId, envelope.Signature!.KeyId);
        Assert.StartsWith("sha256:", envelope.Signature.KeyId, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unsigned_manifest_is_refused()
    {
        var envelope = _signer.Sign(Sample()) with { Signature = null };

        var result = _verifier.Verify(envelope);

        Assert.False(result.IsValid);
        Assert.Equal(ManifestRefusal.NotSigned, result.Refusal);
        Assert.Contains("unsigned", result.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_manifest_signed_by_another_key_is_refused_as_unknown_key()
    {
        using var stranger = ManifestSigner.Generate();

        var result = _verifier.Verify(stranger.Sign(Sample()));

        Assert.Equal(ManifestRefusal.UnknownKey, result.Refusal);
        Assert.Contains(stranger.KeyId, result.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_changed_payload_is_refused_as_bad_signature()
    {
        var envelope = _signer.Sign(Sample(version: 3));
        var tampered = Encoding.UTF8.GetString(Convert.FromBase64String(envelope.Payload)).Replace("\"version\":3", "\"version\":4", StringComparison.Ordinal);
        Assert.Contains("\"version\":4", tampered, StringComparison.Ordinal);

        var result = _verifier.Verify(envelope with { Payload = Convert.ToBase64String(Encoding.UTF8.GetBytes(tampered)) });

        Assert.Equal(ManifestRefusal.BadSignature, result.Refusal);
    }

    [Fact]
    public void A_signature_with_a_key_id_that_is_trusted_but_bytes_from_another_key_is_refused()
    {
        using var stranger = ManifestSigner.Generate();
        var forged = stranger.Sign(Sample());
        forged = forged with { Signature = forged.Signature! with { KeyId = _signer.KeyId } };

        Assert.Equal(ManifestRefusal.BadSignature, _verifier.Verify(forged).Refusal);
    }

    [Fact]
    public void Another_algorithm_is_refused()
    {
        var envelope = _signer.Sign(Sample());

        var result = _verifier.Verify(envelope with { Signature = envelope.Signature! with { Algorithm = "rsa-sha1" } });

        Assert.Equal(ManifestRefusal.UnsupportedAlgorithm, result.Refusal);
    }

    [Fact]
    public void A_signed_payload_that_breaks_the_rules_is_refused_as_malformed()
    {
        var bad = Sample() with { Blobs = [new ManifestBlob("XYZ", 1, BlobRole.Disk, MediaTypes.Qcow2)] };

        var result = _verifier.Verify(_signer.Sign(bad));

        Assert.Equal(ManifestRefusal.Malformed, result.Refusal);
        Assert.Contains("sha256", result.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_signed_payload_with_unknown_members_is_refused()
    {
        var json = Encoding.UTF8.GetString(JsonSerializer.SerializeToUtf8Bytes(Sample(), ContractsJsonContext.Default.ContentManifest));
        var payload = Encoding.UTF8.GetBytes(json.Insert(1, "\"evil\":true,"));

        var result = _verifier.Verify(_signer.SignPayload(payload));

        Assert.Equal(ManifestRefusal.Malformed, result.Refusal);
    }

    [Fact]
    public void The_private_key_survives_a_pem_round_trip()
    {
        using var reloaded = ManifestSigner.FromPem(_signer.ExportPrivateKeyPem());

        Assert.Equal(_signer.KeyId, reloaded.KeyId);
        Assert.True(_verifier.Verify(reloaded.Sign(Sample())).IsValid);
    }

    [Fact]
    public void A_der_signature_made_by_openssl_verifies_and_the_key_id_matches_openssls_spki_hash()
    {
        var dir = Directory.CreateTempSubdirectory("nxt-sig-").FullName;
        try
        {
            var keyPath = Path.Combine(dir, "key.pem");
            var payloadPath = Path.Combine(dir, "manifest.json");
            var sigPath = Path.Combine(dir, "manifest.sig");
            File.WriteAllText(keyPath, _signer.ExportPrivateKeyPem());
            var payload = JsonSerializer.SerializeToUtf8Bytes(Sample(), ContractsJsonContext.Default.ContentManifest);
            File.WriteAllBytes(payloadPath, payload);

            Run("openssl", "dgst", "-sha256", "-sign", keyPath, "-out", sigPath, payloadPath);
            var derPath = Path.Combine(dir, "key.pub.der");
            Run("openssl", "pkey", "-in", keyPath, "-pubout", "-outform", "DER", "-out", derPath);
            var der = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(derPath)));

            var envelope = new SignedManifest(Convert.ToBase64String(payload),
                new ManifestSignature(_signer.KeyId, ManifestSignature.EcdsaP256Sha256, Convert.ToBase64String(File.ReadAllBytes(sigPath))));
            Assert.True(_verifier.Verify(envelope).IsValid);
            Assert.Equal(_signer.KeyId, "sha256:" + der);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static string Run(string file, params string[] args)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEnd();
        var stderr = process.StandardError.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"{file} failed: {stderr}");
        return stdout;
    }
}
