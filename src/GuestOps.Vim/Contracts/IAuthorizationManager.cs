namespace GuestOps.Vim.Contracts;

/// <summary>vim.AuthorizationManager: roles, permissions and privilege checks (privileges as in pyVmomi's type info).</summary>
[ServiceContract(Namespace = VimNamespaces.Vim25, Name = "VimPortType")]
[XmlSerializerFormat(SupportFaults = true)]
[ServiceKnownType(nameof(VimTypes.GetKnownTypes), typeof(VimTypes))]
[VimWireFormat]
public interface IAuthorizationManager
{
    [OperationContract(Action = VimActions.Default, ReplyAction = "*")]
    [FaultContract(typeof(AlreadyExists), Name = "AlreadyExistsFault")]
    [FaultContract(typeof(InvalidName), Name = "InvalidNameFault")]
    [FaultContract(typeof(RuntimeFault), Name = "RuntimeFaultFault")]
    [VimPrivilege(Privileges.AuthorizationModifyRoles)]
    [return: MessageParameter(Name = "returnval")]
    Task<int> AddAuthorizationRoleAsync(ManagedObjectReference _this, string name, [XmlElement("privIds")] string[]? privIds);

    [OperationContract(Action = VimActions.Default, ReplyAction = "*")]
    [FaultContract(typeof(NotFound), Name = "NotFoundFault")]
    [FaultContract(typeof(RemoveFailed), Name = "RemoveFailedFault")]
    [FaultContract(typeof(RuntimeFault), Name = "RuntimeFaultFault")]
    [VimPrivilege(Privileges.AuthorizationModifyRoles)]
    Task RemoveAuthorizationRoleAsync(ManagedObjectReference _this, int roleId, bool failIfUsed);

    [OperationContract(Action = VimActions.Default, ReplyAction = "*")]
    [FaultContract(typeof(NotFound), Name = "NotFoundFault")]
    [FaultContract(typeof(InvalidName), Name = "InvalidNameFault")]
    [FaultContract(typeof(AlreadyExists), Name = "AlreadyExistsFault")]
    [FaultContract(typeof(RuntimeFault), Name = "RuntimeFaultFault")]
    [VimPrivilege(Privileges.AuthorizationModifyRoles)]
    Task UpdateAuthorizationRoleAsync(ManagedObjectReference _this, int roleId, string newName, [XmlElement("privIds")] string[]? privIds);

    [OperationContract(Action = VimActions.Default, ReplyAction = "*")]
    [FaultContract(typeof(RuntimeFault), Name = "RuntimeFaultFault")]
    [VimPrivilege(Privileges.SystemRead, On = "entity")]
    [return: MessageParameter(Name = "returnval")]
    [return: XmlElement("returnval")]
    Task<Permission[]> RetrieveEntityPermissionsAsync(ManagedObjectReference _this, ManagedObjectReference entity, bool inherited);

    [OperationContract(Action = VimActions.Default, ReplyAction = "*")]
    [FaultContract(typeof(RuntimeFault), Name = "RuntimeFaultFault")]
    [VimPrivilege(Privileges.SystemView)]
    [return: MessageParameter(Name = "returnval")]
    [return: XmlElement("returnval")]
    Task<Permission[]> RetrieveAllPermissionsAsync(ManagedObjectReference _this);

    [OperationContract(Action = VimActions.Default, ReplyAction = "*")]
    [FaultContract(typeof(UserNotFound), Name = "UserNotFoundFault")]
    [FaultContract(typeof(NotFound), Name = "NotFoundFault")]
    [FaultContract(typeof(AuthMinimumAdminPermission), Name = "AuthMinimumAdminPermissionFault")]
    [FaultContract(typeof(RuntimeFault), Name = "RuntimeFaultFault")]
    [VimPrivilege(Privileges.AuthorizationModifyPermissions, On = "entity")]
    Task SetEntityPermissionsAsync(ManagedObjectReference _this, ManagedObjectReference entity, [XmlElement("permission")] Permission[]? permission);

    [OperationContract(Action = VimActions.Default, ReplyAction = "*")]
    [FaultContract(typeof(NotFound), Name = "NotFoundFault")]
    [FaultContract(typeof(AuthMinimumAdminPermission), Name = "AuthMinimumAdminPermissionFault")]
    [FaultContract(typeof(RuntimeFault), Name = "RuntimeFaultFault")]
    [VimPrivilege(Privileges.AuthorizationModifyPermissions, On = "entity")]
    Task RemoveEntityPermissionAsync(ManagedObjectReference _this, ManagedObjectReference entity, string user, bool isGroup);

    [OperationContract(Action = VimActions.Default, ReplyAction = "*")]
    [FaultContract(typeof(RuntimeFault), Name = "RuntimeFaultFault")]
    [VimPrivilege(Privileges.SystemView)]
    [return: MessageParameter(Name = "returnval")]
    [return: XmlElement("returnval")]
    Task<bool[]> HasPrivilegeOnEntityAsync(ManagedObjectReference _this, ManagedObjectReference entity, string sessionId, [XmlElement("privId")] string[]? privId);

    [OperationContract(Action = VimActions.Default, ReplyAction = "*")]
    [FaultContract(typeof(RuntimeFault), Name = "RuntimeFaultFault")]
    [VimPrivilege(Privileges.SystemView)]
    [return: MessageParameter(Name = "returnval")]
    [return: XmlElement("returnval")]
    Task<EntityPrivilege[]> HasPrivilegeOnEntitiesAsync(ManagedObjectReference _this, [XmlElement("entity")] ManagedObjectReference[] entity, string sessionId, [XmlElement("privId")] string[]? privId);

    /// <summary>vSphere 6.5: the privileges a user holds on each entity.</summary>
    [OperationContract(Action = VimActions.Default, ReplyAction = "*")]
    [FaultContract(typeof(RuntimeFault), Name = "RuntimeFaultFault")]
    [VimPrivilege(Privileges.SystemView)]
    [return: MessageParameter(Name = "returnval")]
    [return: XmlElement("returnval")]
    Task<UserPrivilegeResult[]> FetchUserPrivilegeOnEntitiesAsync(ManagedObjectReference _this, [XmlElement("entities")] ManagedObjectReference[] entities, string userName);
}
