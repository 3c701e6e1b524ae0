using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace NxTop.Qemu;

/// <summary>
/// A small static-file HTTP/1.1 server on 127.0.0.1 for the PXE scenarios: it serves one folder under one URL
/// prefix (GET and HEAD, single byte ranges, one request per connection), and logs every request so a test shows
/// what the firmware and the initramfs fetched. The guest reaches it as 10.0.2.2 through QEMU user networking.
/// </summary>
public sealed class StaticHttpServer : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly string _root;
    private readonly string _prefix;
    private readonly Action<string> _log;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;
    private int _requests;

    private StaticHttpServer(TcpListener listener, string root, string prefix, Action<string> log)
    {
        _listener = listener;
        _root = Path.GetFullPath(root);
        _prefix = prefix;
        _log = log;
        _accepting = Task.Run(AcceptLoopAsync);
    }

    /// <summary>The port it listens on.</summary>
    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>Requests answered so far.</summary>
    public int Requests => Volatile.Read(ref _requests);

    /// <summary>
    /// Serves <paramref name="root"/> at <c>http://127.0.0.1:&lt;port&gt;/&lt;urlPrefix&gt;/</c>. Port 0 picks a free one.
    /// </summary>
    /// <exception cref="InvalidOperationException">The port cannot be bound (in use, or below 1024 without root).</exception>
    public static StaticHttpServer Start(string root, string urlPrefix, int port, Action<string> log)
    {
        ArgumentNullException.ThrowIfNull(root);
        ArgumentNullException.ThrowIfNull(urlPrefix);
        ArgumentNullException.ThrowIfNull(log);
        if (!Directory.Exists(root))
        {
            throw new DirectoryNotFoundException($"The folder to serve over HTTP does not exist: {root}");
        }

        var listener = new TcpListener(IPAddress.Loopback, port);
        try
        {
            listener.Start();
        }
        catch (SocketException e)
        {
            throw new InvalidOperationException(
                $"Cannot serve HTTP on 127.0.0.1:{port} ({e.SocketErrorCode}: {e.Message}). The PXE scenarios need this port: the "
                + "image's default PXE configs fetch from the DHCP next-server on port 80. Run the VM tests as root, and stop "
                + "whatever else listens there (another VM test run?).", e);
        }

        return new StaticHttpServer(listener, root, "/" + urlPrefix.Trim('/') + "/", log);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        try
        {
            await _accepting;
        }
        catch (OperationCanceledException)
        {
        }

        _stop.Dispose();
    }

    /// <summary>Maps a request path to a file under the root, or null (outside the prefix, or escaping the root).</summary>
    public string? Resolve(string requestPath)
    {
        ArgumentNullException.ThrowIfNull(requestPath);
        var path = Uri.UnescapeDataString(requestPath.Split('?', 2)[0]);
        if (!path.StartsWith(_prefix, StringComparison.Ordinal))
        {
            return null;
        }

        var full = Path.GetFullPath(Path.Combine(_root, path[_prefix.Length..]));
        return full.StartsWith(_root + Path.DirectorySeparatorChar, StringComparison.Ordinal) && File.Exists(full) ? full : null;
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }

            _ = Task.Run(() => ServeAsync(client));
        }
    }

    private async Task ServeAsync(TcpClient client)
    {
        using var _ = client;
        try
        {
            var stream = client.GetStream();
            var head = await ReadHeadAsync(stream);
            if (head is null)
            {
                return;
            }

            var lines = head.Split("\r\n");
            var parts = lines[0].Split(' ');
            if (parts.Length != 3 || parts[0] is not ("GET" or "HEAD"))
            {
                await RespondAsync(stream, "405 Method Not Allowed", 0, null, null, lines[0]);
                return;
            }

            var file = Resolve(parts[1]);
            if (file is null)
            {
                await RespondAsync(stream, "404 Not Found", 0, null, null, lines[0]);
                return;
            }

            var length = new FileInfo(file).Length;
            var range = lines.Skip(1).FirstOrDefault(l => l.StartsWith("Range:", StringComparison.OrdinalIgnoreCase));
            var (from, to) = (0L, length - 1);
            var status = "200 OK";
            if (range is not null && TryParseRange(range["Range:".Length..].Trim(), length, out var f, out var t))
            {
                (from, to, status) = (f, t, "206 Partial Content");
            }

            var extra = status.StartsWith("206", StringComparison.Ordinal)
                ? $"Content-Range: bytes {from}-{to}/{length}\r\n"
                : string.Empty;
            await RespondAsync(stream, status, to - from + 1, extra, parts[0] == "GET" ? (file, from) : null, lines[0]);
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
        {
            // The client went away (iPXE and GRUB close early on errors); nothing to answer.
        }
    }

    private async Task RespondAsync(NetworkStream stream, string status, long length, string? extraHeaders, (string File, long From)? body, string requestLine)
    {
        Interlocked.Increment(ref _requests);
        _log($"HTTP {requestLine} -> {status} ({length} bytes)");
        var header = $"HTTP/1.1 {status}\r\nContent-Length: {length.ToString(CultureInfo.InvariantCulture)}\r\n"
            + $"Content-Type: application/octet-stream\r\nAccept-Ranges: bytes\r\n{extraHeaders}Connection: close\r\n\r\n";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(header), _stop.Token);
        if (body is { } b)
        {
            await using var fs = File.OpenRead(b.File);
            fs.Seek(b.From, SeekOrigin.Begin);
            var buffer = new byte[256 * 1024];
            var left = length;
            while (left > 0)
            {
                var n = await fs.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, left)), _stop.Token);
                if (n == 0)
                {
                    break;
                }

                await stream.WriteAsync(buffer.AsMemory(0, n), _stop.Token);
                left -= n;
            }
        }

        await stream.FlushAsync(_stop.Token);
    }

    private static async Task<string?> ReadHeadAsync(NetworkStream stream)
    {
        var buffer = new byte[16 * 1024];
        var used = 0;
        while (used < buffer.Length)
        {
            var n = await stream.ReadAsync(buffer.AsMemory(used));
            if (n == 0)
            {
                return null;
            }

            used += n;
            var text = Encoding.ASCII.GetString(buffer, 0, used);
            var end = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
            if (end >= 0)
            {
                return text[..end];
            }
        }

        return null;
    }

    /// <summary>Parses one <c>bytes=a-b</c>, <c>bytes=a-</c> or <c>bytes=-n</c> range against a file length.</summary>
    public static bool TryParseRange(string value, long length, out long from, out long to)
    {
        ArgumentNullException.ThrowIfNull(value);
        (from, to) = (0, length - 1);
        if (!value.StartsWith("bytes=", StringComparison.Ordinal) || value.Contains(',', StringComparison.Ordinal))
        {
            return false;
        }

        var spec = value["bytes=".Length..].Split('-', 2);
        if (spec.Length != 2)
        {
            return false;
        }

        var hasFrom = long.TryParse(spec[0], NumberStyles.None, CultureInfo.InvariantCulture, out var a);
        var hasTo = long.TryParse(spec[1], NumberStyles.None, CultureInfo.InvariantCulture, out var b);
        if (hasFrom && a < length)
        {
            (from, to) = (a, hasTo ? Math.Min(b, length - 1) : length - 1);
            return from <= to;
        }

        if (!hasFrom && hasTo && b > 0)
        {
            (from, to) = (Math.Max(0, length - b), length - 1);
            return true;
        }

        return false;
    }
}
