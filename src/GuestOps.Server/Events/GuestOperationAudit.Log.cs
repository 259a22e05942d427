namespace GuestOps.Server.Events;

public sealed partial class GuestOperationAudit
{
    [LoggerMessage(EventId = 4600, Level = LogLevel.Information, Message = "Guest operation {Operation} on {Vm} denied to {User}: missing {Privilege}")]
    private static partial void LogDenied(ILogger logger, string operation, string user, string vm, string privilege);

    [LoggerMessage(EventId = 4601, Level = LogLevel.Error, Message = "Could not record the audit event of {Operation}")]
    private static partial void LogAuditFailed(ILogger logger, string operation, Exception exception);
}
