namespace GuestOps.Channel.Framing;

/// <summary>
/// The kind of a frame on the wire. Values are part of the protocol and never change meaning; a receiver skips
/// frame types it does not know (forward compatibility), so new types can be added without a version bump when
/// ignoring them is harmless.
/// </summary>
public enum FrameType : byte
{
    /// <summary>Handshake: UTF-8 JSON <see cref="Messages.ChannelHello"/>. Stream id 0. First frame in each direction.</summary>
    Hello = 1,

    /// <summary>A request: UTF-8 JSON <see cref="Messages.ChannelRequest"/>. Stream id = request id.</summary>
    Request = 2,

    /// <summary>The response to a request: UTF-8 JSON <see cref="Messages.ChannelResponse"/>. Stream id = request id.</summary>
    Response = 3,

    /// <summary>The sender of a request no longer wants its response. Empty payload.</summary>
    Cancel = 4,

    /// <summary>A chunk of the sender's raw data stream for the request with this id. Counts against the receiver's window.</summary>
    Data = 5,

    /// <summary>The sender's data stream for this id ended normally. Empty payload.</summary>
    DataEnd = 6,

    /// <summary>The sender's data stream for this id ended abnormally. Payload: optional UTF-8 reason.</summary>
    DataAbort = 7,

    /// <summary>Flow control: the receiver consumed data; payload is a 4-byte big-endian count of bytes the peer may send more.</summary>
    DataCredit = 8,

    /// <summary>Heartbeat request. Payload: 8 opaque bytes echoed in the <see cref="Pong"/>.</summary>
    Ping = 9,

    /// <summary>Heartbeat answer carrying the ping's payload.</summary>
    Pong = 10,

    /// <summary>Clean shutdown: the last frame the sender writes. Payload: optional UTF-8 reason.</summary>
    Goodbye = 11,
}
