using System.Net.Http.Json;
using System.Text.Json;
using NxTop.Center.Cli;
using NxTop.Contracts;
using NxTop.Contracts.Center;

namespace NxTop.Center.Tests;

public sealed class CliTests : IDisposable
{
    private readonly CenterFactory center = new();
    private readonly string work = TempDirectory.Create("nxtop-cli-");

    public void Dispose()
    {
        center.Dispose();
        TempDirectory.Delete(work);
    }

    private async Task<(int Exit, string Out, string Err)> Run(params string[] args)
    {
        using var http = center.Admin();
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exit = await new AdminCli(http, output, error).RunAsync(args);
        return (exit, output.ToString(), error.ToString());
    }

    [Fact]
    public async Task Keygen_writes_a_0600_private_key_and_a_public_key_that_verify_each_other()
    {
        var path = Path.Combine(work, "publisher.key.pem");
        using var output = new StringWriter();
        using var error = new StringWriter();
        Assert.Equal(0, AdminCli.KeyGen([path], output, error));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        using var signer = ManifestSigner.FromPem(await File.ReadAllTextAsync(path));
        using var verifier = ManifestVerifier.FromPublicKeyPems([await File.ReadAllTextAsync(Path.Combine(work, "publisher.pub.pem"))]);
        var manifest = new ContentManifest(ContentKind.Base, "desktop", 1, [new ManifestBlob(new string('a', 64), 1, BlobRole.Disk, MediaTypes.Qcow2)], DateTimeOffset.UnixEpoch);
        Assert.True(verifier.Verify(signer.Sign(manifest)).IsValid);
        Assert.Contains(signer.KeyId, output.ToString(), StringComparison.Ordinal);

        Assert.Equal(1, AdminCli.KeyGen([path], output, error));
        Assert.Equal(AdminCli.Usage, AdminCli.KeyGen([], output, error));
    }

    [Fact]
    public async Task The_server_uses_a_key_made_by_keygen()
    {
        var data = TempDirectory.Create("nxtop-keygen-");
        try
        {
            using var output = new StringWriter();
            Assert.Equal(0, AdminCli.KeyGen([Path.Combine(data, "publisher.key.pem")], output, output));
            using var keyed = new CenterFactory(data);
            var published = await keyed.PublishAsync(ContentKind.Base, "desktop", "v1");
            using var verifier = ManifestVerifier.FromPublicKeyPems([await File.ReadAllTextAsync(Path.Combine(data, "publisher.pub.pem"))]);
            Assert.Equal(verifier.KeyIds.Single(), published.KeyId);
        }
        finally
        {
            TempDirectory.Delete(data);
        }
    }

    [Fact]
    public async Task Publish_patch_group_assign_and_promote_from_the_command_line()
    {
        var baseFile = Path.Combine(work, "desktop.qcow2");
        var deltaFile = Path.Combine(work, "delta.qcow2");
        var appFile = Path.Combine(work, "office.img");
        await File.WriteAllTextAsync(baseFile, "base image");
        await File.WriteAllTextAsync(deltaFile, "patch delta");
        await File.WriteAllTextAsync(appFile, "office layer");

        var published = await Run("publish", "base", "desktop", baseFile);
        Assert.Equal(0, published.Exit);
        Assert.Equal(1, JsonSerializer.Deserialize(published.Out, CenterJsonContext.Default.PublishedContent)!.Version);
        Assert.Equal(0, (await Run("publish", "app", "office", appFile, "--channel", "current")).Exit);
        var patch = await Run("patch", "desktop", deltaFile, "--of", "1");
        Assert.Equal(0, patch.Exit);
        var patched = JsonSerializer.Deserialize(patch.Out, CenterJsonContext.Default.PublishedContent)!;
        Assert.Equal(2, patched.Blobs.Count);
        Assert.Equal(MediaTypes.Qcow2, patched.Blobs[1].MediaType);

        Assert.Equal(0, (await Run("group", "pilot", "--pilot")).Exit);
        var tokens = await Run("tokens", "--count", "2", "--group", "pilot");
        Assert.Equal(0, tokens.Exit);
        Assert.Equal(2, tokens.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        Assert.Equal(0, (await Run("assign", "group", "pilot", "desktop", "--app", "office", "--mode", "custom", "--deadline", "120", "--lockout-days", "0")).Exit);

        using var device = center.CreateClient();
        var token = tokens.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries)[0];
        using var enroll = await device.PostAsJsonAsync(ApiRoutes.Enroll, new EnrollmentRequest(token, "pc", CenterFactory.Inventory("pc")), ContractsJsonContext.Default.EnrollmentRequest);
        var enrolled = (await enroll.Content.ReadFromJsonAsync(ContractsJsonContext.Default.EnrollmentResponse))!;
        using var asDevice = center.Device(enrolled.Credential);
        var desired = await asDevice.GetFromJsonAsync(ApiRoutes.DesiredState(enrolled.DeviceId), ContractsJsonContext.Default.DesiredState);
        Assert.Equal(2, desired!.Base.Version);
        Assert.Equal(ImageMode.Custom, desired.Policy.ImageMode);
        Assert.Equal("office", Assert.Single(desired.Apps).Name);

        Assert.Equal(0, (await Run("promote", "desktop")).Exit);
        var promoteAgain = await Run("promote", "desktop");
        Assert.Equal(1, promoteAgain.Exit);
        Assert.Contains("no staged version", promoteAgain.Err, StringComparison.Ordinal);

        var devices = await Run("devices", "--group", "pilot");
        Assert.Contains(enrolled.DeviceId, devices.Out, StringComparison.Ordinal);
        Assert.Equal(0, (await Run("kill", enrolled.DeviceId)).Exit);
        Assert.Contains("\"killPending\":1", (await Run("fleet")).Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bad_command_lines_exit_64_and_refusals_exit_1_with_the_reason()
    {
        Assert.Equal(AdminCli.Usage, (await Run("frobnicate")).Exit);
        Assert.Equal(AdminCli.Usage, (await Run("publish", "os", "desktop", "/nonexistent")).Exit);
        Assert.Equal(AdminCli.Usage, (await Run("tokens", "--count", "many")).Exit);
        var refused = await Run("track", "nothing");
        Assert.Equal(1, refused.Exit);
        Assert.Contains("404", refused.Err, StringComparison.Ordinal);
    }
}
