namespace NxTop.Qemu;

/// <summary>
/// A lock shared by every process on this machine (an exclusive lock on a file under /tmp, released when disposed or
/// when the process dies). The PXE scenarios need the fixed port 80 (the images' default PXE configs take the DHCP
/// next-server on port 80 as their web server), so two test runs on one machine take turns instead of colliding.
/// </summary>
public sealed class MachineLock : IDisposable
{
    private readonly FileStream _file;

    private MachineLock(FileStream file, string path)
    {
        _file = file;
        Path = path;
    }

    /// <summary>The lock file.</summary>
    public string Path { get; }

    /// <summary>Takes the lock <paramref name="name"/>, waiting up to <paramref name="timeout"/> while another holder has it.</summary>
    /// <exception cref="TimeoutException">Another holder kept it for longer than the timeout.</exception>
    public static async Task<MachineLock> AcquireAsync(string name, TimeSpan timeout, Action<string>? log = null, string? directory = null, CancellationToken cancellationToken = default)
    {
        var path = System.IO.Path.Combine(directory ?? System.IO.Path.GetTempPath(), $"nxtop-{name}.lock");
        var waited = System.Diagnostics.Stopwatch.StartNew();
        var said = false;
        while (true)
        {
            try
            {
                // On Linux, FileShare.None is an exclusive flock(2): it fails while another open file holds it.
                var file = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
                return new MachineLock(file, path);
            }
            catch (IOException) when (waited.Elapsed < timeout)
            {
                if (!said)
                {
                    log?.Invoke($"Waiting for {path}: another test run on this machine holds it.");
                    said = true;
                }

                await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken).ConfigureAwait(false);
            }
            catch (IOException e)
            {
                throw new TimeoutException($"{path} stayed locked by another test run for {timeout.TotalMinutes:0} minutes.", e);
            }
        }
    }

    /// <inheritdoc />
    public void Dispose() => _file.Dispose();
}
