namespace GuestOps.Vim.Contracts;

/// <summary>vim.host.LocalAccountManager: the server's local users and groups, the principals of permissions.</summary>
[ServiceContract(Namespace = VimNamespaces.Vim25, Name = "VimPortType")]
[XmlSerializerFormat(SupportFaults = true)]
[ServiceKnownType(nameof(VimTypes.GetKnownTypes), typeof(VimTypes))]
[VimWireFormat]
public interface IHostLocalAccountManager
{
    [OperationContract(Action = VimActions.Default, ReplyAction = "*")]
    [FaultContract(typeof(AlreadyExists), Name = "AlreadyExistsFault")]
    [FaultContract(typeof(RuntimeFault), Name = "RuntimeFaultFault")]
    [VimPrivilege(Privileges.HostLocalManageUserGroups)]
    Task CreateUserAsync(ManagedObjectReference _this, HostAccountSpec user);

    [OperationContract(Action = VimActions.Default, ReplyAction = "*")]
    [FaultContract(typeof(UserNotFound), Name = "UserNotFoundFault")]
    [FaultContract(typeof(AlreadyExists), Name = "AlreadyExistsFault")]
    [FaultContract(typeof(RuntimeFault), Name = "RuntimeFaultFault")]
    [VimPrivilege(Privileges.HostLocalManageUserGroups)]
    Task UpdateUserAsync(ManagedObjectReference _this, HostAccountSpec user);

    [OperationContract(Action = VimActions.Default, ReplyAction = "*")]
    [FaultContract(typeof(AlreadyExists), Name = "AlreadyExistsFault")]
    [FaultContract(typeof(RuntimeFault), Name = "RuntimeFaultFault")]
    [VimPrivilege(Privileges.HostLocalManageUserGroups)]
    Task CreateGroupAsync(ManagedObjectReference _this, HostAccountSpec group);

    [OperationContract(Action = VimActions.Default, ReplyAction = "*")]
    [FaultContract(typeof(UserNotFound), Name = "UserNotFoundFault")]
    [FaultContract(typeof(RuntimeFault), Name = "RuntimeFaultFault")]
    [VimPrivilege(Privileges.HostLocalManageUserGroups)]
    Task RemoveUserAsync(ManagedObjectReference _this, string userName);

    [OperationContract(Action = VimActions.Default, ReplyAction = "*")]
    [FaultContract(typeof(UserNotFound), Name = "UserNotFoundFault")]
    [FaultContract(typeof(RuntimeFault), Name = "RuntimeFaultFault")]
    [VimPrivilege(Privileges.HostLocalManageUserGroups)]
    Task RemoveGroupAsync(ManagedObjectReference _this, string groupName);

    [OperationContract(Action = VimActions.Default, ReplyAction = "*")]
    [FaultContract(typeof(UserNotFound), Name = "UserNotFoundFault")]
    [FaultContract(typeof(AlreadyExists), Name = "AlreadyExistsFault")]
    [FaultContract(typeof(RuntimeFault), Name = "RuntimeFaultFault")]
    [VimPrivilege(Privileges.HostLocalManageUserGroups)]
    Task AssignUserToGroupAsync(ManagedObjectReference _this, string user, string group);

    [OperationContract(Action = VimActions.Default, ReplyAction = "*")]
    [FaultContract(typeof(UserNotFound), Name = "UserNotFoundFault")]
    [FaultContract(typeof(RuntimeFault), Name = "RuntimeFaultFault")]
    [VimPrivilege(Privileges.HostLocalManageUserGroups)]
    Task UnassignUserFromGroupAsync(ManagedObjectReference _this, string user, string group);
}
