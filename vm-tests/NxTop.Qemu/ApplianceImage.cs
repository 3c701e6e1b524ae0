using System.Text.Json;
using System.Text.Json.Serialization;

namespace NxTop.Qemu;

/// <summary>What the build promises the tests, from <c>manifest.json</c>'s <c>expect</c> object.</summary>
public sealed record ImageExpectations
{
    /// <summary>The Xen version as <c>major.minor</c>, e.g. <c>4.17</c>.</summary>
    public required string XenMajorMinor { get; init; }

    /// <summary>dom0's memory in MiB (Xen's <c>dom0_mem</c>).</summary>
    public required int Dom0MemMiB { get; init; }

    /// <summary>dom0's vCPU count (Xen's <c>dom0_max_vcpus</c>).</summary>
    public required int Dom0MaxVcpus { get; init; }

    /// <summary>The appliance's host name.</summary>
    public required string Hostname { get; init; }

    /// <summary>Xen's command line as <c>xl info</c> reports it.</summary>
    public required string XenCommandLine { get; init; }

    /// <summary>dom0's kernel command line as <c>/proc/cmdline</c> holds it.</summary>
    public required string Dom0CommandLine { get; init; }

    /// <summary>dom0's kernel command line when the disk boots slot A.</summary>
    public required string DiskDom0CommandLine { get; init; }
}

/// <summary>
/// The parts of the build's <c>manifest.json</c> the tests read. Lenient on purpose: the build owns the file and
/// may add members, which are ignored; members listed here are required.
/// </summary>
public sealed record ImageManifest
{
    /// <summary>The appliance name.</summary>
    public required string Name { get; init; }

    /// <summary>The appliance version.</summary>
    public required string Version { get; init; }

    /// <summary>The ISO's file name, relative to the image directory; null when the spec built no ISO.</summary>
    public string? Iso { get; init; }

    /// <summary>The PXE tree's folder, relative to the image directory; null when the spec built none.</summary>
    public string? Pxe { get; init; }

    /// <summary>The raw disk image's file name; null when the spec built no disk image.</summary>
    public string? Disk { get; init; }

    /// <summary>The qcow2 disk image's file name; null when the spec built no disk image.</summary>
    public string? DiskQcow2 { get; init; }

    /// <summary>What a booted image must show.</summary>
    public required ImageExpectations Expect { get; init; }

    /// <summary>Parses a manifest; unknown members are ignored, missing required ones are an error.</summary>
    /// <exception cref="JsonException">Not JSON, or a required member is missing.</exception>
    public static ImageManifest Parse(string json) =>
        JsonSerializer.Deserialize(json, ManifestJsonContext.Default.ImageManifest)
        ?? throw new JsonException("manifest.json holds null.");
}

/// <summary>A built image directory: manifest, ISO and the SSH keys the build made for it.</summary>
public sealed record ApplianceImage(string Directory, ImageManifest Manifest)
{
    /// <summary>The environment variable that names an image directory directly.</summary>
    public const string DirectoryVariable = "NXTOP_IMAGE_DIR";

    /// <summary>The user the tests log in as.</summary>
    public const string LoginUser = "root";

    /// <summary>The ISO.</summary>
    /// <exception cref="ImageNotFoundException">The image has no ISO (its spec did not list the format).</exception>
    public string IsoPath => Manifest.Iso is { } iso
        ? Path.Combine(Directory, iso)
        : throw new ImageNotFoundException($"The image in {Directory} has no ISO: add \"iso\" to image.formats in the spec and rebuild.");

    /// <summary>The PXE tree (TFTP root and HTTP root alike).</summary>
    /// <exception cref="ImageNotFoundException">The image has no PXE tree (its spec did not list the format).</exception>
    public string PxeDirectory => Manifest.Pxe is { } pxe
        ? Path.Combine(Directory, pxe)
        : throw new ImageNotFoundException($"The image in {Directory} has no PXE tree: add \"pxe\" to image.formats in the spec and rebuild.");

