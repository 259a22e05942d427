namespace GuestOps.Channel.Messages;

/// <summary>Protocol constants shared by both sides.</summary>
public static class ChannelProtocol
{
    /// <summary>The value of <see cref="ChannelHello.Magic"/>.</summary>
    public const string Magic = "guestops-channel";

    /// <summary>
    /// The protocol version this build speaks. Bump it when a change is not backward compatible (frame layout,
    /// message meaning, operation names); adding an operation is not such a change (it is a capability, see
    /// <see cref="ChannelCapabilities"/>). Version 2 names operations as the vSphere guest methods
    /// (<c>ListFilesInGuest</c>), on the wire and in capabilities.
    /// </summary>
    public const int CurrentVersion = 2;

    /// <summary>The oldest peer version this build accepts by default: 2, since version 1's operation names differ.</summary>
    public const int MinimumVersion = 2;

    /// <summary>Hard ceiling for any frame payload (the negotiated limit is usually lower).</summary>
    public const int AbsoluteMaxFrameSize = 16 * 1024 * 1024;

    /// <summary>Largest payload accepted before the handshake completes (the hello itself).</summary>
    public const int MaxHelloSize = 64 * 1024;

    /// <summary>Default largest payload a side accepts (advertised in the hello).</summary>
    public const int DefaultMaxFrameSize = 1024 * 1024;

    /// <summary>Default per-stream receive window in bytes (advertised in the hello).</summary>
    public const int DefaultStreamWindow = 1024 * 1024;

    /// <summary>Largest data chunk a sender puts in one frame (further capped by the peer's max frame size).</summary>
    public const int MaxDataChunk = 128 * 1024;
}

/// <summary>
/// Capability strings advertised in <see cref="ChannelHello.Capabilities"/>. An operation's capability equals its
/// <see cref="ChannelRequest.Operation"/> name (the guest method's vSphere name) prefixed with <c>op:</c>; the host checks it before sending and
/// reports a missing one as "guest components out of date".
/// </summary>
public static class ChannelCapabilities
{
    /// <summary>The side can carry raw data streams with credit-based flow control.</summary>
    public const string DataStreams = "data-streams";

    /// <summary>The side answers pings.</summary>
    public const string Heartbeat = "heartbeat";

    /// <summary>The capability for an operation name.</summary>
    public static string ForOperation(string operation) => "op:" + operation;
}

/// <summary>Which end of the channel a side is.</summary>
public enum ChannelRole
{
    /// <summary>The per-VM dispatcher (host side). Its request ids are odd.</summary>
    Host = 1,

    /// <summary>The in-guest worker. Its request ids are even.</summary>
    Worker = 2,
}
