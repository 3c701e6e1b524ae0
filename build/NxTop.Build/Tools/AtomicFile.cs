using System.Text;

namespace NxTop.Build.Tools;

/// <summary>
/// Artifacts appear complete or not at all: content goes to a temporary name beside the target, is flushed to disk,
/// and is then renamed over the target.
/// </summary>
public static class AtomicFile
{
    public static string TempNameFor(string path) =>
        Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path))!, $".{Path.GetFileName(path)}.partial-{Environment.ProcessId}");

    public static void WriteAllText(string path, string content) => WriteAllBytes(path, Encoding.UTF8.GetBytes(content));

    public static void WriteAllBytes(string path, byte[] content)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        var temp = TempNameFor(path);
        try
        {
            using (var fs = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
            {
                fs.Write(content);
                fs.Flush(flushToDisk: true);
            }

            File.Move(temp, path, overwrite: true);
        }
        catch
        {
            File.Delete(temp);
            throw;
        }
    }

    /// <summary>Publishes a finished temporary file under its final name (same folder, so the rename is atomic).</summary>
    public static void Commit(string temp, string path)
    {
        using (var fs = new FileStream(temp, FileMode.Open, FileAccess.ReadWrite))
        {
            fs.Flush(flushToDisk: true);
        }

        File.Move(temp, path, overwrite: true);
    }

    /// <summary>Copies <paramref name="source"/> to <paramref name="path"/> through a temporary file.</summary>
    public static void CopyFrom(string source, string path)
    {
        var temp = TempNameFor(path);
        try
        {
            File.Copy(source, temp, overwrite: true);
            Commit(temp, path);
        }
        catch
        {
            File.Delete(temp);
            throw;
        }
    }
}
