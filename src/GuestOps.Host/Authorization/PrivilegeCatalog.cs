using System.Collections.Frozen;

namespace GuestOps.Host.Authorization;

/// <summary>
/// The privileges this server knows: vSphere's ids for the surface it serves, grouped as vSphere groups them. Immutable.
/// </summary>
public static class PrivilegeCatalog
{
    /// <summary>What the strict mode adds to guest operations' privileges.</summary>
    public const string InteractGuestControl = "VirtualMachine.Interact.GuestControl";

    /// <summary>The family of the privileges guest operations check on their VM.</summary>
    public const string GuestOperationsPrefix = "VirtualMachine.GuestOperations.";

    /// <summary>System.Anonymous, System.View, System.Read: every role but NoAccess holds them, as vSphere adds them to
    /// every role it creates; the Anonymous role holds the first, the View role the first two.</summary>
    public static readonly IReadOnlyList<string> SystemPrivileges = ["System.Anonymous", "System.View", "System.Read"];

    public static readonly IReadOnlyList<PrivilegeDefinition> All =
    [
        .. SystemPrivileges.Select(id => Privilege(id)),
        Privilege("Global.Settings"),
        Privilege("Global.Diagnostics"),
        Privilege("Global.LogEvent"),
        Privilege("Global.CancelTask"),
        Privilege("Authorization.ModifyRoles"),
        Privilege("Authorization.ModifyPermissions"),
        Privilege("Authorization.ReassignRolePermissions"),
        Privilege("Sessions.TerminateSession"),
        Privilege("Sessions.ValidateSession"),
        Privilege("Host.Local.ManageUserGroups"),
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
        Privilege(InteractGuestControl),
        Privilege("VirtualMachine.Interact.ToolsInstall"),
        Privilege("VirtualMachine.Config.AdvancedConfig"),
        Privilege("VirtualMachine.Config.Rename"),
        Privilege(GuestOperationsPrefix + "Query"),
        Privilege(GuestOperationsPrefix + "Modify"),
        Privilege(GuestOperationsPrefix + "Execute"),
        Privilege(GuestOperationsPrefix + "QueryAliases"),
        Privilege(GuestOperationsPrefix + "ModifyAliases"),
    ];

    private static readonly FrozenSet<string> Ids = All.Select(p => p.Id).ToFrozenSet(StringComparer.Ordinal);

    /// <summary>Every privilege id: what the Admin role holds.</summary>
    public static IReadOnlySet<string> AllIds => Ids;

    public static bool Contains(string privilegeId) => Ids.Contains(privilegeId);

    private static PrivilegeDefinition Privilege(string id, bool onParent = false)
    {
        var dot = id.LastIndexOf('.');
        return new PrivilegeDefinition(id, id[..dot], id[(dot + 1)..], onParent);
    }
}
