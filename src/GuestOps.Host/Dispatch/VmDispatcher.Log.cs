using Microsoft.Extensions.Logging;

namespace GuestOps.Host.Dispatch;

public sealed partial class VmDispatcher
{
    [LoggerMessage(EventId = 300, Level = LogLevel.Information, Message = "VM {VmId}: guest agent {Software} connected (guest host name {HostName})")]
    private static partial void LogConnected(ILogger logger, string vmId, string software, string hostName);

    [LoggerMessage(EventId = 301, Level = LogLevel.Warning, Message = "VM {VmId}: guest agent went away ({Reason}: {Detail})")]
    private static partial void LogDisconnected(ILogger logger, string vmId, string reason, string detail);

    [LoggerMessage(EventId = 302, Level = LogLevel.Warning, Message = "VM {VmId}: guest agent is out of date: {Detail}")]
    private static partial void LogOutOfDate(ILogger logger, string vmId, string detail);

    [LoggerMessage(EventId = 303, Level = LogLevel.Warning, Message = "VM {VmId}: channel handshake failed")]
    private static partial void LogHandshakeFailed(ILogger logger, string vmId, Exception exception);

    [LoggerMessage(EventId = 304, Level = LogLevel.Error, Message = "VM {VmId}: accepting a channel connection failed")]
    private static partial void LogAcceptFailed(ILogger logger, string vmId, Exception exception);

    [LoggerMessage(EventId = 305, Level = LogLevel.Warning, Message = "VM {VmId}: {Operation} timed out")]
    private static partial void LogTimedOut(ILogger logger, string vmId, string operation);
}
