using System.Net.Sockets;

namespace GuestOps.Channel.Transport;

/// <summary>
/// Listens on a unix domain socket for one VM's worker. A stale socket file left by a previous run is replaced; the
/// file is removed on dispose. Access control is the file's mode and its directory (default 0600: only the host
/// agent's user, and whoever the socket is bind-mounted into a sandbox for).
/// </summary>
public sealed class UnixSocketChannelListener : IChannelListener
{
    private readonly Socket _socket;
    private int _disposed;

    private UnixSocketChannelListener(ChannelEndpoint endpoint, Socket socket)
    {
        Endpoint = endpoint;
        _socket = socket;
    }

    public ChannelEndpoint Endpoint { get; }

    /// <summary>Creates the socket file and starts listening.</summary>
    public static UnixSocketChannelListener Start(string path, UnixFileMode mode = UnixFileMode.UserRead | UnixFileMode.UserWrite, int backlog = 16)
    {
        var endpoint = ChannelEndpoint.Unix(path);
        if (File.Exists(path) && (File.GetAttributes(path) & FileAttributes.Directory) == 0)
        {
            File.Delete(path); // stale socket from a previous run
        }

        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            socket.Bind(new UnixDomainSocketEndPoint(path));
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(path, mode);
            }

            socket.Listen(backlog);
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        return new UnixSocketChannelListener(endpoint, socket);
    }

    public async ValueTask<ChannelTransportConnection> AcceptAsync(CancellationToken cancellationToken)
    {
        var client = await _socket.AcceptAsync(cancellationToken).ConfigureAwait(false);
        return new ChannelTransportConnection(new NetworkStream(client, ownsSocket: true), Endpoint.ToString());
    }

    public ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _socket.Dispose();
            try
            {
                File.Delete(Endpoint.Path!);
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }

        return ValueTask.CompletedTask;
    }
}

/// <summary>Connects a worker to its host's unix domain socket.</summary>
public sealed class UnixSocketChannelConnector : IChannelConnector
{
    public UnixSocketChannelConnector(string path)
    {
        Endpoint = ChannelEndpoint.Unix(path);
    }

    public ChannelEndpoint Endpoint { get; }

    public async ValueTask<ChannelTransportConnection> ConnectAsync(CancellationToken cancellationToken)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(Endpoint.Path!), cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        return new ChannelTransportConnection(new NetworkStream(socket, ownsSocket: true), Endpoint.ToString());
    }
}
