using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace NxTop.Agent;

/// <summary>
/// The local control socket: a client sends one line (a command), the agent replies with one JSON
/// line and closes. Only root can connect: the socket is mode 0600, in a directory made 0700.
/// </summary>
internal sealed partial class ControlSocketServer(
    AgentConfig config,
    AgentStatusReporter reporter,
    TimeProvider timeProvider,
    ILogger<ControlSocketServer> logger,
    ControlCommands? commands = null) : BackgroundService
{
    public const int MaxRequestBytes = 1024;

    /// <summary>A client that does not finish its request in this time is dropped.</summary>
    public static readonly TimeSpan ClientTimeout = TimeSpan.FromSeconds(5);

    private const UnixFileMode DirectoryMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private const UnixFileMode SocketMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    private Socket? _listener;

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        // Bound here rather than in ExecuteAsync: a socket that cannot be bound fails the start,
        // and systemd sees READY=1 only once the socket accepts.
        _listener = Listen(config.SocketPath, out var replacedStale);
        if (replacedStale)
        {
            LogReplacedStaleSocket(config.SocketPath);
        }

        LogListening(config.SocketPath);
        await base.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        try
        {
            await base.StopAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _listener?.Dispose();
            TryDelete(config.SocketPath);
        }
    }

    public override void Dispose()
    {
        _listener?.Dispose();
        base.Dispose();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var listener = _listener ?? throw new InvalidOperationException("the control socket is not bound");
        while (!stoppingToken.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await listener.AcceptAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }

            // Each client is served on its own, bounded by ClientTimeout, so a stuck one blocks nobody.
            _ = ServeAsync(client, stoppingToken);
        }
    }

    /// <summary>The reply to one request line, as one JSON line without its newline.</summary>
    public string Respond(string request)
    {
        var command = request.Trim();
        return command switch
        {
            "status" => JsonSerializer.Serialize(reporter.Current(), AgentJson.Context.AgentStatus),
            "versions" when commands is not null => commands.Versions(),
            "history" when commands is not null => commands.History(),
            "sync-now" when commands is not null => commands.SyncNow(),
            "verify" when commands is not null => commands.Verify(),
            "rollback-now" when commands is not null => commands.RollbackNow(),
            _ => Error($"unknown command '{command}'"),
        };
    }

    /// <summary>
    /// Creates the parent directory (0700) if it is missing, then binds under a temporary name,
    /// sets 0600 and renames the socket into place, replacing a stale one: the socket is never
    /// reachable with wider permissions, and never missing while a stale one is replaced.
    /// </summary>
    internal static Socket Listen(string socketPath, out bool replacedStale)
    {
        replacedStale = false;
        var directory = Path.GetDirectoryName(socketPath);
        if (!string.IsNullOrEmpty(directory) && !Directory.Exists(directory))
        {
            Directory.CreateDirectory(directory, DirectoryMode);
            File.SetUnixFileMode(directory, DirectoryMode);
        }

        if (File.Exists(socketPath))
        {
            if (IsAnswering(socketPath))
            {
                throw new IOException($"another process already listens on the control socket {socketPath}");
            }

            // Left behind by an agent that died; the rename below replaces it.
            replacedStale = true;
        }

        var temporaryPath = socketPath + ".new";
        File.Delete(temporaryPath);
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            socket.Bind(new UnixDomainSocketEndPoint(temporaryPath));
            File.SetUnixFileMode(temporaryPath, SocketMode);
            File.Move(temporaryPath, socketPath, overwrite: true);
            socket.Listen(16);
            return socket;
        }
        catch
        {
            socket.Dispose();
            TryDelete(temporaryPath);
            throw;
        }
    }

    private static bool IsAnswering(string socketPath)
    {
        using var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            probe.Connect(new UnixDomainSocketEndPoint(socketPath));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
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

    private static string Error(string message) =>
        JsonSerializer.Serialize(new ControlError(message), AgentJson.Context.ControlError);

    private async Task ServeAsync(Socket client, CancellationToken stoppingToken)
    {
        using var timeout = new CancellationTokenSource(ClientTimeout, timeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken, timeout.Token);
        var stream = new NetworkStream(client, ownsSocket: true);
        await using (stream.ConfigureAwait(false))
        {
            try
            {
                var request = await ReadRequestAsync(stream, linked.Token).ConfigureAwait(false);

                // The client timeout bounds reading the request and writing the reply, not the work
                // in between (verify reads the whole store).
                timeout.CancelAfter(Timeout.InfiniteTimeSpan);
                var reply = request is null ? Error($"request longer than {MaxRequestBytes} bytes") : Respond(request);
                timeout.CancelAfter(ClientTimeout);
                await stream.WriteAsync(Encoding.UTF8.GetBytes(reply + "\n"), linked.Token).ConfigureAwait(false);
                client.Shutdown(SocketShutdown.Send);

                // Closing with unread input would reset the connection and could cost the client
                // its reply, so read what it still sends until it closes (bounded by the timeout).
                await DrainAsync(stream, linked.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException or DecoderFallbackException)
            {
                LogClientFailed(ex.Message);
            }
        }
    }

    /// <summary>Reads up to the first newline or the end of the stream; null if the line is too long.</summary>
    private static async Task<string?> ReadRequestAsync(NetworkStream stream, CancellationToken cancellationToken)
    {
        var buffer = new byte[MaxRequestBytes + 1];
        var length = 0;
        while (length < buffer.Length)
        {
            var read = await stream.ReadAsync(buffer.AsMemory(length), cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                break;
            }

            var newline = Array.IndexOf(buffer, (byte)'\n', length, read);
            length += read;
            if (newline >= 0)
            {
                length = newline;
                break;
            }
        }

        return length > MaxRequestBytes ? null : StrictUtf8.GetString(buffer, 0, length);
    }

    private static async Task DrainAsync(NetworkStream stream, CancellationToken cancellationToken)
    {
        var buffer = new byte[4096];
        for (var total = 0; total < 64 * MaxRequestBytes;)
        {
            var read = await stream.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                return;
            }

            total += read;
        }
    }

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    [LoggerMessage(EventId = 20, Level = LogLevel.Information, Message = "Control socket listening on {SocketPath}")]
    private partial void LogListening(string socketPath);

    [LoggerMessage(EventId = 22, Level = LogLevel.Information, Message = "Replaced a stale control socket at {SocketPath}")]
    private partial void LogReplacedStaleSocket(string socketPath);

    [LoggerMessage(EventId = 21, Level = LogLevel.Debug, Message = "Control socket client dropped: {Reason}")]
    private partial void LogClientFailed(string reason);
}
