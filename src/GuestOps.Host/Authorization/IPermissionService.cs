namespace GuestOps.Host.Authorization;

/// <summary>
/// Who may do what on the inventory, as vSphere's authorization model has it: the privilege catalog, roles, and
/// permissions on entities. An entity is named with its ancestry (<c>path</c>: the entity first, then its parent,
/// up to the root folder), since permissions on ancestors apply below them. Changes are persisted before they return.
/// </summary>
public interface IPermissionService : Sessions.ILoginPolicy
{
    /// <summary>Every privilege this server knows, grouped as vSphere groups them.</summary>
    ValueTask<IReadOnlyList<PrivilegeDefinition>> GetPrivilegesAsync(CancellationToken cancellationToken = default);

    /// <summary>System roles first, then custom roles.</summary>
    ValueTask<IReadOnlyList<RoleDefinition>> GetRolesAsync(CancellationToken cancellationToken = default);

    /// <summary>Adds a custom role; returns its id.</summary>
    ValueTask<int> AddRoleAsync(string name, IReadOnlyList<string> privileges, CancellationToken cancellationToken = default);

    /// <summary>Renames a custom role and, unless <paramref name="privileges"/> is null, replaces its privileges.</summary>
    ValueTask UpdateRoleAsync(int roleId, string newName, IReadOnlyList<string>? privileges, CancellationToken cancellationToken = default);

    /// <summary>Removes a custom role and the permissions that use it (or refuses, with <paramref name="failIfUsed"/>).</summary>
    ValueTask RemoveRoleAsync(int roleId, bool failIfUsed, CancellationToken cancellationToken = default);

    /// <summary>Every permission.</summary>
    ValueTask<IReadOnlyList<PermissionEntry>> GetPermissionsAsync(CancellationToken cancellationToken = default);

    /// <summary>The permissions defined on <c>path[0]</c>, and with <paramref name="inherited"/> the propagating ones
    /// of its ancestors, nearest first.</summary>
    ValueTask<IReadOnlyList<PermissionEntry>> GetEntityPermissionsAsync(IReadOnlyList<EntityRef> path, bool inherited, CancellationToken cancellationToken = default);

    /// <summary>Sets permissions: each replaces the permission of the same principal on the same entity.</summary>
    ValueTask SetPermissionsAsync(IReadOnlyList<PermissionEntry> permissions, CancellationToken cancellationToken = default);

    ValueTask RemovePermissionAsync(EntityRef entity, string principal, bool isGroup, CancellationToken cancellationToken = default);

    /// <summary>Removes every permission of a principal (its account was removed).</summary>
    ValueTask RemovePrincipalAsync(string principal, bool isGroup, CancellationToken cancellationToken = default);

    /// <summary>Refuses (<see cref="PermissionFault.MinimumAdminPermission"/>) when removing the principal's
    /// permissions would leave no user with Admin on the root folder.</summary>
    ValueTask CheckRemovableAsync(string principal, bool isGroup, CancellationToken cancellationToken = default);

    /// <summary>The privileges the user holds on <c>path[0]</c>.</summary>
    ValueTask<IReadOnlySet<string>> GetPrivilegesOnAsync(string user, IReadOnlyList<EntityRef> path, CancellationToken cancellationToken = default);

    /// <summary>The privileges an operation that declares <paramref name="privilege"/> needs on its object: that one,
    /// and for guest operations, when the host requires it, VirtualMachine.Interact.GuestControl.</summary>
    ValueTask<IReadOnlyList<string>> GetRequiredAsync(string privilege, CancellationToken cancellationToken = default);
}
