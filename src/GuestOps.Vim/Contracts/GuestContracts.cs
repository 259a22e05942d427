namespace GuestOps.Vim.Contracts;

// Guest operations. The privilege is checked on the vm parameter.
// Declared faults follow VMware's WSDL: GuestOperationsFault, InvalidState, TaskInProgress (+ FileFault for file
// methods and StartProgramInGuest), and RuntimeFault.

[ServiceContract(Namespace = VimNamespaces.Vim25, Name = "VimPortType")]
[XmlSerializerFormat(SupportFaults = true)]
[ServiceKnownType(nameof(VimTypes.GetKnownTypes), typeof(VimTypes))]
[VimWireFormat]
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
[VimWireFormat]
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

    [OperationContract(Action = VimActions.Default, ReplyAction = "*")]
    [FaultContract(typeof(GuestOperationsFault), Name = "GuestOperationsFaultFault")]
    [FaultContract(typeof(InvalidState), Name = "InvalidStateFault")]
    [FaultContract(typeof(TaskInProgress), Name = "TaskInProgressFault")]
    [FaultContract(typeof(FileFault), Name = "FileFaultFault")]
    [FaultContract(typeof(RuntimeFault), Name = "RuntimeFaultFault")]
    [VimPrivilege(Privileges.GuestOperationsModify, On = "vm")]
    Task ChangeFileAttributesInGuestAsync(ManagedObjectReference _this, ManagedObjectReference vm, GuestAuthentication auth, string guestFilePath, GuestFileAttributes fileAttributes);

    [OperationContract(Action = VimActions.Default, ReplyAction = "*")]
    [FaultContract(typeof(GuestOperationsFault), Name = "GuestOperationsFaultFault")]
    [FaultContract(typeof(InvalidState), Name = "InvalidStateFault")]
    [FaultContract(typeof(TaskInProgress), Name = "TaskInProgressFault")]
    [FaultContract(typeof(FileFault), Name = "FileFaultFault")]
    [FaultContract(typeof(RuntimeFault), Name = "RuntimeFaultFault")]
    [VimPrivilege(Privileges.GuestOperationsModify, On = "vm")]
    [return: MessageParameter(Name = "returnval")]
    Task<string> CreateTemporaryDirectoryInGuestAsync(ManagedObjectReference _this, ManagedObjectReference vm, GuestAuthentication auth, string prefix, string suffix, string? directoryPath);

    [OperationContract(Action = VimActions.Default, ReplyAction = "*")]
    [FaultContract(typeof(GuestOperationsFault), Name = "GuestOperationsFaultFault")]
    [FaultContract(typeof(InvalidState), Name = "InvalidStateFault")]
    [FaultContract(typeof(TaskInProgress), Name = "TaskInProgressFault")]
    [FaultContract(typeof(FileFault), Name = "FileFaultFault")]
    [FaultContract(typeof(RuntimeFault), Name = "RuntimeFaultFault")]
    [VimPrivilege(Privileges.GuestOperationsModify, On = "vm")]
    [return: MessageParameter(Name = "returnval")]
    Task<string> CreateTemporaryFileInGuestAsync(ManagedObjectReference _this, ManagedObjectReference vm, GuestAuthentication auth, string prefix, string suffix, string? directoryPath);

    [OperationContract(Action = VimActions.Default, ReplyAction = "*")]
    [FaultContract(typeof(GuestOperationsFault), Name = "GuestOperationsFaultFault")]
    [FaultContract(typeof(InvalidState), Name = "InvalidStateFault")]
    [FaultContract(typeof(TaskInProgress), Name = "TaskInProgressFault")]
    [FaultContract(typeof(FileFault), Name = "FileFaultFault")]
    [FaultContract(typeof(RuntimeFault), Name = "RuntimeFaultFault")]
    [VimPrivilege(Privileges.GuestOperationsModify, On = "vm")]
    Task DeleteDirectoryInGuestAsync(ManagedObjectReference _this, ManagedObjectReference vm, GuestAuthentication auth, string directoryPath, bool recursive);

    [OperationContract(Action = VimActions.Default, ReplyAction = "*")]
    [FaultContract(typeof(GuestOperationsFault), Name = "GuestOperationsFaultFault")]
    [FaultContract(typeof(InvalidState), Name = "InvalidStateFault")]
    [FaultContract(typeof(TaskInProgress), Name = "TaskInProgressFault")]
    [FaultContract(typeof(FileFault), Name = "FileFaultFault")]
    [FaultContract(typeof(RuntimeFault), Name = "RuntimeFaultFault")]
    [VimPrivilege(Privileges.GuestOperationsModify, On = "vm")]
    Task DeleteFileInGuestAsync(ManagedObjectReference _this, ManagedObjectReference vm, GuestAuthentication auth, string filePath);

    [OperationContract(Action = VimActions.Default, ReplyAction = "*")]
    [FaultContract(typeof(GuestOperationsFault), Name = "GuestOperationsFaultFault")]
    [FaultContract(typeof(InvalidState), Name = "InvalidStateFault")]
    [FaultContract(typeof(TaskInProgress), Name = "TaskInProgressFault")]
    [FaultContract(typeof(FileFault), Name = "FileFaultFault")]
    [FaultContract(typeof(RuntimeFault), Name = "RuntimeFaultFault")]
    [VimPrivilege(Privileges.GuestOperationsQuery, On = "vm")]
    [return: MessageParameter(Name = "returnval")]
    Task<FileTransferInformation> InitiateFileTransferFromGuestAsync(ManagedObjectReference _this, ManagedObjectReference vm, GuestAuthentication auth, string guestFilePath);

    [OperationContract(Action = VimActions.Default, ReplyAction = "*")]
    [FaultContract(typeof(GuestOperationsFault), Name = "GuestOperationsFaultFault")]
    [FaultContract(typeof(InvalidState), Name = "InvalidStateFault")]
    [FaultContract(typeof(TaskInProgress), Name = "TaskInProgressFault")]
    [FaultContract(typeof(FileFault), Name = "FileFaultFault")]
    [FaultContract(typeof(RuntimeFault), Name = "RuntimeFaultFault")]
    [VimPrivilege(Privileges.GuestOperationsModify, On = "vm")]
    [return: MessageParameter(Name = "returnval")]
    Task<string> InitiateFileTransferToGuestAsync(ManagedObjectReference _this, ManagedObjectReference vm, GuestAuthentication auth, string guestFilePath, GuestFileAttributes fileAttributes, long fileSize, bool overwrite);

    [OperationContract(Action = VimActions.Default, ReplyAction = "*")]
    [FaultContract(typeof(GuestOperationsFault), Name = "GuestOperationsFaultFault")]
    [FaultContract(typeof(InvalidState), Name = "InvalidStateFault")]
    [FaultContract(typeof(TaskInProgress), Name = "TaskInProgressFault")]
    [FaultContract(typeof(FileFault), Name = "FileFaultFault")]
    [FaultContract(typeof(RuntimeFault), Name = "RuntimeFaultFault")]
    [VimPrivilege(Privileges.GuestOperationsModify, On = "vm")]
    Task MakeDirectoryInGuestAsync(ManagedObjectReference _this, ManagedObjectReference vm, GuestAuthentication auth, string directoryPath, bool createParentDirectories);

    [OperationContract(Action = VimActions.Default, ReplyAction = "*")]
    [FaultContract(typeof(GuestOperationsFault), Name = "GuestOperationsFaultFault")]
    [FaultContract(typeof(InvalidState), Name = "InvalidStateFault")]
    [FaultContract(typeof(TaskInProgress), Name = "TaskInProgressFault")]
    [FaultContract(typeof(FileFault), Name = "FileFaultFault")]
    [FaultContract(typeof(RuntimeFault), Name = "RuntimeFaultFault")]
    [VimPrivilege(Privileges.GuestOperationsModify, On = "vm")]
    Task MoveDirectoryInGuestAsync(ManagedObjectReference _this, ManagedObjectReference vm, GuestAuthentication auth, string srcDirectoryPath, string dstDirectoryPath);

    [OperationContract(Action = VimActions.Default, ReplyAction = "*")]
    [FaultContract(typeof(GuestOperationsFault), Name = "GuestOperationsFaultFault")]
    [FaultContract(typeof(InvalidState), Name = "InvalidStateFault")]
    [FaultContract(typeof(TaskInProgress), Name = "TaskInProgressFault")]
    [FaultContract(typeof(FileFault), Name = "FileFaultFault")]
    [FaultContract(typeof(RuntimeFault), Name = "RuntimeFaultFault")]
    [VimPrivilege(Privileges.GuestOperationsModify, On = "vm")]
    Task MoveFileInGuestAsync(ManagedObjectReference _this, ManagedObjectReference vm, GuestAuthentication auth, string srcFilePath, string dstFilePath, bool overwrite);
}

