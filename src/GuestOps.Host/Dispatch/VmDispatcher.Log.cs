using Microsoft.Extensions.Logging;

namespace GuestOps.Host.Dispatch;

public sealed partial class VmDispatcher
{
    [LoggerMessage(EventId = 3000, Level = LogLevel.Information, Message = "VM {VmId}: guest agent {Software} connected (guest host name {HostName})")]
    private static partial void LogConnected(ILogger logger, string vmId, string software, string hostName);

    [LoggerMessage(EventId = 3001, Level = LogLevel.Warning, Message = "VM {VmId}: guest agent went away ({Reason}: {Detail})")]
    private static partial void LogDisconnected(ILogger logger, string vmId, string reason, string detail);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Warning, Message = "VM {VmId}: guest agent is out of date: {Detail}")]
    private static partial void LogOutOfDate(ILogger logger, string vmId, string detail);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Warning, Message = "VM {VmId}: channel handshake failed")]
    private static partial void LogHandshakeFailed(ILogger logger, string vmId, Exception exception);

    [LoggerMessage(EventId = 3004, Level = LogLevel.Error, Message = "VM {VmId}: accepting a channel connection failed")]
    private static partial void LogAcceptFailed(ILogger logger, string vmId, Exception exception);

    [LoggerMessage(EventId = 3005, Level = LogLevel.Warning, Message = "VM {VmId}: {Operation} timed out")]
    private static partial void LogTimedOut(ILogger logger, string vmId, string operation);
}
