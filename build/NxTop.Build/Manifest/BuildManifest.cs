using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using NxTop.Build.Rootfs;
using NxTop.Build.Spec;
using NxTop.Build.Tools;

namespace NxTop.Build.Manifest;

/// <summary>An artifact with its size and sha256.</summary>
public sealed record ArtifactEntry(string File, long Size, string Sha256);

/// <summary>What a booted appliance must show; the VM tests check it over SSH.</summary>
public sealed record Expectations(
    string XenMajorMinor,
    int Dom0MemMiB,
    int Dom0MaxVcpus,
    string Hostname,
    string XenCommandLine,
    string Dom0CommandLine,
    string DiskDom0CommandLine);

/// <summary>
/// manifest.json: the spec hash, the component versions, the full package list (SBOM), each artifact's size and
/// sha256, and what the booted image must show.
/// </summary>
public sealed record BuildManifest(
    string Name,
    string Version,
    string Profile,
    string SpecSha256,
    long SourceDateEpoch,
    string BaseKey,
    string XenVersion,
    string KernelVersion,
    string AgentVersion,
    string? Iso,
    string? Pxe,
    string? Disk,
    string? DiskQcow2,
    string SshHostKey,
    long RootfsBytes,
    long BaseSquashfsBytes,
    long TopSquashfsBytes,
    Expectations Expect,
    IReadOnlyList<ArtifactEntry> Artifacts,
    IReadOnlyList<PackageVersion> Packages)
{
    public const string FileName = "manifest.json";
    public const string SumsName = "SHA256SUMS";

    public static ArtifactEntry Describe(string outputDir, string path)
    {
        using var stream = File.OpenRead(path);
        var hash = Convert.ToHexStringLower(SHA256.HashData(stream));
        return new ArtifactEntry(Path.GetRelativePath(outputDir, path), stream.Length, hash);
    }

    /// <summary>Writes manifest.json and SHA256SUMS (which also covers the manifest), each atomically.</summary>
    public void Write(string outputDir)
    {
        var json = JsonSerializer.Serialize(this, SpecLoader.JsonOptions);
        var manifestPath = Path.Combine(outputDir, FileName);
        AtomicFile.WriteAllText(manifestPath, json + "\n");
        var sums = new StringBuilder();
        foreach (var a in Artifacts.Append(Describe(outputDir, manifestPath)).OrderBy(a => a.File, StringComparer.Ordinal))
        {
            sums.Append(a.Sha256).Append("  ").Append(a.File).Append('\n');
        }

        AtomicFile.WriteAllText(Path.Combine(outputDir, SumsName), sums.ToString());
    }
}
