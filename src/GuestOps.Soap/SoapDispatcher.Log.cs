using Microsoft.Extensions.Logging;

namespace GuestOps.Soap;

public sealed partial class SoapDispatcher
{
    [LoggerMessage(EventId = 2000, Level = LogLevel.Debug, Message = "{Operation} failed with {Fault}: {FaultMessage}")]
    private static partial void LogFault(ILogger logger, string operation, string fault, string faultMessage);

    [LoggerMessage(EventId = 2001, Level = LogLevel.Information, Message = "Invalid SOAP request ({Operation}): {Reason}")]
    private static partial void LogInvalidRequest(ILogger logger, string operation, string reason);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Error, Message = "{Operation} failed with an internal error")]
    private static partial void LogInternalError(ILogger logger, string operation, Exception exception);
}