[ServiceContract(Namespace = VimNamespaces.Vim25, Name = "VimPortType")]
[XmlSerializerFormat(SupportFaults = true)]
[ServiceKnownType(nameof(VimTypes.GetKnownTypes), typeof(VimTypes))]
[VimWireFormat]
public interface IGuestProcessManager
{
    [OperationContract(Action = VimActions.Default, ReplyAction = "*")]
    [FaultContract(typeof(GuestOperationsFault), Name = "GuestOperationsFaultFault")]
    [FaultContract(typeof(InvalidState), Name = "InvalidStateFault")]
    [FaultContract(typeof(TaskInProgress), Name = "TaskInProgressFault")]
    [FaultContract(typeof(FileFault), Name = "FileFaultFault")]
    [FaultContract(typeof(RuntimeFault), Name = "RuntimeFaultFault")]
    [VimPrivilege(Privileges.GuestOperationsExecute, On = "vm")]
    [return: MessageParameter(Name = "returnval")]
    Task<long> StartProgramInGuestAsync(ManagedObjectReference _this, ManagedObjectReference vm, GuestAuthentication auth, GuestProgramSpec spec);

    [OperationContract(Action = VimActions.Default, ReplyAction = "*")]
    [FaultContract(typeof(GuestOperationsFault), Name = "GuestOperationsFaultFault")]
    [FaultContract(typeof(InvalidState), Name = "InvalidStateFault")]
    [FaultContract(typeof(TaskInProgress), Name = "TaskInProgressFault")]
    [FaultContract(typeof(RuntimeFault), Name = "RuntimeFaultFault")]
    [VimPrivilege(Privileges.GuestOperationsQuery, On = "vm")]
    [return: MessageParameter(Name = "returnval")]
    [return: XmlElement("returnval")]
    Task<GuestProcessInfo[]> ListProcessesInGuestAsync(ManagedObjectReference _this, ManagedObjectReference vm, GuestAuthentication auth, [XmlElement("pids")] long[]? pids);

