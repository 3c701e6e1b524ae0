using NxTop.Build.Tools;

namespace NxTop.Build.Images;

/// <summary>The installer ISO and the disk parts it carries.</summary>
public sealed record MediumFiles(string Iso, InstallPayload Payload);

/// <summary>
/// The installer ISO, built once per build in staging and shared by the formats: <c>iso</c> publishes it, the PXE
/// tree serves it as root.iso (so a network boot can install too), and the disk image holds it as root slot A.
/// </summary>
public sealed class InstallerMedium(ProcessRunner runner, Action<string> log)
{
    private Task<MediumFiles>? _built;

    public Task<MediumFiles> GetAsync(ImageInputs inputs, CancellationToken ct) => _built ??= BuildAsync(inputs, ct);

    private async Task<MediumFiles> BuildAsync(ImageInputs inputs, CancellationToken ct)
    {
        var payload = await new InstallPayloadBuilder(runner, log).BuildAsync(inputs.Configs, inputs.StagingDir, inputs.SourceDateEpoch, ct);
        var iso = Path.Combine(inputs.StagingDir, IsoWriter.FileName(inputs.Spec.Spec));
        await IsoWriter.MakeAsync(runner, inputs, payload, iso, ct);
        log($"Made the installer medium {Path.GetFileName(iso)} ({new FileInfo(iso).Length / 1048576} MiB).");
        return new MediumFiles(iso, payload);
    }
}
