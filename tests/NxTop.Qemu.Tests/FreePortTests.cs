using System.Net;
using System.Net.Sockets;

namespace NxTop.Qemu.Tests;

public class FreePortTests
{
    [Fact]
    public void Picked_port_is_in_range_and_can_be_bound_on_loopback()
    {
        var port = FreePort.Pick();

        Assert.InRange(port, 1024, 65535);
        using var listener = new TcpListener(IPAddress.Loopback, port);
        listener.Start();
        listener.Stop();
    }

    [Fact]
    public void Consecutive_picks_differ()
    {
        var ports = Enumerable.Range(0, 5).Select(_ => FreePort.Pick()).ToHashSet();

        Assert.True(ports.Count > 1, "the kernel handed out the same port five times");
    }
}
