namespace GuestOps.Vim;

/// <summary>vSphere privilege ids used on this surface, as the vSphere Web Services API Reference names them.</summary>
public static class Privileges
{
    public const string SystemAnonymous = "System.Anonymous";
    public const string SystemView = "System.View";
    public const string SystemRead = "System.Read";
    public const string SessionsValidateSession = "Sessions.ValidateSession";
    public const string GuestOperationsQuery = "VirtualMachine.GuestOperations.Query";
    public const string GuestOperationsModify = "VirtualMachine.GuestOperations.Modify";
    public const string GuestOperationsExecute = "VirtualMachine.GuestOperations.Execute";
    public const string GuestOperationsQueryAliases = "VirtualMachine.GuestOperations.QueryAliases";
    public const string GuestOperationsModifyAliases = "VirtualMachine.GuestOperations.ModifyAliases";
    public const string InteractGuestControl = "VirtualMachine.Interact.GuestControl";
    public const string AuthorizationModifyRoles = "Authorization.ModifyRoles";
    public const string AuthorizationModifyPermissions = "Authorization.ModifyPermissions";
    public const string AuthorizationReassignRolePermissions = "Authorization.ReassignRolePermissions";
    public const string HostLocalManageUserGroups = "Host.Local.ManageUserGroups";

    /// <summary>The family every guest-operation method checks on its <c>vm</c>.</summary>
    public const string GuestOperationsPrefix = "VirtualMachine.GuestOperations.";
}

/// <summary>
/// The privilege a vim25 operation requires, and the parameter whose object it is checked on
/// (<c>_this</c> unless named, e.g. <c>vm</c> for guest operations).
/// </summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false)]
public sealed class VimPrivilegeAttribute(string privilegeId) : Attribute
{
    public string PrivilegeId { get; } = privilegeId;

    public string On { get; init; } = "_this";
}