    /// <summary>The qcow2 disk image.</summary>
    /// <exception cref="ImageNotFoundException">The image has no disk image (its spec did not list the format).</exception>
    public string DiskQcow2Path => Manifest.DiskQcow2 is { } q
        ? Path.Combine(Directory, q)
        : throw new ImageNotFoundException($"The image in {Directory} has no disk image: add \"disk\" to image.formats in the spec and rebuild.");

    /// <summary>The raw disk image.</summary>
    /// <exception cref="ImageNotFoundException">The image has no disk image.</exception>
    public string DiskRawPath => Manifest.Disk is { } d
        ? Path.Combine(Directory, d)
        : throw new ImageNotFoundException($"The image in {Directory} has no disk image: add \"disk\" to image.formats in the spec and rebuild.");

    /// <summary>
    /// The unattended installer image that goes with this one: the <c>installer</c> profile names it
    /// <c>&lt;name&gt;-installer</c>, so it is <c>artifacts/&lt;name&gt;-installer-&lt;version&gt;</c> unless
    /// <c>NXTOP_INSTALLER_IMAGE_DIR</c> says otherwise.
    /// </summary>
    public static ApplianceImage LocateInstaller(RepoLayout repo, ApplianceImage main, Func<string, string?>? getEnvironmentVariable = null)
    {
        ArgumentNullException.ThrowIfNull(repo);
        ArgumentNullException.ThrowIfNull(main);
        var env = (getEnvironmentVariable ?? Environment.GetEnvironmentVariable)("NXTOP_INSTALLER_IMAGE_DIR");
        return !string.IsNullOrWhiteSpace(env)
            ? Load(Path.GetFullPath(env.Trim(), repo.Root), $"NXTOP_INSTALLER_IMAGE_DIR={env}")
            : Load(Path.Combine(repo.Artifacts, $"{main.Manifest.Name}-installer-{main.Manifest.Version}"),
                "the installer profile's name (build it with ./build.sh --profile=installer)");
    }

    /// <summary>
    /// The <c>vmtest</c> profile's image that goes with this one (<c>artifacts/&lt;name&gt;-vmtest-&lt;version&gt;</c>, built
    /// with <c>./build.sh --profile=vmtest</c>), or <c>NXTOP_VMTEST_IMAGE_DIR</c>; this image itself if it is one.
    /// </summary>
    public static ApplianceImage LocateVmTest(RepoLayout repo, ApplianceImage main, Func<string, string?>? getEnvironmentVariable = null)
    {
        ArgumentNullException.ThrowIfNull(repo);
        ArgumentNullException.ThrowIfNull(main);
        var env = (getEnvironmentVariable ?? Environment.GetEnvironmentVariable)("NXTOP_VMTEST_IMAGE_DIR");
        if (!string.IsNullOrWhiteSpace(env))
        {
            return Load(Path.GetFullPath(env.Trim(), repo.Root), $"NXTOP_VMTEST_IMAGE_DIR={env}");
        }

        return main.Manifest.Name.EndsWith("-vmtest", StringComparison.Ordinal)
            ? main
            : Load(Path.Combine(repo.Artifacts, $"{main.Manifest.Name}-vmtest-{main.Manifest.Version}"),
                "the vmtest profile's name (build it with ./build.sh --profile=vmtest)");
    }

    /// <summary>The image's name-version id, the folder under which the PXE tree is served over HTTP.</summary>
    public string ImageId => $"{Manifest.Name}-{Manifest.Version}";

    /// <summary>The client's private key (OpenSSH ed25519, no passphrase).</summary>
    public string ClientKeyPath => Path.Combine(Directory, "ssh", "id_ed25519");

    /// <summary>The image's host public key, which the tests pin.</summary>
    public string HostPublicKeyPath => Path.Combine(Directory, "ssh", "ssh_host_ed25519_key.pub");

