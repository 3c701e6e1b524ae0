using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace NxTop.Agent.Storage;

/// <summary>
/// Every state change on disk goes through here: write a temporary file next to the target, fsync
/// it, rename it over the target, fsync the directory. After a power cut the target holds either
/// the old or the new bytes, never a mixture.
/// </summary>
internal static class AtomicFile
{
    public const string TemporarySuffix = ".tmp";

    public static void WriteAllBytes(string path, ReadOnlySpan<byte> bytes, UnixFileMode mode = UnixFileMode.UserRead | UnixFileMode.UserWrite)
    {
        var directory = Path.GetDirectoryName(Path.GetFullPath(path))!;
        Directory.CreateDirectory(directory);
        var temporary = path + "." + Environment.ProcessId + "." + Environment.CurrentManagedThreadId + TemporarySuffix;
        try
        {
            using (var stream = new FileStream(temporary, new FileStreamOptions
            {
                Mode = FileMode.Create,
                Access = FileAccess.Write,
                Share = FileShare.None,
                UnixCreateMode = mode,
            }))
            {
                stream.Write(bytes);
                stream.Flush(flushToDisk: true);
            }

            File.Move(temporary, path, overwrite: true);
        }
        catch
        {
            TryDelete(temporary);
            throw;
        }

        Posix.FsyncDirectory(directory);
    }

    public static void WriteAllText(string path, string text) => WriteAllBytes(path, Encoding.UTF8.GetBytes(text));

    public static void WriteJson<T>(string path, T value, JsonTypeInfo<T> typeInfo) =>
        WriteAllBytes(path, JsonSerializer.SerializeToUtf8Bytes(value, typeInfo));

    /// <summary>Null if the file does not exist; throws <see cref="JsonException"/> if it does not parse.</summary>
    public static T? ReadJson<T>(string path, JsonTypeInfo<T> typeInfo)
        where T : class
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (FileNotFoundException)
        {
            return null;
        }
        catch (DirectoryNotFoundException)
        {
            return null;
        }

        return JsonSerializer.Deserialize(bytes, typeInfo);
    }

    /// <summary>Renames and makes the rename durable.</summary>
    public static void Rename(string from, string to)
    {
        File.Move(from, to, overwrite: true);
        Posix.FsyncDirectory(Path.GetDirectoryName(Path.GetFullPath(to))!);
    }

    /// <summary>Deletes and makes the deletion durable; a missing file is fine.</summary>
    public static void Delete(string path)
    {
        if (!File.Exists(path))
        {
            return;
        }

        File.Delete(path);
        Posix.FsyncDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
    }

    /// <summary>
    /// Appends one line and fsyncs. A power cut can leave at most a torn last line without its
    /// newline; <see cref="ReadLines"/> drops it, so each record is there whole or not at all.
    /// </summary>
    public static void AppendLine(string path, string line)
    {
        if (line.Contains('\n', StringComparison.Ordinal))
        {
            throw new ArgumentException("a record must be one line", nameof(line));
        }

        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        var existed = File.Exists(path);
        using (var stream = new FileStream(path, new FileStreamOptions
        {
            Mode = FileMode.OpenOrCreate,
            Access = FileAccess.ReadWrite,
            Share = FileShare.Read,
            UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
        }))
        {
            // Cut a torn tail left by a power cut, so the new record starts on its own line.
            var end = stream.Length;
            if (end > 0)
            {
                stream.Seek(-1, SeekOrigin.End);
                if (stream.ReadByte() != '\n')
                {
                    end = LastNewlineEnd(stream);
                    stream.SetLength(end);
                }
            }

            stream.Seek(end, SeekOrigin.Begin);
            stream.Write(Encoding.UTF8.GetBytes(line + "\n"));
            stream.Flush(flushToDisk: true);
        }

        if (!existed)
        {
            Posix.FsyncDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        }
    }

    /// <summary>The complete lines of a JSON-lines file (a torn last line is ignored).</summary>
    public static IReadOnlyList<string> ReadLines(string path)
    {
        if (!File.Exists(path))
        {
            return [];
        }

        var text = File.ReadAllText(path);
        var complete = text.LastIndexOf('\n');
        return complete < 0 ? [] : text[..complete].Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }

    private static long LastNewlineEnd(FileStream stream)
    {
        var buffer = new byte[4096];
        var position = stream.Length;
        while (position > 0)
        {
            var chunk = (int)Math.Min(buffer.Length, position);
            position -= chunk;
            stream.Seek(position, SeekOrigin.Begin);
            stream.ReadExactly(buffer, 0, chunk);
            var index = Array.LastIndexOf(buffer, (byte)'\n', chunk - 1, chunk);
            if (index >= 0)
            {
                return position + index + 1;
            }
        }

        return 0;
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
        }
    }
}
