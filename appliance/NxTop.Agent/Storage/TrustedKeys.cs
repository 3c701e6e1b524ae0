namespace NxTop.Agent.Storage;

/// <summary>The publisher keys baked into the image: every <c>*.pem</c> in the trusted keys directory.</summary>
internal static class TrustedKeys
{
    /// <summary>The PEM texts, in name order; none (every manifest refused as "unknown key") if the directory is missing.</summary>
    public static IReadOnlyList<string> Load(string directory) =>
        Directory.Exists(directory)
            ? [.. Directory.EnumerateFiles(directory, "*.pem").Order(StringComparer.Ordinal).Select(File.ReadAllText)]
            : [];
}
