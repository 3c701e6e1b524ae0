using NxTop.Build.Boot;
using NxTop.Build.Rootfs;
using NxTop.Build.Spec;

namespace NxTop.Build.Images;

/// <summary>Everything an image writer consumes: the spec, the cached base, the staged top layer and the rendered configs.</summary>
public sealed record ImageInputs(
    LoadedSpec Spec,
    BaseImage Base,
    string BaseSquashfs,
    string TopSquashfs,
    RenderedConfigs Configs,
    string StagingDir,
    string OutputDir,
    long SourceDateEpoch,
    InstallerMedium Medium);

/// <summary>Writes one output format. Writers live in <see cref="ImageWriters"/>, keyed by format.</summary>
public interface IImageWriter
{
    OutputFormat Format { get; }

    /// <summary>Writes the format's artifacts into the output dir (atomically) and returns their paths.</summary>
    Task<IReadOnlyList<string>> WriteAsync(ImageInputs inputs, CancellationToken ct);
}

/// <summary>The registry of image writers. Every format in the spec must have one, checked before any work.</summary>
public sealed class ImageWriters(IEnumerable<IImageWriter> writers)
{
    private readonly Dictionary<OutputFormat, IImageWriter> _byFormat = writers.ToDictionary(w => w.Format);

    public IImageWriter For(OutputFormat format) =>
        _byFormat.TryGetValue(format, out var w)
            ? w
            : throw new NxTopBuildException($"There is no image writer for format '{format}'. Known formats: {string.Join(", ", _byFormat.Keys)}.");

    public void CheckAll(IEnumerable<OutputFormat> formats)
    {
        foreach (var f in formats)
        {
            For(f);
        }
    }
}
