using System.Diagnostics;
using NxTop.Agent.Storage;
using NxTop.Contracts;

namespace NxTop.Agent.Tests;

/// <summary>
/// A test publisher: makes real qcow2 layers with qemu-img/qemu-io (named by their sha256, each
/// overlay backed by its parent's hash, as the manifest format requires) and signs manifests.
/// </summary>
internal sealed class Publisher : IDisposable
{
    public const long DiskBytes = 4 * 1024 * 1024;

    private readonly TempDirectory _temp = new();

    public Publisher()
    {
        Directory.CreateDirectory(BlobDirectory);
    }

    public ManifestSigner Signer { get; } = ManifestSigner.Generate();

    public string BlobDirectory => _temp.Combine("blobs");

    public string PublicKeyPem => Signer.ExportPublicKeyPem();

    public string BlobPath(ManifestBlob blob) => Path.Combine(BlobDirectory, blob.Sha256);

    public ManifestVerifier Verifier() => ManifestVerifier.FromPublicKeyPems([PublicKeyPem]);

    /// <summary>A qcow2 layer: a fresh disk, or an overlay on <paramref name="parent"/>, with 64 KiB of <paramref name="pattern"/> at <paramref name="offset"/>.</summary>
    public ManifestBlob Layer(ManifestBlob? parent, byte pattern, long offset = 0)
    {
        var temporary = Path.Combine(BlobDirectory, $"new-{Guid.NewGuid():n}.qcow2");
        if (parent is null)
        {
            Run("qemu-img", "create", "-q", "-f", "qcow2", temporary, DiskBytes.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
        else
        {
            Run("qemu-img", "create", "-q", "-f", "qcow2", "-b", parent.Sha256, "-F", "qcow2", temporary);
        }

        Run("qemu-io", "-f", "qcow2", "-c", $"write -P 0x{pattern:x2} {offset} 64k", temporary);
        return Add(temporary, MediaTypes.Qcow2);
    }

    public ManifestBlob Raw(byte[] bytes, string mediaType = MediaTypes.Raw, BlobRole role = BlobRole.Disk)
    {
        var temporary = Path.Combine(BlobDirectory, $"new-{Guid.NewGuid():n}");
        File.WriteAllBytes(temporary, bytes);
        return Add(temporary, mediaType) with { Role = role };
    }

    public SignedManifest Publish(ContentKind kind, string name, long version, IReadOnlyList<ManifestBlob> blobs, long? rollbackOf = null) =>
        Signer.Sign(new ContentManifest(kind, name, version, blobs, new DateTimeOffset(2026, 11, 1, 0, 0, 0, TimeSpan.Zero), rollbackOf));

    public static string Run(string file, params string[] args) => RunAllowingFailure(file, args, mustSucceed: true).Output;

    public static (int ExitCode, string Output) RunAllowingFailure(string file, string[] args, bool mustSucceed = false)
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
        Assert.True(!mustSucceed || process.ExitCode == 0, $"{file} {string.Join(' ', args)} failed ({process.ExitCode}): {stderr}{stdout}");
        return (process.ExitCode, stdout + stderr);
    }

    /// <summary>True if the guest-visible bytes of <paramref name="image"/> at <paramref name="offset"/> are 64 KiB of <paramref name="pattern"/>.</summary>
    public static bool Reads(string image, byte pattern, long offset = 0)
    {
        var (exitCode, output) = RunAllowingFailure("qemu-io", ["-r", "-U", "-f", "qcow2", "-c", $"read -P 0x{pattern:x2} {offset} 64k", image]);
        Assert.True(output.Contains("read 65536/65536", StringComparison.Ordinal), output);
        return exitCode == 0 && !output.Contains("Pattern verification failed", StringComparison.Ordinal);
    }

    public void Dispose()
    {
        Signer.Dispose();
        _temp.Dispose();
    }

    private ManifestBlob Add(string temporary, string mediaType)
    {
        var hash = ContentStore.HashFile(temporary);
        var path = Path.Combine(BlobDirectory, hash);
        File.Move(temporary, path, overwrite: true);
        return new ManifestBlob(hash, new FileInfo(path).Length, BlobRole.Disk, mediaType);
    }
}
