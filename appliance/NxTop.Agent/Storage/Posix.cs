using System.Runtime.InteropServices;

namespace NxTop.Agent.Storage;

/// <summary>The few libc calls .NET does not expose: fsync on a directory, and telling ENOSPC apart.</summary>
internal static partial class Posix
{
    private const int ORdOnly = 0;
    private const int ODirectory = 0x10000; // Linux x86-64 and arm64
    private const int OCloexec = 0x80000;

    public const int Enospc = 28;
    public const int Edquot = 122;

    /// <summary>Makes a rename or a new file in <paramref name="directory"/> durable.</summary>
    public static void FsyncDirectory(string directory)
    {
        var fd = Open(directory, ORdOnly | ODirectory | OCloexec);
        if (fd < 0)
        {
            throw new IOException($"cannot open directory {directory} to fsync it: errno {Marshal.GetLastPInvokeError()}");
        }

        try
        {
            if (Fsync(fd) != 0)
            {
                throw new IOException($"fsync of directory {directory} failed: errno {Marshal.GetLastPInvokeError()}");
            }
        }
        finally
        {
            _ = Close(fd);
        }
    }

    /// <summary>True for "no space left on device" (or over quota), however .NET wrapped it.</summary>
    public static bool IsDiskFull(Exception exception)
    {
        for (var ex = exception; ex is not null; ex = ex.InnerException)
        {
            if (ex is IOException io && (io.HResult is Enospc or Edquot or unchecked((int)0x80070070) or unchecked((int)0x80070027)
                || io.Message.Contains("No space left on device", StringComparison.Ordinal)))
            {
                return true;
            }
        }

        return false;
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int Fsync(int fd);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);
}
