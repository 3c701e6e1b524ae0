using System.Reflection;

namespace NxTop.Agent;

/// <summary>
/// The agent's version. <see cref="Full"/> is the assembly informational version, which the SDK
/// suffixes with "+&lt;commit&gt;" when it builds from git; <see cref="Short"/> drops that suffix and is
/// what <c>--version</c> prints and what the status reports as <c>agentVersion</c>.
/// </summary>
internal static class AgentVersion
{
    public static string Full { get; } =
        typeof(AgentVersion).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
        ?? "0.0.0";

    public static string Short { get; } = StripBuildMetadata(Full);

    public static string StripBuildMetadata(string version)
    {
        var plus = version.IndexOf('+', StringComparison.Ordinal);
        return plus < 0 ? version : version[..plus];
    }
}