    /// <summary>The pinned host key fingerprint (unpadded base64 SHA256).</summary>
    public string HostKeyFingerprint => Qemu.HostKeyFingerprint.FromPublicKeyFile(HostPublicKeyPath);

    /// <summary>
    /// Finds the image: <c>NXTOP_IMAGE_DIR</c>, else the directory on the first line of
    /// <c>artifacts/last-image.txt</c> (relative paths are taken from the repo root).
    /// </summary>
    /// <exception cref="ImageNotFoundException">Neither names an image directory that has all its files.</exception>
    public static ApplianceImage Locate(RepoLayout repo, Func<string, string?>? getEnvironmentVariable = null)
    {
        ArgumentNullException.ThrowIfNull(repo);
        var env = (getEnvironmentVariable ?? Environment.GetEnvironmentVariable)(DirectoryVariable);
        if (!string.IsNullOrWhiteSpace(env))
        {
            return Load(Path.GetFullPath(env.Trim(), repo.Root), $"{DirectoryVariable}={env}");
        }

        var pointer = repo.LastImagePointer;
        if (!File.Exists(pointer))
        {
            throw new ImageNotFoundException(
                $"No image to test: {DirectoryVariable} is not set and {pointer} does not exist. Run ./build.sh first.");
        }

        var first = File.ReadLines(pointer).FirstOrDefault()?.Trim();
        if (string.IsNullOrEmpty(first))
        {
            throw new ImageNotFoundException($"{pointer} is empty. Run ./build.sh first.");
        }

        return Load(Path.GetFullPath(first, repo.Root), pointer);
    }

    /// <summary>Loads an image directory and checks that every file the tests need is there.</summary>
    /// <exception cref="ImageNotFoundException">A file is missing or the manifest is unreadable.</exception>
    public static ApplianceImage Load(string directory, string foundVia = "the caller")
    {
        var hint = $"(image directory {directory}, named by {foundVia}). Run ./build.sh first.";
        var manifestPath = Path.Combine(directory, "manifest.json");
        if (!File.Exists(manifestPath))
        {
            throw new ImageNotFoundException($"No manifest.json {hint}");
        }

        ImageManifest manifest;
        try
        {
            manifest = ImageManifest.Parse(File.ReadAllText(manifestPath));
        }
        catch (JsonException e)
        {
            throw new ImageNotFoundException($"{manifestPath} is not a usable manifest: {e.Message} {hint}", e);
        }

        var image = new ApplianceImage(directory, manifest);
        foreach (var file in new[] { manifest.Iso is null ? null : image.IsoPath, image.ClientKeyPath, image.HostPublicKeyPath })
        {
            if (file is not null && !File.Exists(file))
            {
                throw new ImageNotFoundException($"Missing {file} {hint}");
            }
        }

        foreach (var file in new[] { manifest.Disk, manifest.DiskQcow2 })
        {
            if (file is not null && !File.Exists(Path.Combine(directory, file)))
            {
                throw new ImageNotFoundException($"Missing {Path.Combine(directory, file)} {hint}");
            }
        }

        if (manifest.Pxe is not null && !File.Exists(Path.Combine(image.PxeDirectory, "SHA256SUMS")))
        {
            throw new ImageNotFoundException($"The PXE tree {image.PxeDirectory} is missing or incomplete {hint}");
        }

        return image;
    }
}

/// <summary>There is no usable built image; the message says how to make one.</summary>
public sealed class ImageNotFoundException : Exception
{
    /// <summary>Creates the exception.</summary>
    public ImageNotFoundException(string message, Exception? innerException = null)
        : base(message, innerException)
    {
    }
}

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    PropertyNameCaseInsensitive = true,
    ReadCommentHandling = JsonCommentHandling.Skip,
    AllowTrailingCommas = true,
    WriteIndented = true)]
[JsonSerializable(typeof(ImageManifest))]
[JsonSerializable(typeof(BootTiming))]
[JsonSerializable(typeof(List<Measure>))]
internal sealed partial class ManifestJsonContext : JsonSerializerContext;
