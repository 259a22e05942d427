using Microsoft.Extensions.Logging;

namespace GuestOps.Host.QemuGuestAgent;

public sealed partial class QemuGuestAgentBridge
{
    [LoggerMessage(EventId = 3300, Level = LogLevel.Information, Message = "VM {Vm}: qemu-guest-agent at {Socket} does not answer: {Detail}; retrying with backoff")]
    private static partial void LogAgentUnreachable(ILogger logger, string vm, string socket, string detail);

    [LoggerMessage(EventId = 3301, Level = LogLevel.Warning, Message = "VM {Vm}: the guest's qemu-guest-agent does not allow {Command}: guest operations are refused (OperationDisabledByGuest)")]
    private static partial void LogCommandBlocked(ILogger logger, string vm, string command);

    [LoggerMessage(EventId = 3302, Level = LogLevel.Warning, Message = "VM {Vm}: no tools binary {Path} on the host to push into the guest")]
    private static partial void LogNoToolsOnHost(ILogger logger, string vm, string path);

    [LoggerMessage(EventId = 3303, Level = LogLevel.Information, Message = "VM {Vm}: pushed guestops-tools (SHA-256 {Sha256}) into the guest through qemu-guest-agent")]
    private static partial void LogToolsPushed(ILogger logger, string vm, string sha256);

    [LoggerMessage(EventId = 3304, Level = LogLevel.Error, Message = "VM {Vm}: the tools could not be pushed into the guest: {Detail}")]
    private static partial void LogPushFailed(ILogger logger, string vm, string detail);

    [LoggerMessage(EventId = 3305, Level = LogLevel.Information, Message = "VM {Vm}: serving guest operations as {Software}")]
    private static partial void LogServing(ILogger logger, string vm, string software);

    [LoggerMessage(EventId = 3306, Level = LogLevel.Warning, Message = "VM {Vm}: {Operation} failed in qemu-guest-agent: {Detail}")]
    private static partial void LogCallFailed(ILogger logger, string vm, string operation, string detail);

    [LoggerMessage(EventId = 3307, Level = LogLevel.Warning, Message = "VM {Vm}: staging file {Name} could not be removed: {Detail}")]
    private static partial void LogDiscardFailed(ILogger logger, string vm, string name, string detail);

    [LoggerMessage(EventId = 3308, Level = LogLevel.Information, Message = "VM {Vm}: resident guestops-tools running (guest pid {Pid}): calls no longer start a process in the guest")]
    private static partial void LogResidentStarted(ILogger logger, string vm, long pid);

    [LoggerMessage(EventId = 3309, Level = LogLevel.Warning, Message = "VM {Vm}: the resident guestops-tools did not start ({Detail}); calls run one-shot through guest-exec")]
    private static partial void LogResidentFailed(ILogger logger, string vm, string detail);

    [LoggerMessage(EventId = 3310, Level = LogLevel.Warning, Message = "VM {Vm}: the resident guestops-tools (guest pid {Pid}) stopped; starting another")]
    private static partial void LogResidentLost(ILogger logger, string vm, long pid);
}
