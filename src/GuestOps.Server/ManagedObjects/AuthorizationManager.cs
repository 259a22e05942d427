using GuestOps.Host.Authorization;
using GuestOps.Host.Sessions;
using GuestOps.Soap;
using GuestOps.Vim;
using GuestOps.Vim.Contracts;

namespace GuestOps.Server.ManagedObjects;

/// <summary>vim.AuthorizationManager: the privilege catalogue, roles and permissions, and privilege checks, answered
/// by the host agent's permissions.</summary>
public sealed class AuthorizationManager(string id, Inventory inventory, EntityPermissions access, UserStore users, PropertyReader reader) : ManagedObject(id, reader), IAuthorizationManager
{
    private static readonly PropertyTable<AuthorizationManager> Table = new PropertyTable<AuthorizationManager>()
        .Add("privilegeList", m => Synchronous.Wait(m.Service.GetPrivilegesAsync()).Select(EntityPermissions.ToVim).ToArray())
        .Add("roleList", m => Synchronous.Wait(m.Service.GetRolesAsync()).Select(EntityPermissions.ToVim).ToArray());

    public override PropertyTable Properties => Table;

    private IPermissionService Service => access.Service;

    public Task<int> AddAuthorizationRoleAsync(ManagedObjectReference _this, string name, string[]? privIds) =>
        EntityPermissions.ChangeAsync(() => access.Service.AddRoleAsync(name, privIds ?? [], Call.CancellationToken));

    public Task UpdateAuthorizationRoleAsync(ManagedObjectReference _this, int roleId, string newName, string[]? privIds) =>
        EntityPermissions.ChangeAsync(() => access.Service.UpdateRoleAsync(roleId, newName, privIds, Call.CancellationToken));

    public Task RemoveAuthorizationRoleAsync(ManagedObjectReference _this, int roleId, bool failIfUsed) =>
        EntityPermissions.ChangeAsync(() => access.Service.RemoveRoleAsync(roleId, failIfUsed, Call.CancellationToken));

    /// <summary>The permissions defined on the entity, and with <paramref name="inherited"/> the propagating ones of its ancestors.</summary>
    public async Task<Permission[]> RetrieveEntityPermissionsAsync(ManagedObjectReference _this, ManagedObjectReference entity, bool inherited)
    {
        var call = Call;
        var permissions = await access.Service.GetEntityPermissionsAsync(Entity(call, entity).Path, inherited, call.CancellationToken).ConfigureAwait(false);
        return permissions.Select(EntityPermissions.ToVim).ToArray();
    }

    /// <summary>Every permission on an entity the caller may see.</summary>
    public async Task<Permission[]> RetrieveAllPermissionsAsync(ManagedObjectReference _this)
    {
        var call = Call;
        var user = call.Session!.UserName;
        var visible = new List<Permission>();
        foreach (var p in await access.Service.GetPermissionsAsync(call.CancellationToken).ConfigureAwait(false))
        {
            var vim = EntityPermissions.ToVim(p);
            if (inventory.Find(vim.entity!, null) is not ManagedEntity e || await access.CanViewAsync(user, e, call.CancellationToken).ConfigureAwait(false))
            {
                visible.Add(vim);
            }
        }

        return visible.ToArray();
    }

    public Task SetEntityPermissionsAsync(ManagedObjectReference _this, ManagedObjectReference entity, Permission[]? permission)
    {
        var call = Call;
        var target = Entity(call, entity);
        foreach (var p in permission ?? [])
        {
            var known = p.group ? users.FindGroup(p.principal) is not null : users.Find(p.principal) is not null;
            if (!known)
            {
                throw new VimFaultException(new UserNotFound { principal = p.principal, unresolved = false }, $"The {(p.group ? "group" : "user")} '{p.principal}' does not exist.");
            }
        }

        var entries = (permission ?? []).Select(p => EntityPermissions.ToEntry(target.Ref, p)).ToArray();
        return EntityPermissions.ChangeAsync(() => access.Service.SetPermissionsAsync(entries, call.CancellationToken));
    }

    public Task RemoveEntityPermissionAsync(ManagedObjectReference _this, ManagedObjectReference entity, string user, bool isGroup)
    {
        var call = Call;
        var target = EntityPermissions.ToEntity(Entity(call, entity).Ref);
        return EntityPermissions.ChangeAsync(() => access.Service.RemovePermissionAsync(target, user, isGroup, call.CancellationToken));
    }

    /// <summary>For each privilege, whether the session <paramref name="sessionId"/> holds it on the entity (all
    /// false for an unknown session, as vSphere answers).</summary>
    public async Task<bool[]> HasPrivilegeOnEntityAsync(ManagedObjectReference _this, ManagedObjectReference entity, string sessionId, string[]? privId)
    {
        var call = Call;
        var target = Entity(call, entity);
        var user = (await inventory.SessionManager.TouchAsync(sessionId, call.CancellationToken).ConfigureAwait(false))?.UserName;
        var held = user is null ? null : await access.PrivilegesOnAsync(user, target, call.CancellationToken).ConfigureAwait(false);
        return (privId ?? []).Select(p => held?.Contains(p) == true).ToArray();
    }

    public async Task<EntityPrivilege[]> HasPrivilegeOnEntitiesAsync(ManagedObjectReference _this, ManagedObjectReference[] entity, string sessionId, string[]? privId)
    {
        var call = Call;
        var user = (await inventory.SessionManager.TouchAsync(sessionId, call.CancellationToken).ConfigureAwait(false))?.UserName;
        var result = new EntityPrivilege[entity.Length];
        for (var i = 0; i < entity.Length; i++)
        {
            var target = Entity(call, entity[i]);
            var held = user is null ? null : await access.PrivilegesOnAsync(user, target, call.CancellationToken).ConfigureAwait(false);
            result[i] = new EntityPrivilege
            {
                entity = entity[i],
                privAvailability = (privId ?? []).Select(p => new PrivilegeAvailability { privId = p, isGranted = held?.Contains(p) == true }).ToArray(),
            };
        }

        return result;
    }

    public async Task<UserPrivilegeResult[]> FetchUserPrivilegeOnEntitiesAsync(ManagedObjectReference _this, ManagedObjectReference[] entities, string userName)
    {
        var call = Call;
        var result = new UserPrivilegeResult[entities.Length];
        for (var i = 0; i < entities.Length; i++)
        {
            var privileges = await access.PrivilegesOnAsync(userName, Entity(call, entities[i]), call.CancellationToken).ConfigureAwait(false);
            result[i] = new UserPrivilegeResult { entity = entities[i], privileges = privileges.Count == 0 ? null : privileges.Order(StringComparer.Ordinal).ToArray() };
        }

        return result;
    }

    private ManagedEntity Entity(VimCall call, ManagedObjectReference reference) =>
        inventory.Find(reference, call.Session as Session) as ManagedEntity
            ?? throw new VimFaultException(new ManagedObjectNotFound { obj = reference }, $"The object '{reference}' has already been deleted or has not been completely created");
}
