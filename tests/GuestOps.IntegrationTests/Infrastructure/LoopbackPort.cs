using System.Net;
using System.Net.Sockets;

namespace GuestOps.IntegrationTests.Infrastructure;

/// <summary>Ports for servers the tests start on 127.0.0.1.</summary>
internal static class LoopbackPort
{
    /// <summary>A port that was free a moment ago (the kernel's pick for a listener on port 0, released again).</summary>
    public static int Free()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }
}
