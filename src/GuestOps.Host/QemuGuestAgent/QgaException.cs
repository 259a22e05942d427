namespace GuestOps.Host.QemuGuestAgent;

/// <summary>qemu-guest-agent answered a command with an error (<c>{"error": {"class", "desc"}}</c>).</summary>
public sealed class QgaCommandException(string command, string errorClass, string description)
    : Exception($"qemu-guest-agent refused {command}: {description} ({errorClass})")
{
    public string Command { get; } = command;

    /// <summary>QMP's error class, e.g. <c>GenericError</c> or <c>CommandNotFound</c>.</summary>
    public string ErrorClass { get; } = errorClass;

    public string Description { get; } = description;
}

/// <summary>The connection to qemu-guest-agent failed or timed out: nothing more can be sent on it.</summary>
public sealed class QgaConnectionException(string message, Exception? inner = null) : Exception(message, inner);
