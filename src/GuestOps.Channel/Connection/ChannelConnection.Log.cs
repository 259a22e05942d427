using Microsoft.Extensions.Logging;
using GuestOps.Channel.Messages;

namespace GuestOps.Channel.Connection;

public sealed partial class ChannelConnection
{
    [LoggerMessage(EventId = 1001, Level = LogLevel.Information, Message = "Channel handshake done: this side {LocalRole}, peer {PeerRole} '{PeerSoftware}', protocol v{Version}")]
    private partial void LogHandshake(ChannelRole localRole, ChannelRole peerRole, string peerSoftware, int version);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Information, Message = "Channel closed: {Reason} ({Detail})")]
    private partial void LogClosed(ChannelCloseReason reason, string detail);

    [LoggerMessage(EventId = 1003, Level = LogLevel.Warning, Message = "Channel protocol error: {Detail}")]
    private partial void LogProtocolError(string detail);

    [LoggerMessage(EventId = 1004, Level = LogLevel.Warning, Message = "Heartbeat lost: nothing received for {SilenceMs:F0} ms")]
    private partial void LogHeartbeatLost(double silenceMs);

    [LoggerMessage(EventId = 1005, Level = LogLevel.Error, Message = "Handler for request {Id} ({Operation}) failed")]
    private partial void LogHandlerFailed(Exception ex, uint id, string operation);

    [LoggerMessage(EventId = 1006, Level = LogLevel.Debug, Message = "Request {Id} ({Operation}) sent")]
    private partial void LogRequestSent(uint id, string operation);

    [LoggerMessage(EventId = 1007, Level = LogLevel.Debug, Message = "Request {Id} ({Operation}) received")]
    private partial void LogRequestReceived(uint id, string operation);

    [LoggerMessage(EventId = 1008, Level = LogLevel.Debug, Message = "Request {Id} rejected: {Code} {Detail}")]
    private partial void LogRequestRejected(uint id, GuestErrorCode code, string detail);

    [LoggerMessage(EventId = 1009, Level = LogLevel.Debug, Message = "Response for request {Id} arrived after the call ended; dropped")]
    private partial void LogLateResponse(uint id);

    [LoggerMessage(EventId = 1010, Level = LogLevel.Debug, Message = "Unknown frame type {Type} on stream {Id}; skipped")]
    private partial void LogUnknownFrame(byte type, uint id);

    [LoggerMessage(EventId = 1011, Level = LogLevel.Error, Message = "Unexpected failure in the channel read loop")]
    private partial void LogUnexpected(Exception ex);
}
