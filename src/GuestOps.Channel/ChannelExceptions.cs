using GuestOps.Channel.Messages;

namespace GuestOps.Channel;

/// <summary>Why a <see cref="ChannelConnection"/> ended.</summary>
public enum ChannelCloseReason
{
    /// <summary>This side closed it (<see cref="ChannelConnection.CloseAsync"/> or dispose).</summary>
    LocalClosed,

    /// <summary>The peer said goodbye.</summary>
    PeerClosed,

    /// <summary>The transport ended without a goodbye (peer crashed, was killed, or the socket dropped).</summary>
    PeerDisconnected,

    /// <summary>Nothing was received from the peer for longer than the heartbeat timeout.</summary>
    HeartbeatTimeout,

    /// <summary>The peer violated the protocol (bad frame, oversized frame, bad message).</summary>
    ProtocolError,

    /// <summary>Reading or writing the transport failed.</summary>
    TransportError,
}

/// <summary>How a connection ended; the result of <see cref="ChannelConnection.Completion"/>.</summary>
public sealed record ChannelCloseInfo(ChannelCloseReason Reason, string Message, Exception? Error = null);

/// <summary>Base type of the channel's exceptions.</summary>
public class ChannelException : Exception
{
    public ChannelException(string message, Exception? inner = null) : base(message, inner)
    {
    }
}

/// <summary>The peer sent something that is not valid protocol; the connection is closed.</summary>
public sealed class ChannelProtocolException : ChannelException
{
    public ChannelProtocolException(string message, Exception? inner = null) : base(message, inner)
    {
    }
}

/// <summary>The connection is closed (or closed while the operation was pending).</summary>
public sealed class ChannelClosedException : ChannelException
{
    public ChannelClosedException(ChannelCloseReason reason, string message, Exception? inner = null) : base(message, inner)
    {
        Reason = reason;
    }

    public ChannelCloseReason Reason { get; }
}

/// <summary>A data stream was aborted by its sender, or the call it belongs to ended.</summary>
public sealed class ChannelDataAbortedException : ChannelException
{
    public ChannelDataAbortedException(string message, Exception? inner = null) : base(message, inner)
    {
    }
}

/// <summary>
/// The handshake failed because the protocol versions do not overlap. On the host side,
/// <see cref="PeerTooOld"/> means the guest component must be updated (vim: GuestComponentsOutOfDate).
/// </summary>
public sealed class ChannelVersionMismatchException : ChannelException
{
    public ChannelVersionMismatchException(string message, ChannelHello local, ChannelHello peer) : base(message)
    {
        Local = local;
        Peer = peer;
    }

    public ChannelHello Local { get; }

    public ChannelHello Peer { get; }

    /// <summary>True when the peer's newest version is below the oldest version this side accepts.</summary>
    public bool PeerTooOld => Peer.Version < Local.MinVersion;
}

/// <summary>A response carried a <see cref="GuestError"/>; thrown by <see cref="ChannelConnection.InvokeAsync{TResult}"/>.</summary>
public sealed class GuestErrorException : ChannelException
{
    public GuestErrorException(GuestError error) : base($"{error.Code}: {error.Message}")
    {
        Error = error;
    }

    public GuestError Error { get; }
}
