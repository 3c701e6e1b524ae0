namespace NxTop.Build.Tests;

/// <summary>Paths in the checkout under test, found by walking up to the folder that holds build.cake.</summary>
internal static class Repo
{
    public static string Root { get; } = FindRoot();

    public static string Templates => Path.Combine(Root, "templates");

    public static string Spec => Path.Combine(Root, "appliance", "appliance.json");

    public static string Profiles => Path.Combine(Root, "appliance", "profiles");

    public static string Golden => Path.Combine(Root, "tests", "NxTop.Build.Tests", "golden");

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "build.cake")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"No folder with build.cake at or above {AppContext.BaseDirectory}.");
    }
}
