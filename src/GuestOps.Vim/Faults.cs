namespace GuestOps.Vim;

// Fault types, fields in wire order. Hierarchy: MethodFault -> RuntimeFault | VimFault.

public class RuntimeFault : MethodFault { }

public class VimFault : MethodFault { }

public class SecurityError : RuntimeFault { }

public class NoPermission : SecurityError
{
    public ManagedObjectReference? @object { get; set; }
    public string? privilegeId { get; set; }

    /// <summary>Every privilege missing, per entity (vSphere 7.0.3.2+; not in the 5.x schema).</summary>
    [XmlElement("missingPrivileges")]
    public NoPermissionEntityPrivileges[]? missingPrivileges { get; set; }
}

/// <summary>The privileges missing on one entity (<c>NoPermission.missingPrivileges</c>).</summary>
public sealed class NoPermissionEntityPrivileges : DynamicData
{
    public ManagedObjectReference entity { get; set; } = new();

    [XmlElement("privilegeIds")]
    public string[]? privilegeIds { get; set; }
}

public class AlreadyExists : VimFault
{
    public string? name { get; set; }
}

public class NotFound : VimFault { }

public class InvalidName : VimFault
{
    public string name { get; set; } = "";
    public ManagedObjectReference? entity { get; set; }
}

public class RemoveFailed : VimFault { }

public class UserNotFound : VimFault
{
    public string principal { get; set; } = "";
    public bool unresolved { get; set; }
}

/// <summary>The change would leave no Admin permission on the root folder.</summary>
public class AuthMinimumAdminPermission : VimFault { }

public sealed class NotAuthenticated : NoPermission { }

public sealed class InvalidLogin : VimFault { }

public sealed class InvalidLocale : VimFault { }

public class InvalidArgument : RuntimeFault
{
    public string? invalidProperty { get; set; }
}

public class InvalidRequest : RuntimeFault { }

public sealed class MethodNotFound : InvalidRequest
{
    public ManagedObjectReference receiver { get; set; } = new();
    public string method { get; set; } = "";
}

public sealed class ManagedObjectNotFound : RuntimeFault
{
    public ManagedObjectReference obj { get; set; } = new();
}

public class InvalidProperty : MethodFault
{
    public string name { get; set; } = "";
}

public class NotImplemented : RuntimeFault { }

public class NotSupported : RuntimeFault { }

public sealed class SystemError : RuntimeFault
{
    public string reason { get; set; } = "";
}

public sealed class RequestCanceled : RuntimeFault { }

public class HostCommunication : RuntimeFault { }

/// <summary>The host that runs the object is disconnected (what vCenter answers for a VM of a host it cannot reach).</summary>
public sealed class HostNotConnected : HostCommunication { }

public class InvalidState : VimFault { }

public sealed class InvalidPowerState : InvalidState
{
    public VirtualMachinePowerState? requestedState { get; set; }
    public bool ShouldSerializerequestedState() => requestedState.HasValue;
    public VirtualMachinePowerState existingState { get; set; }
}

public sealed class TaskInProgress : VimFault
{
    public ManagedObjectReference task { get; set; } = new();
}

// Guest operations (5.0).

public class GuestOperationsFault : VimFault { }

public sealed class InvalidGuestLogin : GuestOperationsFault { }

public sealed class GuestPermissionDenied : GuestOperationsFault { }

public sealed class GuestProcessNotFound : GuestOperationsFault
{
    public long pid { get; set; }
}

public sealed class GuestComponentsOutOfDate : GuestOperationsFault { }

public sealed class GuestOperationsUnavailable : GuestOperationsFault { }

public sealed class OperationDisabledByGuest : GuestOperationsFault { }

public sealed class OperationNotSupportedByGuest : GuestOperationsFault { }

public sealed class TooManyGuestLogons : GuestOperationsFault { }

// Files.

public class FileFault : VimFault
{
    public string file { get; set; } = "";
}

public sealed class FileNotFound : FileFault { }

public sealed class FileAlreadyExists : FileFault { }

public sealed class CannotAccessFile : FileFault { }

public sealed class NotAFile : FileFault { }

public sealed class NotADirectory : FileFault { }

public sealed class DirectoryNotEmpty : FileFault { }

public sealed class FileNameTooLong : FileFault { }

public sealed class FileLocked : FileFault { }

public sealed class NoDiskSpace : FileFault
{
    public string datastore { get; set; } = "";
}

/// <summary>WaitForUpdatesEx / CheckForUpdates / WaitForUpdates with a version this collector did not give out.</summary>
public sealed class InvalidCollectorVersion : MethodFault { }
