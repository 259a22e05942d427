using GuestOps.Server.Authorization;
using GuestOps.Soap;
using GuestOps.Vim;
using GuestOps.Vim.Contracts;

namespace GuestOps.Server.ManagedObjects;

/// <summary>vim.AuthorizationManager: the privilege catalogue, roles and permissions, and privilege checks.</summary>
public sealed class AuthorizationManager(string id, Inventory inventory, AccessControl access, PropertyReader reader) : ManagedObject(id, reader), IAuthorizationManager
{
    private static readonly PropertyTable<AuthorizationManager> Table = new PropertyTable<AuthorizationManager>()
        .Add("privilegeList", _ => PrivilegeCatalog.All.ToArray())
        .Add("roleList", m => m.Access.Store.Current.Roles.ToArray());

    public override PropertyTable Properties => Table;

    private AccessControl Access => access;

    public Task<int> AddAuthorizationRoleAsync(ManagedObjectReference _this, string name, string[]? privIds) =>
        Task.FromResult(access.Store.AddRole(name, privIds ?? []));

    public Task UpdateAuthorizationRoleAsync(ManagedObjectReference _this, int roleId, string newName, string[]? privIds)
    {
        access.Store.UpdateRole(roleId, newName, privIds);
        return Task.CompletedTask;
    }

    public Task RemoveAuthorizationRoleAsync(ManagedObjectReference _this, int roleId, bool failIfUsed)
    {
        access.Store.RemoveRole(roleId, failIfUsed);
        return Task.CompletedTask;
    }

    /// <summary>The permissions defined on the entity, and with <paramref name="inherited"/> the propagating ones of its ancestors.</summary>
    public Task<Permission[]> RetrieveEntityPermissionsAsync(ManagedObjectReference _this, ManagedObjectReference entity, bool inherited)
    {
        var call = Call;
        var snapshot = access.Store.Current;
        var result = new List<Permission>();
        var first = Entity(call, entity);
        for (ManagedEntity? level = first; level is not null; level = inherited ? level.Parent : null)
        {
            result.AddRange(snapshot.On(level.Ref).Where(p => ReferenceEquals(level, first) || p.Propagate).Select(p => p.ToPermission()));
        }

        return Task.FromResult(result.ToArray());
    }

    /// <summary>Every permission on an entity the caller may see.</summary>
    public Task<Permission[]> RetrieveAllPermissionsAsync(ManagedObjectReference _this)
    {
        var call = Call;
        var user = call.Session!.UserName;
        return Task.FromResult(access.Store.Current.Permissions
            .Where(p => inventory.Find(p.Entity, null) is not ManagedEntity e || access.CanView(user, e))
            .Select(p => p.ToPermission())
            .ToArray());
    }

    public Task SetEntityPermissionsAsync(ManagedObjectReference _this, ManagedObjectReference entity, Permission[]? permission)
    {
        var call = Call;
        var target = Entity(call, entity);
        foreach (var p in permission ?? [])
        {
            var known = p.group ? access.Users.FindGroup(p.principal) is not null : access.Users.Find(p.principal) is not null;
            if (!known)
            {
                throw new VimFaultException(new UserNotFound { principal = p.principal, unresolved = false }, $"The {(p.group ? "group" : "user")} '{p.principal}' does not exist.");
            }
        }

        access.Store.SetPermissions(target.Ref, permission ?? []);
        return Task.CompletedTask;
    }

    public Task RemoveEntityPermissionAsync(ManagedObjectReference _this, ManagedObjectReference entity, string user, bool isGroup)
    {
        var call = Call;
        access.Store.RemovePermission(Entity(call, entity).Ref, user, isGroup);
        return Task.CompletedTask;
    }

    /// <summary>For each privilege, whether the session <paramref name="sessionId"/> holds it on the entity (all
    /// false for an unknown session, as vSphere answers).</summary>
    public async Task<bool[]> HasPrivilegeOnEntityAsync(ManagedObjectReference _this, ManagedObjectReference entity, string sessionId, string[]? privId)
    {
        var call = Call;
        var target = Entity(call, entity);
        var user = (await inventory.SessionManager.TouchAsync(sessionId, call.CancellationToken).ConfigureAwait(false))?.UserName;
        return (privId ?? []).Select(p => user is not null && access.Has(user, target, p)).ToArray();
    }

    public async Task<EntityPrivilege[]> HasPrivilegeOnEntitiesAsync(ManagedObjectReference _this, ManagedObjectReference[] entity, string sessionId, string[]? privId)
    {
        var call = Call;
        var user = (await inventory.SessionManager.TouchAsync(sessionId, call.CancellationToken).ConfigureAwait(false))?.UserName;
        return entity.Select(e =>
        {
            var target = Entity(call, e);
            return new EntityPrivilege
            {
                entity = e,
                privAvailability = (privId ?? []).Select(p => new PrivilegeAvailability { privId = p, isGranted = user is not null && access.Has(user, target, p) }).ToArray(),
            };
        }).ToArray();
    }

    public Task<UserPrivilegeResult[]> FetchUserPrivilegeOnEntitiesAsync(ManagedObjectReference _this, ManagedObjectReference[] entities, string userName) =>
        Task.FromResult(entities.Select(e =>
        {
            var privileges = access.PrivilegesOn(userName, Entity(Call, e));
            return new UserPrivilegeResult { entity = e, privileges = privileges.Count == 0 ? null : privileges.Order(StringComparer.Ordinal).ToArray() };
        }).ToArray());

    private ManagedEntity Entity(VimCall call, ManagedObjectReference reference) =>
        inventory.Find(reference, call.Session as Session) as ManagedEntity
            ?? throw new VimFaultException(new ManagedObjectNotFound { obj = reference }, $"The object '{reference}' has already been deleted or has not been completely created");
}