    [OperationContract(Action = VimActions.Default, ReplyAction = "*")]
    [FaultContract(typeof(GuestOperationsFault), Name = "GuestOperationsFaultFault")]
    [FaultContract(typeof(InvalidState), Name = "InvalidStateFault")]
    [FaultContract(typeof(TaskInProgress), Name = "TaskInProgressFault")]
    [FaultContract(typeof(RuntimeFault), Name = "RuntimeFaultFault")]
    [VimPrivilege(Privileges.GuestOperationsExecute, On = "vm")]
    Task TerminateProcessInGuestAsync(ManagedObjectReference _this, ManagedObjectReference vm, GuestAuthentication auth, long pid);

    [OperationContract(Action = VimActions.Default, ReplyAction = "*")]
    [FaultContract(typeof(GuestOperationsFault), Name = "GuestOperationsFaultFault")]
    [FaultContract(typeof(InvalidState), Name = "InvalidStateFault")]
    [FaultContract(typeof(TaskInProgress), Name = "TaskInProgressFault")]
    [FaultContract(typeof(RuntimeFault), Name = "RuntimeFaultFault")]
    [VimPrivilege(Privileges.GuestOperationsQuery, On = "vm")]
    [return: MessageParameter(Name = "returnval")]
    [return: XmlElement("returnval")]
    Task<string[]> ReadEnvironmentVariableInGuestAsync(ManagedObjectReference _this, ManagedObjectReference vm, GuestAuthentication auth, [XmlElement("names")] string[]? names);
}
