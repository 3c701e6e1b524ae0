using NxTop.Build.Boot;
using NxTop.Build.Images;
using NxTop.Build.Manifest;
using NxTop.Build.Rootfs;
using NxTop.Build.Spec;
using NxTop.Build.Tools;

namespace NxTop.Build;

/// <summary>What the caller supplies besides the spec.</summary>
public sealed record BuildRequest(string SpecPath, string? Profile, string AgentBinary, string AgentVersion, long SourceDateEpoch, IReadOnlyList<string> ExtraAuthorizedKeys)
{
    /// <summary>A folder of SSH keys to use instead of making new ones (user-supplied, or for a reproducibility check).</summary>
    public string? SshKeysFrom { get; init; }
}

/// <summary>
/// One appliance build, as a flat list of steps: spec → base (cached) → keys → configs → top layer → image writers →
/// manifest. Each step consumes the one before; none reaches back.
/// </summary>
public sealed class ApplianceBuild(Workspace workspace, ProcessRunner runner, Action<string> log, TimeProvider time)
{
    /// <summary>
    /// The spec's publisher keys as absolute paths (relative ones are taken from the spec file's folder), each checked
    /// to be an ECDSA P-256 public key in PEM, so a wrong file fails before any work.
    /// </summary>
    public static IReadOnlyList<string> PublisherKeys(LoadedSpec loaded)
    {
        var specDir = Path.GetDirectoryName(Path.GetFullPath(loaded.SourceFiles[0]))!;
        var result = new List<string>();
        var keys = loaded.Spec.Agent.PublisherKeys;
        for (var i = 0; i < keys.Count; i++)
        {
            var path = Path.GetFullPath(keys[i], specDir);
            var where = $"{loaded.SourceFiles[0]}: $.agent.publisherKeys[{i}]";
            if (!File.Exists(path))
            {
                throw new NxTopBuildException($"{where}: {path} does not exist; expected a PEM public key (nxtop-center-admin keygen writes publisher.pub.pem).");
            }

            try
            {
                using var ecdsa = System.Security.Cryptography.ECDsa.Create();
                ecdsa.ImportFromPem(File.ReadAllText(path));
                if (ecdsa.KeySize != 256 || !File.ReadAllText(path).Contains("BEGIN PUBLIC KEY", StringComparison.Ordinal))
                {
                    throw new NxTopBuildException($"{where}: {path} is not an ECDSA P-256 public key (got a {ecdsa.KeySize}-bit key or a private key); the agent verifies ecdsa-p256-sha256 signatures.");
                }
            }
            catch (Exception e) when (e is ArgumentException or System.Security.Cryptography.CryptographicException)
            {
                throw new NxTopBuildException($"{where}: {path} is not a PEM ECDSA public key ({e.Message}).");
            }

            result.Add(path);
        }

        return result;
    }

