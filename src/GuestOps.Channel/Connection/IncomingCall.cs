using GuestOps.Channel.Messages;

namespace GuestOps.Channel.Connection;

/// <summary>Handles requests the peer sends (the worker's operations; optionally host-side callbacks).</summary>
public interface IChannelRequestHandler
{
    /// <summary>
    /// Performs the request and returns its response. <paramref name="cancellationToken"/> fires when the peer
    /// cancels or the connection ends. Exceptions become <see cref="GuestErrorCode.InternalError"/> responses.
    /// Request data (if any) is read from <see cref="IncomingCall.RequestData"/>; response data written to
    /// <see cref="IncomingCall.ResponseData"/> is ended automatically before the response is sent.
    /// </summary>
    ValueTask<ChannelResponse> HandleAsync(IncomingCall call, CancellationToken cancellationToken);
}

/// <summary>A request received from the peer, as seen by an <see cref="IChannelRequestHandler"/>.</summary>
public sealed class IncomingCall : IDisposable
{
    private readonly CancellationTokenSource _cts;

    internal IncomingCall(ChannelConnection connection, uint id, ChannelRequest request, CallStreams streams, CancellationToken connectionClosing)
    {
        Connection = connection;
        Id = id;
        Request = request;
        Streams = streams;
        _cts = CancellationTokenSource.CreateLinkedTokenSource(connectionClosing);
    }

    public ChannelConnection Connection { get; }

    public uint Id { get; }

    public ChannelRequest Request { get; }

    /// <summary>Fires when the peer cancels this request or the connection ends.</summary>
    public CancellationToken CancellationToken => _cts.Token;

    /// <summary>Bytes the peer sends with this request.</summary>
    public ChannelDataReader RequestData => Streams.Inbound;

    /// <summary>Bytes to send back before the response.</summary>
    public ChannelDataWriter ResponseData => Streams.Outbound;

    internal CallStreams Streams { get; }

    internal void OnPeerCanceled()
    {
        try
        {
            _cts.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }
    }

    public void Dispose() => _cts.Dispose();
}
