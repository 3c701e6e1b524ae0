namespace NxTop.Build.Tools;

/// <summary>Fails early, with a clear message, when a disk is too full for the build.</summary>
public static class DiskSpace
{
    public static long FreeBytes(string path)
    {
        var dir = new DirectoryInfo(Path.GetFullPath(path));
        while (!dir.Exists && dir.Parent is not null)
        {
            dir = dir.Parent;
        }

        return new DriveInfo(dir.FullName).AvailableFreeSpace;
    }

    public static void Require(string path, long bytes, string what)
    {
        var free = FreeBytes(path);
        if (free < bytes)
        {
            throw new NxTopBuildException(
                $"Not enough free disk space for {what} at {path}: {free / 1048576} MiB free, {bytes / 1048576} MiB needed. "
                + "Free some space (or point NXTOP_CACHE / the artifacts folder at a bigger disk) and run the build again. Nothing was written.");
        }
    }

    public static Exception Explain(ToolException ex, string what)
    {
        var err = ex.Result?.StandardError + ex.Result?.StandardOutput;
        return err.Contains("No space left on device", StringComparison.Ordinal) || err.Contains("Disk full", StringComparison.OrdinalIgnoreCase)
            ? new NxTopBuildException($"The disk filled up while writing {what}. Free some space and run the build again; the partial file was removed.", ex)
            : ex;
    }
}
