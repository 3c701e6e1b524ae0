using System.Text.Json;
using NxTop.Contracts;

namespace NxTop.Contracts.Tests;

public sealed class ProtocolJsonTests
{
    private static readonly DesiredState State = new(
        "dev-1",
        new ContentRef("desktop", 2, "/content/manifests/desktop/2"),
        [new ContentRef("office", 1, "/content/manifests/office/1")],
        new DevicePolicy(ImageMode.Custom, 120, 30, LockoutAction.StopGuest),
        new DateTimeOffset(2026, 11, 24, 12, 0, 0, TimeSpan.Zero),
        7);

    [Fact]
    public void Desired_state_uses_camel_case_members_and_enum_names()
    {
        var json = JsonSerializer.Serialize(State, ContractsJsonContext.Default.DesiredState);

        Assert.Contains("\"deviceId\":\"dev-1\"", json, StringComparison.Ordinal);
        Assert.Contains("\"imageMode\":\"custom\"", json, StringComparison.Ordinal);
        Assert.Contains("\"lockoutAction\":\"stopGuest\"", json, StringComparison.Ordinal);
        Assert.Contains("\"generation\":7", json, StringComparison.Ordinal);
        var back = JsonSerializer.Deserialize(json, ContractsJsonContext.Default.DesiredState)!;
        Assert.Equal(State.Policy, back.Policy);
        Assert.Equal(State.Apps, back.Apps);
    }

    [Fact]
    public void A_desired_state_without_a_required_member_does_not_parse()
    {
        const string json = """{"deviceId":"d","apps":[],"policy":{"imageMode":"shared","healthCheckDeadlineSeconds":60,"lockoutDays":0,"lockoutAction":"none"},"issuedAt":"2026-01-01T00:00:00Z","generation":1}""";

        Assert.Throws<JsonException>(() => JsonSerializer.Deserialize(json, ContractsJsonContext.Default.DesiredState));
    }

    [Fact]
    public void Unknown_members_in_protocol_messages_are_ignored_for_forward_compatibility()
    {
        const string json = """{"deviceId":"d","credential":"c","future":1}""";

        Assert.Equal(new EnrollmentResponse("d", "c"), JsonSerializer.Deserialize(json, ContractsJsonContext.Default.EnrollmentResponse));
    }

    [Fact]
    public void Routes_fill_their_templates_and_escape_ids()
    {
        Assert.Equal("/api/v1/devices/a%2Fb/desired-state", ApiRoutes.DesiredState("a/b"));
        Assert.Equal("/api/v1/devices/dev-1/reports", ApiRoutes.Reports("dev-1"));
        Assert.Equal("/content/manifests/desktop/12", ApiRoutes.Manifest("desktop", 12));
        Assert.Equal("/content/blobs/sha256/" + new string('f', 64), ApiRoutes.Blob(new string('f', 64)));
    }

    [Theory]
    [InlineData("desktop", true)]
    [InlineData("a.b_c-1", true)]
    [InlineData("Desktop", false)]
    [InlineData("../etc", false)]
    [InlineData(".hidden", false)]
    [InlineData("", false)]
    public void Names_are_safe_path_segments(string name, bool valid) => Assert.Equal(valid, ManifestRules.IsValidName(name));

    [Fact]
    public void Rules_refuse_an_app_with_two_disks_and_a_rollback_that_is_not_from_a_higher_version()
    {
        var blob = new ManifestBlob(new string('b', 64), 1, BlobRole.Disk, MediaTypes.Raw);
        var app = new ContentManifest(ContentKind.App, "office", 1, [blob, blob with { Sha256 = new string('c', 64) }], DateTimeOffset.UnixEpoch);
        Assert.Contains("exactly one disk", ManifestRules.Check(app), StringComparison.Ordinal);
        Assert.Null(ManifestRules.Check(app with { Blobs = [blob] }));
        Assert.Contains("rollbackOf", ManifestRules.Check(app with { Blobs = [blob], RollbackOf = 1 }), StringComparison.Ordinal);
        Assert.Contains("must be qcow2", ManifestRules.Check(app with { Kind = ContentKind.Base, Blobs = [blob] }), StringComparison.Ordinal);
    }
}
