using System.Collections.Concurrent;
using System.Collections.Frozen;
using GuestOps.Host.Sessions;

namespace GuestOps.Host.Authorization;

/// <summary>
/// Permissions resolved as vSphere resolves them: walking from the entity up to the root folder, the first level with
/// a permission for the user decides (on the entity itself any permission, on an ancestor only propagating ones); at
/// that level a permission of the user wins over those of its groups, and the roles of several groups add up. Results
/// are cached until roles, permissions, users or groups change. Without any permission (other than NoAccess) a user
/// cannot log in, as on ESXi.
/// </summary>
/// <param name="requireGuestControl">Host setting: guest operations also need VirtualMachine.Interact.GuestControl.</param>
public sealed class PermissionService(AuthorizationStore store, UserStore users, bool requireGuestControl = false) : IPermissionService
{
    private Cache _cache = new(-1, -1, null);

    public AuthorizationStore Store { get; } = store;

    public UserStore Users { get; } = users;

    public ValueTask<IReadOnlyList<PrivilegeDefinition>> GetPrivilegesAsync(CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(PrivilegeCatalog.All);

    public ValueTask<IReadOnlyList<RoleDefinition>> GetRolesAsync(CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(Store.Current.Roles);

    public ValueTask<int> AddRoleAsync(string name, IReadOnlyList<string> privileges, CancellationToken cancellationToken = default) =>
        Store.AddRoleAsync(name, privileges, cancellationToken);

    public ValueTask UpdateRoleAsync(int roleId, string newName, IReadOnlyList<string>? privileges, CancellationToken cancellationToken = default) =>
        Store.UpdateRoleAsync(roleId, newName, privileges, cancellationToken);

    public ValueTask RemoveRoleAsync(int roleId, bool failIfUsed, CancellationToken cancellationToken = default) =>
        Store.RemoveRoleAsync(roleId, failIfUsed, cancellationToken);

    public ValueTask<IReadOnlyList<PermissionEntry>> GetPermissionsAsync(CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(Store.Current.Entries);

    public ValueTask<IReadOnlyList<PermissionEntry>> GetEntityPermissionsAsync(IReadOnlyList<EntityRef> path, bool inherited, CancellationToken cancellationToken = default)
    {
        var snapshot = Store.Current;
        var result = new List<PermissionEntry>();
        for (var i = 0; i < (inherited ? path.Count : Math.Min(1, path.Count)); i++)
        {
            result.AddRange(snapshot.On(path[i]).Where(p => i == 0 || p.Propagate).Select(p => p.ToEntry()));
        }

        return ValueTask.FromResult<IReadOnlyList<PermissionEntry>>(result);
    }

    public ValueTask SetPermissionsAsync(IReadOnlyList<PermissionEntry> permissions, CancellationToken cancellationToken = default) =>
        Store.SetPermissionsAsync(permissions, cancellationToken);

    public ValueTask RemovePermissionAsync(EntityRef entity, string principal, bool isGroup, CancellationToken cancellationToken = default) =>
        Store.RemovePermissionAsync(entity, principal, isGroup, cancellationToken);

    public ValueTask RemovePrincipalAsync(string principal, bool isGroup, CancellationToken cancellationToken = default) =>
        Store.RemovePrincipalAsync(principal, isGroup, cancellationToken);

    public ValueTask CheckRemovableAsync(string principal, bool isGroup, CancellationToken cancellationToken = default)
    {
        Store.CheckRemovable(principal, isGroup);
        return ValueTask.CompletedTask;
    }

    public ValueTask<IReadOnlySet<string>> GetPrivilegesOnAsync(string user, IReadOnlyList<EntityRef> path, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(PrivilegesOn(user, path));

    public ValueTask<IReadOnlyList<string>> GetRequiredAsync(string privilege, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult<IReadOnlyList<string>>(
            requireGuestControl && privilege.StartsWith(PrivilegeCatalog.GuestOperationsPrefix, StringComparison.Ordinal)
                ? [privilege, PrivilegeCatalog.InteractGuestControl]
                : [privilege]);

    public ValueTask<bool> MayLogInAsync(string userName, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(HasAnyPermission(userName));

    /// <summary>Whether any permission (other than NoAccess) names the user or one of its groups.</summary>
    public bool HasAnyPermission(string user)
    {
        var groups = Users.GroupsOf(user);
        return Store.Current.Permissions.Any(p => p.RoleId != AuthorizationStore.NoAccessRoleId
            && (p.Group ? groups.Contains(p.Principal, StringComparer.Ordinal) : p.Principal == user));
    }

    /// <summary>The privileges the user holds on <c>path[0]</c> (<paramref name="path"/>: the entity, then its ancestors).</summary>
    public IReadOnlySet<string> PrivilegesOn(string user, IReadOnlyList<EntityRef> path)
    {
        if (path.Count == 0)
        {
            return FrozenSet<string>.Empty;
        }

        var cache = Current();
        return cache.Privileges.GetOrAdd((user, path[0]), static (key, state) => state.self.Resolve(key.User, state.path, state.snapshot), (self: this, path, snapshot: cache.Snapshot!));
    }

    private IReadOnlySet<string> Resolve(string user, IReadOnlyList<EntityRef> path, AuthorizationStore.Snapshot snapshot)
    {
        IReadOnlyList<string>? groups = null;
        for (var i = 0; i < path.Count; i++)
        {
            var here = snapshot.On(path[i]);
            if (here.Count == 0)
            {
                continue;
            }

            var applicable = i == 0 ? here : here.Where(p => p.Propagate).ToArray();
            if (applicable.FirstOrDefault(p => !p.Group && p.Principal == user) is { } own)
            {
                return snapshot.PrivilegesOf(own.RoleId);
            }

            groups ??= Users.GroupsOf(user);
            var roles = applicable.Where(p => p.Group && groups.Contains(p.Principal, StringComparer.Ordinal)).Select(p => p.RoleId).ToArray();
            if (roles.Length == 1)
            {
                return snapshot.PrivilegesOf(roles[0]);
            }

            if (roles.Length > 1)
            {
                return roles.SelectMany(snapshot.PrivilegesOf).ToFrozenSet(StringComparer.Ordinal);
            }
        }

        return FrozenSet<string>.Empty;
    }

    private Cache Current()
    {
        var snapshot = Store.Current;
        var usersVersion = Users.Version;
        var cache = Volatile.Read(ref _cache);
        if (cache.StoreVersion != snapshot.Version || cache.UsersVersion != usersVersion || !ReferenceEquals(cache.Snapshot, snapshot))
        {
            cache = new Cache(snapshot.Version, usersVersion, snapshot);
            Volatile.Write(ref _cache, cache);
        }

        return cache;
    }

    private sealed record Cache(long StoreVersion, long UsersVersion, AuthorizationStore.Snapshot? Snapshot)
    {
        public ConcurrentDictionary<(string User, EntityRef Entity), IReadOnlySet<string>> Privileges { get; } = new();
    }
}
