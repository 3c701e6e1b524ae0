using System.Security.Cryptography;
using System.Text.Json;
using NxTop.Build.Manifest;
using NxTop.Build.Rootfs;
using NxTop.Build.Spec;
using NxTop.Build.Tools;

namespace NxTop.Build.Tests;

public class BuildManifestTests
{
    private static BuildManifest Sample(IReadOnlyList<ArtifactEntry> artifacts) => new(
        "nxtop",
        "0.1.0",
        "lab",
        new string('a', 64),
        1_700_000_000,
        "base-" + new string('b', 16),
        "4.17.5",
        "6.1.0-30-amd64",
        "0.1.0+abc",
        "nxtop-0.1.0.iso",
        "pxe",
        "nxtop-0.1.0.img",
        "nxtop-0.1.0.qcow2",
        "SHA256:hostkeyfingerprint",
        123_456_789,
        100_000_000,
        2_000_000,
        new Expectations("4.17", 2048, 2, "nxtop", "dom0_mem=2048M,max:2048M", "console=hvc0 boot=live", "console=hvc0 boot=live nxtop.slot=a"),
        artifacts,
        [new PackageVersion("xen-hypervisor-4.17-amd64", "4.17.5+23-ga4e5191b-1", "amd64"), new PackageVersion("bash", "5.2.15-2+b7", "amd64")]);

    [Fact]
    public void Describe_gives_the_relative_path_size_and_sha256()
    {
        using var dir = new TempDir();
        var file = dir.Write("ssh/id_ed25519.pub", "ssh-ed25519 AAAA test\n");

        var entry = BuildManifest.Describe(dir.Path, file);

        Assert.Equal("ssh/id_ed25519.pub", entry.File);
        Assert.Equal(new FileInfo(file).Length, entry.Size);
        Assert.Equal(Sha256Of(file), entry.Sha256);
    }

    [Fact]
    public void The_manifest_round_trips_through_json()
    {
        using var dir = new TempDir();
        var iso = dir.Write("nxtop-0.1.0.iso", "not really an ISO");
        var manifest = Sample([BuildManifest.Describe(dir.Path, iso)]);

        manifest.Write(dir.Path);

        var text = File.ReadAllText(Path.Combine(dir.Path, BuildManifest.FileName));
        Assert.EndsWith("}\n", text, StringComparison.Ordinal);
        var back = JsonSerializer.Deserialize<BuildManifest>(text, SpecLoader.JsonOptions)!;
        Assert.Equal(JsonSerializer.Serialize(manifest, SpecLoader.JsonOptions) + "\n", text);
        Assert.Equal(text, JsonSerializer.Serialize(back, SpecLoader.JsonOptions) + "\n");
        Assert.Equal("lab", back.Profile);
        Assert.Equal(2048, back.Expect.Dom0MemMiB);
        Assert.Equal("nxtop-0.1.0.iso", Assert.Single(back.Artifacts).File);
        Assert.Equal(2, back.Packages.Count);
        using var doc = JsonDocument.Parse(text);
        Assert.Equal("4.17", doc.RootElement.GetProperty("expect").GetProperty("xenMajorMinor").GetString());
    }

    [Fact]
    public void SHA256SUMS_lists_every_artifact_and_the_manifest_in_sha256sum_format()
    {
        using var dir = new TempDir();
        var iso = dir.Write("nxtop-0.1.0.iso", "iso bytes");
        var key = dir.Write("ssh/id_ed25519.pub", "ssh-ed25519 AAAA test\n");
        var manifest = Sample([BuildManifest.Describe(dir.Path, key), BuildManifest.Describe(dir.Path, iso)]);

        manifest.Write(dir.Path);

        var sums = File.ReadAllText(Path.Combine(dir.Path, BuildManifest.SumsName));
        Assert.EndsWith("\n", sums, StringComparison.Ordinal);
        var lines = sums.TrimEnd('\n').Split('\n');
        Assert.Equal(["manifest.json", "nxtop-0.1.0.iso", "ssh/id_ed25519.pub"], lines.Select(l => l[66..]));
        foreach (var line in lines)
        {
            Assert.Matches("^[0-9a-f]{64}  [^ ]", line);
            Assert.Equal(Sha256Of(Path.Combine(dir.Path, line[66..])), line[..64]);
        }

        // Nothing else is left behind (no temporary files).
        Assert.Equal(
            ["SHA256SUMS", "manifest.json", "nxtop-0.1.0.iso", "ssh/id_ed25519.pub"],
            Directory.GetFiles(dir.Path, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(dir.Path, f)).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task SHA256SUMS_is_accepted_by_sha256sum_check()
    {
        using var dir = new TempDir();
        var iso = dir.Write("nxtop-0.1.0.iso", "iso bytes");
        Sample([BuildManifest.Describe(dir.Path, iso)]).Write(dir.Path);

        var ok = await new ProcessRunner().RunAsync("sha256sum", ["--check", "--strict", BuildManifest.SumsName], new ToolRun { WorkingDirectory = dir.Path, CheckExitCode = false });
        File.AppendAllText(iso, "tampered");
        var tampered = await new ProcessRunner().RunAsync("sha256sum", ["--check", "--strict", BuildManifest.SumsName], new ToolRun { WorkingDirectory = dir.Path, CheckExitCode = false });

        Assert.True(ok.ExitCode == 0, ok.StandardOutput + ok.StandardError);
        Assert.Contains("nxtop-0.1.0.iso: OK", ok.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("manifest.json: OK", ok.StandardOutput, StringComparison.Ordinal);
        Assert.NotEqual(0, tampered.ExitCode);
        Assert.Contains("nxtop-0.1.0.iso: FAILED", tampered.StandardOutput, StringComparison.Ordinal);
    }

    private static string Sha256Of(string path) => Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path)));
}
