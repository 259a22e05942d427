using System.ServiceModel;
using System.Xml.Serialization;

namespace GuestOps.Vim.Contracts;

// Guest operations (reference section 3). The privilege is checked on the vm parameter (section 8.1).
// Declared faults follow VMware's WSDL: GuestOperationsFault, InvalidState, TaskInProgress (+ FileFault for file
// methods and StartProgramInGuest), and RuntimeFault.

[ServiceContract(Namespace = VimNamespaces.Vim25, Name = "VimPortType")]
[XmlSerializerFormat(SupportFaults = true)]
[ServiceKnownType(nameof(VimTypes.GetKnownTypes), typeof(VimTypes))]
public interface IGuestAuthManager
{
    [OperationContract(Action = VimActions.Default, ReplyAction = "*")]
    [FaultContract(typeof(GuestOperationsFault), Name = "GuestOperationsFaultFault")]
    [FaultContract(typeof(InvalidState), Name = "InvalidStateFault")]
    [FaultContract(typeof(TaskInProgress), Name = "TaskInProgressFault")]
    [FaultContract(typeof(RuntimeFault), Name = "RuntimeFaultFault")]
    [VimPrivilege(Privileges.GuestOperationsQuery, On = "vm")]
    Task ValidateCredentialsInGuestAsync(ManagedObjectReference _this, ManagedObjectReference vm, GuestAuthentication auth);

    [OperationContract(Action = VimActions.Default, ReplyAction = "*")]
    [FaultContract(typeof(GuestOperationsFault), Name = "GuestOperationsFaultFault")]
    [FaultContract(typeof(InvalidState), Name = "InvalidStateFault")]
    [FaultContract(typeof(TaskInProgress), Name = "TaskInProgressFault")]
    [FaultContract(typeof(RuntimeFault), Name = "RuntimeFaultFault")]
    [VimPrivilege(Privileges.GuestOperationsQuery, On = "vm")]
    [return: MessageParameter(Name = "returnval")]
    Task<GuestAuthentication> AcquireCredentialsInGuestAsync(ManagedObjectReference _this, ManagedObjectReference vm, GuestAuthentication requestedAuth, long? sessionID);

    [OperationContract(Action = VimActions.Default, ReplyAction = "*")]
    [FaultContract(typeof(GuestOperationsFault), Name = "GuestOperationsFaultFault")]
    [FaultContract(typeof(InvalidState), Name = "InvalidStateFault")]
    [FaultContract(typeof(TaskInProgress), Name = "TaskInProgressFault")]
    [FaultContract(typeof(RuntimeFault), Name = "RuntimeFaultFault")]
    [VimPrivilege(Privileges.GuestOperationsQuery, On = "vm")]
    Task ReleaseCredentialsInGuestAsync(ManagedObjectReference _this, ManagedObjectReference vm, GuestAuthentication auth);
}

[ServiceContract(Namespace = VimNamespaces.Vim25, Name = "VimPortType")]
[XmlSerializerFormat(SupportFaults = true)]
[ServiceKnownType(nameof(VimTypes.GetKnownTypes), typeof(VimTypes))]
public interface IGuestFileManager
{
    [OperationContract(Action = VimActions.Default, ReplyAction = "*")]
    [FaultContract(typeof(FileFault), Name = "FileFaultFault")]
    [FaultContract(typeof(GuestOperationsFault), Name = "GuestOperationsFaultFault")]
    [FaultContract(typeof(InvalidState), Name = "InvalidStateFault")]
    [FaultContract(typeof(TaskInProgress), Name = "TaskInProgressFault")]
    [FaultContract(typeof(RuntimeFault), Name = "RuntimeFaultFault")]
    [VimPrivilege(Privileges.GuestOperationsQuery, On = "vm")]
    [return: MessageParameter(Name = "returnval")]
    Task<GuestListFileInfo> ListFilesInGuestAsync(ManagedObjectReference _this, ManagedObjectReference vm, GuestAuthentication auth, string filePath, int? index, int? maxResults, string? matchPattern);
}
