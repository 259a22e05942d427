using GuestOps.Soap;
using GuestOps.Vim;

namespace GuestOps.Server.Guest;

/// <summary>
/// The text of every guest-operation fault (its <c>faultstring</c>, which pyVmomi shows as <c>msg</c> and govc after
/// <c>ServerFaultCode:</c>), worded as ESXi and vCenter word it, because scripts match on it (e.g. "File /tmp/x was not
/// found"). The guest's own explanation (the OS error behind it, which account, which setting) follows as a second
/// sentence, never in place of that text.
/// </summary>
public static class GuestFaultMessages
{
    /// <summary>A fault whose text is <see cref="Describe"/>: the standard text, then <paramref name="detail"/>.</summary>
    public static VimFaultException Exception(MethodFault fault, string? detail = null) => new(fault, Describe(fault, detail));

    /// <summary>The standard text of <paramref name="fault"/>, then <paramref name="detail"/> as a second sentence when it
    /// says more than the standard text.</summary>
    public static string Describe(MethodFault fault, string? detail = null)
    {
        var summary = Summary(fault);
        detail = detail?.Trim();
        if (string.IsNullOrEmpty(detail) || summary.Contains(detail, StringComparison.Ordinal))
        {
            return summary;
        }

        return summary.EndsWith('.') ? $"{summary} {detail}" : $"{summary}. {detail}";
    }

    /// <summary>The text ESXi/vCenter send for <paramref name="fault"/>, with the fault's own fields filled in.</summary>
    public static string Summary(MethodFault fault) => fault switch
    {
        InvalidGuestLogin => "Failed to authenticate with the guest operating system using the supplied credentials.",
        GuestPermissionDenied => "Insufficient permissions in the guest operating system to perform this operation.",
        GuestProcessNotFound p => $"Process {p.pid} was not found in the guest operating system.",
        GuestComponentsOutOfDate => "The guest operations agent is out of date.",
        GuestOperationsUnavailable => "The guest operations agent could not be contacted.",
        OperationDisabledByGuest => "The operation is disabled by the guest operating system.",
        OperationNotSupportedByGuest => "The operation is not supported by the guest operating system.",
        TooManyGuestLogons => "There are too many logons in the guest operating system.",
        GuestAuthenticationChallenge => "The guest operating system requires another round of authentication.",
        GuestOperationsFault => "The guest operation failed.",
        FileNotFound f => $"File{Named(f.file)} was not found",
        FileAlreadyExists f => $"Cannot complete the operation because the file or folder{Named(f.file)} already exists",
        CannotAccessFile f => $"Unable to access file{Named(f.file)}",
        FileLocked f => $"Unable to access file{Named(f.file)} since it is locked",
        NotAFile f => $"The path{Named(f.file)} is not a file",
        NotADirectory f => $"The path{Named(f.file)} is not a directory",
        DirectoryNotEmpty f => $"The directory{Named(f.file)} is not empty",
        FileNameTooLong f => $"File name{Named(f.file)} is too long",
        NoDiskSpace { datastore.Length: > 0 } d => $"Insufficient disk space on datastore '{d.datastore}'.",
        NoDiskSpace f => $"Insufficient disk space in the guest operating system for file{Named(f.file)}",
        FileFault f => $"Error caused by file{Named(f.file)}",
        InvalidPowerState p => $"The attempted operation cannot be performed in the current state ({PowerState(p.existingState)}).",
        InvalidArgument { invalidProperty.Length: > 0 } a => $"A specified parameter was not correct: {a.invalidProperty}",
        InvalidArgument => "A specified parameter was not correct",
        SystemError e => $"A general system error occurred: {e.reason}",
        HostNotConnected => "Unable to communicate with the remote host, since it is disconnected.",
        _ => fault.GetType().Name,
    };

    private static string Named(string? file) => string.IsNullOrEmpty(file) ? "" : " " + file;

    private static string PowerState(VirtualMachinePowerState state) => state switch
    {
        VirtualMachinePowerState.PoweredOn => "Powered on",
        VirtualMachinePowerState.Suspended => "Suspended",
        _ => "Powered off",
    };
}
