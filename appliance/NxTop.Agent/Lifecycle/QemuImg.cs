using System.Text.Json;
using System.Text.Json.Serialization;

namespace NxTop.Agent.Lifecycle;

/// <summary>The part of <c>qemu-img info --output=json</c> the agent reads.</summary>
internal sealed record QemuImgInfo(
    [property: JsonPropertyName("filename")] string Filename,
    [property: JsonPropertyName("format")] string Format,
    [property: JsonPropertyName("virtual-size")] long VirtualSize,
    [property: JsonPropertyName("backing-filename")] string? BackingFilename = null,
    [property: JsonPropertyName("backing-filename-format")] string? BackingFormat = null);

/// <summary>qemu-img through the agent's process runner (argument lists, stderr in the exception, exit codes checked).</summary>
internal sealed class QemuImg(ProcessRunner runner, string qemuImgPath)
{
    public static readonly TimeSpan Timeout = TimeSpan.FromMinutes(10);

    /// <summary><c>qemu-img create -f qcow2 -b BACKING -F qcow2 PATH</c>: an empty overlay over <paramref name="backing"/>.</summary>
    public Task CreateOverlayAsync(string path, string backing, CancellationToken cancellationToken, string backingFormat = "qcow2") =>
        runner.RunCheckedAsync(qemuImgPath, ["create", "-q", "-f", "qcow2", "-b", backing, "-F", backingFormat, path], Timeout, cancellationToken);

    /// <summary>
    /// <c>qemu-img rebase -u</c>: rewrites only the backing file name in the header, so the overlay's
    /// own clusters stay as they are and every cluster it does not hold now reads from <paramref name="newBacking"/>.
    /// </summary>
    public Task RebaseUnsafeAsync(string path, string newBacking, CancellationToken cancellationToken) =>
        runner.RunCheckedAsync(qemuImgPath, ["rebase", "-u", "-f", "qcow2", "-b", newBacking, "-F", "qcow2", path], Timeout, cancellationToken);

    public async Task<QemuImgInfo> InfoAsync(string path, CancellationToken cancellationToken)
    {
        // -U: read the header even while a running guest holds the image.
        var result = await runner.RunCheckedAsync(qemuImgPath, ["info", "-U", "--output=json", path], Timeout, cancellationToken).ConfigureAwait(false);
        try
        {
            return JsonSerializer.Deserialize(result.StandardOutput, AgentJson.Context.QemuImgInfo)
                ?? throw new ProcessFailedException($"qemu-img info {path} printed null");
        }
        catch (JsonException ex)
        {
            throw new ProcessFailedException($"qemu-img info {path} printed JSON the agent cannot read: {ex.Message}");
        }
    }
}
