namespace NxTop.Agent.Tests;

/// <summary>
/// The agent.json that the image build renders (its golden files, one per profile) is one the agent accepts: the
/// template and the agent's config type must not drift apart.
/// </summary>
public sealed class RenderedConfigTests
{
    public static TheoryData<string> Profiles() => new() { "none", "release", "lab", "debug" };

    private static string RepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "NxTop.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("NxTop.sln not found above the test binaries.");
    }

    [Theory]
    [MemberData(nameof(Profiles))]
    public void The_rendered_agent_json_of_every_profile_loads_and_validates(string profile)
    {
        var path = Path.Combine(RepoRoot(), "tests", "NxTop.Build.Tests", "golden", profile, "agent", "agent.json");

        var config = AgentConfigFile.Load(path);

        Assert.Empty(AgentConfigFile.Validate(config));
        Assert.Equal("/usr/share/nxtop/keys", config.TrustedKeysDirectory);
        Assert.Equal("/var/lib/nxtop", config.StateDirectory);
    }
}
