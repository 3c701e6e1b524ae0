using System.Net.Sockets;
using System.Text;

namespace NxTop.Agent;

/// <summary>The agent's control socket could not be reached or gave no usable reply.</summary>
internal sealed class ControlUnreachableException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>Sends one command line to the control socket and returns the reply line.</summary>
internal static class ControlClient
{
    public const int MaxReplyBytes = 1024 * 1024;

    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(10);

    public static async Task<string> SendAsync(
        string socketPath, string command, TimeSpan timeout, TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        using var timeoutSource = new CancellationTokenSource(timeout, timeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeoutSource.Token);
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        var stream = (NetworkStream?)null;
        try
        {
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), linked.Token).ConfigureAwait(false);
            stream = new NetworkStream(socket, ownsSocket: true);
            await stream.WriteAsync(Encoding.UTF8.GetBytes(command + "\n"), linked.Token).ConfigureAwait(false);
            socket.Shutdown(SocketShutdown.Send);
            var reply = await ReadToEndAsync(stream, linked.Token).ConfigureAwait(false);
            return reply.Length > 0
                ? reply.TrimEnd('\n', '\r')
                : throw new ControlUnreachableException("the agent closed the connection without a reply");
        }
        catch (SocketException ex)
        {
            throw new ControlUnreachableException(Describe(socketPath, ex), ex);
        }
        catch (IOException ex)
        {
            throw new ControlUnreachableException(ex.Message, ex);
        }
        catch (OperationCanceledException ex) when (timeoutSource.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new ControlUnreachableException($"no reply within {timeout.TotalSeconds:0.#} s", ex);
        }
        finally
        {
            if (stream is null)
            {
                socket.Dispose();
            }
            else
            {
                await stream.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    private static string Describe(string socketPath, SocketException ex) => ex.SocketErrorCode switch
    {
        _ when !File.Exists(socketPath) => "the socket does not exist (is nxtop-agent running?)",
        SocketError.ConnectionRefused => "connection refused: nothing listens on the socket (is nxtop-agent running?)",
        SocketError.AccessDenied => "permission denied (only root may use the control socket)",
        _ => ex.Message,
    };

    private static async Task<string> ReadToEndAsync(NetworkStream stream, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[4096];
        int read;
        while ((read = await stream.ReadAsync(chunk, cancellationToken).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + read > MaxReplyBytes)
            {
                throw new ControlUnreachableException($"the reply is longer than {MaxReplyBytes} bytes");
            }

            buffer.Write(chunk, 0, read);
        }

        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }
}
