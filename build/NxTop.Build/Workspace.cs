using NxTop.Build.Spec;

namespace NxTop.Build;

/// <summary>
/// The mutable side of a build: where staging trees, finished artifacts and the Debian cache live.
/// The spec (immutable) says what to build; the workspace says where.
/// </summary>
public sealed class Workspace
{
    public Workspace(string repoRoot, string? cacheRoot = null, string? artifactsRoot = null)
    {
        RepoRoot = Path.GetFullPath(repoRoot);
        ArtifactsRoot = Path.GetFullPath(artifactsRoot ?? Path.Combine(RepoRoot, "artifacts"));
        CacheRoot = Path.GetFullPath(cacheRoot ?? DefaultCacheRoot());
    }

    public string RepoRoot { get; }

    public string ArtifactsRoot { get; }

    public string CacheRoot { get; }

    public string TemplatesDir => Path.Combine(RepoRoot, "templates");

    public string OverlayDir => Path.Combine(RepoRoot, "appliance", "overlay");

    public string RecipeDir => Path.Combine(RepoRoot, "build", "rootfs");

    public string StagingDir(ApplianceSpec spec) => Path.Combine(ArtifactsRoot, "staging", spec.ImageId);

    public string OutputDir(ApplianceSpec spec) => Path.Combine(ArtifactsRoot, spec.ImageId);

    /// <summary>A file naming the directory of the last finished image, for the VM tests and the Run target.</summary>
    public string LastImagePointer => Path.Combine(ArtifactsRoot, "last-image.txt");

    /// <summary><c>$NXTOP_CACHE</c>, else <c>$XDG_CACHE_HOME/nxtop</c>, else <c>~/.cache/nxtop</c>.</summary>
    public static string DefaultCacheRoot()
    {
        var explicitDir = Environment.GetEnvironmentVariable("NXTOP_CACHE");
        if (!string.IsNullOrEmpty(explicitDir))
        {
            return explicitDir;
        }

        var xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        var baseDir = string.IsNullOrEmpty(xdg)
            ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache")
            : xdg;
        return Path.Combine(baseDir, "nxtop");
    }

    /// <summary>Walks up from <paramref name="start"/> to the folder that holds build.cake.</summary>
    public static string FindRepoRoot(string start)
    {
        for (var dir = new DirectoryInfo(Path.GetFullPath(start)); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "build.cake")))
            {
                return dir.FullName;
            }
        }

        throw new NxTopBuildException($"Cannot find the NxTop repository (a folder with build.cake) at or above {start}. Run from the checkout, or pass --repo.");
    }
}
