namespace NxTop.Qemu;

/// <summary>Where the tests find the repository's artifacts.</summary>
public sealed record RepoLayout(string Root)
{
    /// <summary><c>artifacts/</c>.</summary>
    public string Artifacts => Path.Combine(Root, "artifacts");

    /// <summary>The file whose first line names the last built image directory.</summary>
    public string LastImagePointer => Path.Combine(Artifacts, "last-image.txt");

    /// <summary>Serial logs, firmware logs and boot timings of VM runs.</summary>
    public string VmLogs => Path.Combine(Artifacts, "vm-logs");

    /// <summary>The repository that holds <paramref name="start"/>: the nearest directory upwards with a <c>global.json</c>.</summary>
    /// <exception cref="DirectoryNotFoundException">No such directory.</exception>
    public static RepoLayout FindFrom(string start)
    {
        for (var dir = new DirectoryInfo(Path.GetFullPath(start)); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "global.json")))
            {
                return new RepoLayout(dir.FullName);
            }
        }

        throw new DirectoryNotFoundException($"No global.json above {start}: not inside the NxTop repository.");
    }

    /// <summary>The repository that holds the running test assembly.</summary>
    public static RepoLayout Current() => FindFrom(AppContext.BaseDirectory);
}
