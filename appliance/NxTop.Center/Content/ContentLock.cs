using System.Globalization;

namespace NxTop.Center.Content;

/// <summary>
/// The content store's lock across processes: an exclusive advisory lock (flock(2), which .NET takes for
/// <see cref="FileShare.None"/> on Unix) on <c>store.lock</c> in the content directory. Two Centers on one
/// content directory, or a Center and a collector, take it for the same critical sections as the in-process
/// gate. The kernel drops it when the holder's file is closed or the process dies, so a crash never leaves it held.
/// </summary>
internal sealed class ContentLock : IDisposable
{
    public const string FileName = "store.lock";

    private static readonly TimeSpan FirstRetry = TimeSpan.FromMilliseconds(5);
    private static readonly TimeSpan LongestRetry = TimeSpan.FromMilliseconds(200);

    private readonly FileStream file;

    private ContentLock(FileStream file) => this.file = file;

    /// <summary>Takes the lock, retrying until <paramref name="wait"/> has passed since <paramref name="started"/> (a <see cref="TimeProvider.GetTimestamp"/>).</summary>
    /// <exception cref="ContentLockTimeoutException">Another process held it all that time.</exception>
    public static async Task<ContentLock> AcquireAsync(string path, long started, TimeSpan wait, TimeProvider time, CancellationToken cancellationToken)
    {
        var retry = FirstRetry;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            IOException held;
            try
            {
                return new ContentLock(new FileStream(path, new FileStreamOptions
                {
                    Mode = FileMode.OpenOrCreate,
                    Access = FileAccess.ReadWrite,
                    Share = FileShare.None,
                    BufferSize = 0,
                    UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
                }));
            }
            catch (IOException e) when (e is not FileNotFoundException and not DirectoryNotFoundException)
            {
                // EWOULDBLOCK: someone else holds it.
                held = e;
            }

            var left = wait - time.GetElapsedTime(started);
            if (left <= TimeSpan.Zero)
            {
                throw new ContentLockTimeoutException(path, wait, held);
            }

            await Task.Delay(retry < left ? retry : left, time, cancellationToken).ConfigureAwait(false);
            retry = retry * 2 < LongestRetry ? retry * 2 : LongestRetry;
        }
    }

    public void Dispose() => file.Dispose();
}

/// <summary>The content store's lock could not be had in time: another process (a Center or a collector) held it.</summary>
public sealed class ContentLockTimeoutException : TimeoutException
{
    public ContentLockTimeoutException(string path, TimeSpan wait, Exception? inner)
        : base(string.Create(CultureInfo.InvariantCulture,
            $"The content store's lock {path} was held by another process (a Center or a blob collection on the same content directory) for more than {wait.TotalSeconds:0.###} s; nothing was changed, try again"),
            inner) => LockPath = path;

    public ContentLockTimeoutException()
        : this("", TimeSpan.Zero, null)
    {
    }

    public ContentLockTimeoutException(string message)
        : base(message) => LockPath = "";

    public ContentLockTimeoutException(string message, Exception inner)
        : base(message, inner) => LockPath = "";

    public string LockPath { get; }
}