    public async Task<BuildManifest> RunAsync(BuildRequest request, CancellationToken ct)
    {
        var loaded = SpecLoader.Load(request.SpecPath, request.Profile);
        var spec = loaded.Spec;
        log($"Spec {string.Join(" + ", loaded.SourceFiles)} is valid (sha256 {loaded.Sha256[..16]}); building {spec.ImageId} as {string.Join(", ", spec.Image.Formats)}.");
        var writers = new ImageWriters([new IsoWriter(log), new PxeWriter(runner, log), new DiskWriter(runner, log)]);
        writers.CheckAll(spec.Image.Formats);
        PublisherKeys(loaded);
        if (!File.Exists(request.AgentBinary))
        {
            throw new NxTopBuildException($"The agent binary {request.AgentBinary} does not exist. Publish it first (the Cake target does: ./build.sh).");
        }

        var staging = workspace.StagingDir(spec);
        // Everything is written to <id>.partial and renamed at the end: a failed build leaves no folder that looks finished.
        var final = workspace.OutputDir(spec);
        var output = final + ".partial";
        if (Directory.Exists(output))
        {
            Directory.Delete(output, recursive: true);
        }

        DiskSpace.Require(workspace.ArtifactsRoot, 1L * 1024 * 1024 * 1024, "the image staging and output");

        var rootfs = new RootfsBuilder(workspace, runner, log, time);
        var baseImage = await rootfs.BuildOrReuseAsync(spec, spec.Image.Compression, ct);
        var baseSquashfs = RootfsBuilder.BaseSquashfsPath(baseImage.Directory, spec.Image.Compression);

        Directory.CreateDirectory(staging);
        Directory.CreateDirectory(output);
        var keys = request.SshKeysFrom is { } from
            ? SshKeyMaker.Reuse(from, Path.Combine(output, "ssh"), spec.Ssh.GenerateClientKey)
            : await new SshKeyMaker(runner).MakeAsync(Path.Combine(output, "ssh"), spec.Ssh.GenerateClientKey, spec.ImageId, ct);
        var authorized = request.ExtraAuthorizedKeys.Concat(keys.ClientPublicKeyText is { } k ? [k] : Array.Empty<string>()).ToList();

        var configs = new BootConfigRenderer(new TemplateRenderer(workspace.TemplatesDir)).Render(loaded, authorized);
        var topTree = Path.Combine(staging, "top");
        TopLayer.Stage(topTree, workspace.OverlayDir, configs, request.AgentBinary, keys, PublisherKeys(loaded));
        var topSquashfs = Path.Combine(staging, "nxtop.squashfs");
        await rootfs.MakeSquashfsAsync(topTree, topSquashfs, spec.Image.Compression, request.SourceDateEpoch, [], ct, allRoot: true);

        var inputs = new ImageInputs(loaded, baseImage, baseSquashfs, topSquashfs, configs, staging, output, request.SourceDateEpoch, new InstallerMedium(runner, log));
        var artifacts = new List<string>();
        var timings = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var format in spec.Image.Formats)
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            artifacts.AddRange(await writers.For(format).WriteAsync(inputs, ct));
            timings[format.ToString().ToLowerInvariant()] = Math.Round(clock.Elapsed.TotalSeconds, 1);
        }

        artifacts.AddRange(await new SmokeGuest(runner, log).WriteAsync(baseImage, configs, staging, output, request.SourceDateEpoch, ct));

        var xenMajorMinor = string.Join('.', baseImage.XenVersion.Split('.').Take(2));
        var manifest = new BuildManifest(
            spec.Name,
            spec.Version,
            loaded.Profile,
            loaded.Sha256,
            request.SourceDateEpoch,
            baseImage.Key,
            baseImage.XenVersion,
            baseImage.KernelVersion,
            request.AgentVersion,
            spec.Image.Formats.Contains(OutputFormat.Iso) ? IsoWriter.FileName(spec) : null,
            spec.Image.Formats.Contains(OutputFormat.Pxe) ? PxeWriter.TreeName : null,
            spec.Image.Formats.Contains(OutputFormat.Disk) ? DiskWriter.RawName(spec) : null,
            spec.Image.Formats.Contains(OutputFormat.Disk) ? DiskWriter.Qcow2Name(spec) : null,
            keys.HostPublicKeyText,
            baseImage.RootfsBytes,
            new FileInfo(baseSquashfs).Length,
            new FileInfo(topSquashfs).Length,
            new Expectations(
                xenMajorMinor,
                SpecValidator.TryParseMiB(spec.Xen.Dom0Mem)!.Value,
                spec.Xen.Dom0MaxVcpus,
                spec.Dom0.Hostname,
                spec.Boot.DefaultEntry == BootEntry.Debug ? configs.XenDebugCommandLine : configs.XenCommandLine,
                spec.Boot.DefaultEntry == BootEntry.Debug ? configs.Dom0DebugCommandLine : configs.Dom0CommandLine,
                // What a disk boot of slot A shows: the GRUB variables of the disk menu filled in.
                configs.DiskDom0CommandLine
                    .Replace("${nxtop_slot_partuuid}", configs.Disk.SlotA.Uuid, StringComparison.Ordinal)
                    .Replace("${nxtop_slot}", "a", StringComparison.Ordinal)),
            artifacts.Select(a => BuildManifest.Describe(output, a)).ToList(),
            baseImage.Packages);
        manifest.Write(output);
        if (Directory.Exists(final))
        {
            Directory.Delete(final, recursive: true);
        }

        Directory.Move(output, final);
        AtomicFile.WriteAllText(workspace.LastImagePointer, final + "\n");
        // Seconds each format added on top of the shared rootfs, for the Bench table (kept out of the image folder,
        // whose bytes must not depend on how long a build took).
        AtomicFile.WriteAllText(Path.Combine(workspace.ArtifactsRoot, BenchReport.FormatTimingsName),
            System.Text.Json.JsonSerializer.Serialize(timings) + "\n");
        log($"Done: {final}");
        return manifest;
    }
}
