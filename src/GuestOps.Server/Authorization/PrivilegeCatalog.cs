using System.Collections.Frozen;
using GuestOps.Vim;

namespace GuestOps.Server.Authorization;

/// <summary>
/// The privileges this server knows (<c>AuthorizationManager.privilegeList</c>): vSphere's ids for the surface it
/// serves, grouped as vSphere groups them. Immutable.
/// </summary>
public static class PrivilegeCatalog
{
    /// <summary>Every role but NoAccess holds these, as vSphere adds them to every role it creates.</summary>
    public static readonly IReadOnlyList<string> SystemPrivileges = [Privileges.SystemAnonymous, Privileges.SystemView, Privileges.SystemRead];

    public static readonly IReadOnlyList<AuthorizationPrivilege> All =
    [
        Privilege(Privileges.SystemAnonymous),
        Privilege(Privileges.SystemView),
        Privilege(Privileges.SystemRead),
        Privilege("Global.Settings"),
        Privilege("Global.Diagnostics"),
        Privilege("Global.LogEvent"),
        Privilege("Global.CancelTask"),
        Privilege(Privileges.AuthorizationModifyRoles),
        Privilege(Privileges.AuthorizationModifyPermissions),
        Privilege(Privileges.AuthorizationReassignRolePermissions),
        Privilege("Sessions.TerminateSession"),
        Privilege(Privileges.SessionsValidateSession),
        Privilege(Privileges.HostLocalManageUserGroups),
        Privilege("Folder.Create"),
        Privilege("Folder.Delete", onParent: true),
        Privilege("Folder.Rename"),
        Privilege("Folder.Move"),
        Privilege("Datacenter.Create"),
        Privilege("Datacenter.Delete", onParent: true),
        Privilege("Datacenter.Rename"),
        Privilege("VirtualMachine.Interact.PowerOn"),
        Privilege("VirtualMachine.Interact.PowerOff"),
        Privilege("VirtualMachine.Interact.Reset"),
        Privilege("VirtualMachine.Interact.ConsoleInteract"),
        Privilege(Privileges.InteractGuestControl),
        Privilege("VirtualMachine.Interact.ToolsInstall"),
        Privilege("VirtualMachine.Config.AdvancedConfig"),
        Privilege("VirtualMachine.Config.Rename"),
        Privilege(Privileges.GuestOperationsQuery),
        Privilege(Privileges.GuestOperationsModify),
        Privilege(Privileges.GuestOperationsExecute),
        Privilege(Privileges.GuestOperationsQueryAliases),
        Privilege(Privileges.GuestOperationsModifyAliases),
    ];

    private static readonly FrozenSet<string> Ids = All.Select(p => p.privId).ToFrozenSet(StringComparer.Ordinal);

    /// <summary>Every privilege id: what the Admin role holds.</summary>
    public static IReadOnlySet<string> AllIds => Ids;

    public static bool Contains(string privilegeId) => Ids.Contains(privilegeId);

    private static AuthorizationPrivilege Privilege(string id, bool onParent = false) => new()
    {
        privId = id,
        onParent = onParent,
        name = id[(id.LastIndexOf('.') + 1)..],
        privGroupName = id[..id.LastIndexOf('.')],
    };
}
