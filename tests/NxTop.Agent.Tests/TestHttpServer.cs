using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace NxTop.Agent.Tests;

internal sealed record TestRequest(string Method, string Path, IReadOnlyDictionary<string, string> Headers, byte[] Body)
{
    public string BodyText => Encoding.UTF8.GetString(Body);

    public string? Header(string name) => Headers.TryGetValue(name.ToLowerInvariant(), out var value) ? value : null;
}

/// <param name="DropAfterBodyBytes">Close the connection after this many body bytes (a dropped download).</param>
internal sealed record TestResponse(int Status, byte[] Body, string ContentType = "application/octet-stream",
    IReadOnlyDictionary<string, string>? Headers = null, long? DropAfterBodyBytes = null, long? DeclaredLength = null)
{
    public static TestResponse Json(string json, int status = 200) => new(status, Encoding.UTF8.GetBytes(json), "application/json");

    public static TestResponse Empty(int status) => new(status, []);

    /// <summary>The bytes, honouring <c>Range: bytes=N-</c> with 206 unless <paramref name="ignoreRange"/>.</summary>
    public static TestResponse Bytes(TestRequest request, byte[] bytes, bool ignoreRange = false, long? dropAfter = null)
    {
        var range = request.Header("Range");
        if (!ignoreRange && range is not null && range.StartsWith("bytes=", StringComparison.Ordinal) && range.EndsWith('-'))
        {
            var from = long.Parse(range["bytes=".Length..^1], CultureInfo.InvariantCulture);
            if (from >= bytes.Length)
            {
                return new TestResponse(416, [], Headers: new Dictionary<string, string> { ["Content-Range"] = $"bytes */{bytes.Length}" });
            }

            return new TestResponse(206, bytes[(int)from..],
                Headers: new Dictionary<string, string> { ["Content-Range"] = $"bytes {from}-{bytes.Length - 1}/{bytes.Length}" },
                DropAfterBodyBytes: dropAfter);
        }

        return new TestResponse(200, bytes, DropAfterBodyBytes: dropAfter);
    }
}

/// <summary>
/// A tiny HTTP/1.1 server on 127.0.0.1 over a TcpListener: one request per connection, so that it
/// can drop a connection in the middle of a body, which is what the downloader must survive.
/// </summary>
internal sealed class TestHttpServer : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;

    public TestHttpServer(Func<TestRequest, TestResponse> handler)
    {
        Handler = handler;
        _listener.Start();
        _accepting = AcceptAsync();
    }

    public Func<TestRequest, TestResponse> Handler { get; set; }

    public Uri BaseUrl => new($"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}/");

    public ConcurrentQueue<TestRequest> Requests { get; } = new();

    public long BodyBytesSent => Interlocked.Read(ref _bodyBytesSent);

    private long _bodyBytesSent;

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        try
        {
            await _accepting;
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }

        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            var client = await _listener.AcceptTcpClientAsync(_stop.Token);
            _ = ServeAsync(client);
        }
    }

    private async Task ServeAsync(TcpClient client)
    {
        using (client)
        {
            try
            {
                var stream = client.GetStream();
                var request = await ReadRequestAsync(stream);
                if (request is null)
                {
                    return;
                }

                Requests.Enqueue(request);
                var response = Handler(request);
                var head = new StringBuilder();
                head.Append(CultureInfo.InvariantCulture, $"HTTP/1.1 {response.Status} {ReasonFor(response.Status)}\r\n");
                head.Append(CultureInfo.InvariantCulture, $"Content-Length: {response.DeclaredLength ?? response.Body.Length}\r\n");
                head.Append(CultureInfo.InvariantCulture, $"Content-Type: {response.ContentType}\r\n");
                head.Append("Connection: close\r\n");
                foreach (var (name, value) in response.Headers ?? new Dictionary<string, string>())
                {
                    head.Append(CultureInfo.InvariantCulture, $"{name}: {value}\r\n");
                }

                head.Append("\r\n");
                await stream.WriteAsync(Encoding.ASCII.GetBytes(head.ToString()));
                var body = response.DropAfterBodyBytes is { } drop ? response.Body.AsMemory(0, (int)Math.Min(drop, response.Body.Length)) : response.Body;
                await stream.WriteAsync(body);
                Interlocked.Add(ref _bodyBytesSent, body.Length);
                await stream.FlushAsync();
                if (response.DropAfterBodyBytes is not null)
                {
                    // A reset, not a clean close, like a link that went away.
                    client.Client.LingerState = new LingerOption(true, 0);
                }
            }
            catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException)
            {
            }
        }
    }

    private static async Task<TestRequest?> ReadRequestAsync(NetworkStream stream)
    {
        var buffer = new List<byte>();
        var one = new byte[1];
        while (!EndsWithBlankLine(buffer))
        {
            if (await stream.ReadAsync(one) == 0)
            {
                return null;
            }

            buffer.Add(one[0]);
        }

        var lines = Encoding.ASCII.GetString([.. buffer]).Split("\r\n");
        var requestLine = lines[0].Split(' ');
        var headers = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in lines.Skip(1).Where(l => l.Contains(':', StringComparison.Ordinal)))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            headers[line[..colon].Trim().ToLowerInvariant()] = line[(colon + 1)..].Trim();
        }

        var body = Array.Empty<byte>();
        if (headers.TryGetValue("content-length", out var length) && int.Parse(length, CultureInfo.InvariantCulture) is > 0 and var n)
        {
            body = new byte[n];
            await stream.ReadExactlyAsync(body);
        }
        else if (headers.TryGetValue("transfer-encoding", out var encoding) && encoding == "chunked")
        {
            body = await ReadChunkedAsync(stream);
        }

        return new TestRequest(requestLine[0], requestLine[1], headers, body);
    }

    private static async Task<byte[]> ReadChunkedAsync(NetworkStream stream)
    {
        using var body = new MemoryStream();
        while (true)
        {
            var sizeLine = await ReadLineAsync(stream);
            var size = int.Parse(sizeLine.Split(';')[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            if (size == 0)
            {
                await ReadLineAsync(stream);
                return body.ToArray();
            }

            var chunk = new byte[size];
            await stream.ReadExactlyAsync(chunk);
            body.Write(chunk);
            await ReadLineAsync(stream);
        }
    }

    private static async Task<string> ReadLineAsync(NetworkStream stream)
    {
        var bytes = new List<byte>();
        var one = new byte[1];
        while (await stream.ReadAsync(one) == 1)
        {
            if (one[0] == '\n')
            {
                break;
            }

            if (one[0] != '\r')
            {
                bytes.Add(one[0]);
            }
        }

        return Encoding.ASCII.GetString([.. bytes]);
    }

    private static bool EndsWithBlankLine(List<byte> buffer) =>
        buffer.Count >= 4 && buffer[^4] == '\r' && buffer[^3] == '\n' && buffer[^2] == '\r' && buffer[^1] == '\n';

    private static string ReasonFor(int status) => status switch
    {
        200 => "OK",
        204 => "No Content",
        206 => "Partial Content",
        401 => "Unauthorized",
        404 => "Not Found",
        410 => "Gone",
        416 => "Range Not Satisfiable",
        503 => "Service Unavailable",
        _ => "Status",
    };
}
