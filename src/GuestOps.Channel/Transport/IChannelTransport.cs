using System.Security.Cryptography.X509Certificates;

namespace GuestOps.Channel.Transport;

/// <summary>An accepted or connected transport, ready for <see cref="ChannelConnection.EstablishAsync"/>.</summary>
/// <param name="Stream">The duplex byte stream (owned by whoever establishes the channel on it).</param>
/// <param name="RemoteDescription">Who is on the other end, for logs.</param>
/// <param name="PeerCertificate">The peer's verified TLS certificate (TCP+mTLS only), e.g. to bind it to one VM.</param>
public sealed record ChannelTransportConnection(Stream Stream, string RemoteDescription, X509Certificate2? PeerCertificate = null);

/// <summary>
/// The host side of a transport: accepts workers. Implementations: <see cref="UnixSocketChannelListener"/>,
/// <see cref="TcpTlsChannelListener"/>.
/// </summary>
public interface IChannelListener : IAsyncDisposable
{
    /// <summary>Where this listener listens.</summary>
    ChannelEndpoint Endpoint { get; }

    /// <summary>Waits for the next worker and returns its transport (TLS already negotiated where applicable).</summary>
    ValueTask<ChannelTransportConnection> AcceptAsync(CancellationToken cancellationToken);
}

/// <summary>
/// The worker side of a transport: reaches the host. Implementations: <see cref="UnixSocketChannelConnector"/>,
/// <see cref="TcpTlsChannelConnector"/>.
/// <para>
/// Extension point for AF_VSOCK (<c>vsock:CID:PORT</c>): a connector creates <c>socket(AF_VSOCK = 40,
/// SOCK_STREAM, 0)</c> through P/Invoke, wraps the descriptor in a <see cref="System.Net.Sockets.SafeSocketHandle"/>
/// and a <see cref="System.Net.Sockets.Socket"/>, and connects to a 16-byte <c>sockaddr_vm</c>
/// (<c>u16 family = 40, u16 reserved, u32 port, u32 cid, u8 zero[4]</c>) given as a custom
/// <see cref="System.Net.EndPoint"/> whose <c>Serialize()</c> returns it; the listener mirrors that with bind/listen
/// on <c>VMADDR_CID_ANY</c>. Nothing above the stream changes: the channel only needs a duplex
/// <see cref="Stream"/>. Not implemented here because no hypervisor provides vsock to the simulated guests.
/// </para>
/// </summary>
public interface IChannelConnector
{
    ChannelEndpoint Endpoint { get; }

    ValueTask<ChannelTransportConnection> ConnectAsync(CancellationToken cancellationToken);
}
