using System.Text.Json;
using System.Text.Json.Serialization;
using NxTop.Agent.Storage;

namespace NxTop.Agent;

/// <summary>
/// <c>state/center.json</c> (0600): the Center and one-time token that <c>nxtopctl enroll</c> set on this device.
/// It lives on the data partition, so it outlasts the live root and an A/B update, and it wins over
/// <c>centerUrl</c> and <c>enrollmentToken</c> in <c>/etc/nxtop/agent.json</c>. It changes only where the agent
/// reports; the publisher keys it trusts stay the ones baked into the image.
/// </summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
internal sealed record CenterEnrollment(string CenterUrl, string EnrollmentToken, DateTimeOffset SetAt)
{
    public static string PathFor(string stateDirectory) => new StoreLayout(stateDirectory).CenterEnrollment;

    /// <summary>The configuration with the enrollment's Center and token, or as it was when there is none.</summary>
    /// <exception cref="AgentConfigException">The file exists but is not a valid enrollment.</exception>
    public static AgentConfig Apply(AgentConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var path = PathFor(config.StateDirectory);
        CenterEnrollment? enrollment;
        try
        {
            enrollment = AtomicFile.ReadJson(path, AgentJson.Context.CenterEnrollment);
        }
        catch (JsonException ex)
        {
            throw new AgentConfigException(path, [$"does not parse: {ex.Message} (run nxtopctl enroll again)"]);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new AgentConfigException(path, [$"cannot read it: {ex.Message}"]);
        }

        if (enrollment is null)
        {
            return config;
        }

        var applied = config with { CenterUrl = enrollment.CenterUrl, EnrollmentToken = enrollment.EnrollmentToken };
        var errors = AgentConfigFile.Validate(applied);
        return errors.Count == 0 ? applied : throw new AgentConfigException(path, errors);
    }

    /// <summary>
    /// Records a new Center and token, and forgets the device's credential so that the next sync enrolls with the
    /// token. Content, the installed versions and the cached desired state stay: the guest keeps running from them.
    /// </summary>
    public static IReadOnlyList<string> Write(AgentConfig config, string centerUrl, string token, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(config);
        var checkedConfig = config with { CenterUrl = centerUrl, EnrollmentToken = token };
        var errors = AgentConfigFile.Validate(checkedConfig).Where(e => e.StartsWith("centerUrl", StringComparison.Ordinal) || e.StartsWith("enrollmentToken", StringComparison.Ordinal)).ToList();
        if (token.Length == 0 || token.Any(char.IsWhiteSpace))
        {
            errors.Add("--token: must be a one-time token without spaces");
        }

        if (errors.Count > 0)
        {
            return errors;
        }

        var layout = new StoreLayout(config.StateDirectory);
        layout.CreateDirectories();
        AtomicFile.WriteJson(layout.CenterEnrollment, new CenterEnrollment(centerUrl, token, now), AgentJson.Context.CenterEnrollment);
        AtomicFile.Delete(layout.Identity);
        return [];
    }
}
