using System.Net;
using System.Net.Sockets;

namespace NxTop.Qemu;

/// <summary>Finds free TCP ports on loopback for QEMU host forwards.</summary>
public static class FreePort
{
    /// <summary>
    /// A port the kernel just handed out for 127.0.0.1:0. It is released before returning, so another process
    /// could take it before QEMU binds it; the kernel cycles through ephemeral ports, which makes that rare, and
    /// QEMU then fails at once with "Could not set up host forwarding rule", which the harness reports.
    /// </summary>
    public static int Pick()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        try
        {
            return ((IPEndPoint)listener.LocalEndpoint).Port;
        }
        finally
        {
            listener.Stop();
        }
    }
}
