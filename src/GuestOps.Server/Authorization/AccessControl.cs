using System.Collections.Concurrent;
using System.Collections.Frozen;
using GuestOps.Server.ManagedObjects;
using GuestOps.Host.Sessions;
using GuestOps.Vim;

namespace GuestOps.Server.Authorization;

/// <summary>
/// What a user may do on an inventory entity, resolved as vSphere resolves permissions: walking from the entity up to
/// the root folder, the first level with a permission for the user decides (on the entity itself any permission, on
/// an ancestor only propagating ones); at that level a permission of the user wins over those of its groups, and the
/// roles of several groups add up. Results are cached until roles, permissions, users or groups change.
/// </summary>
public sealed class AccessControl(AuthorizationStore store, UserStore users, bool requireGuestControl = false) : ILoginPolicy
{
    private Cache _cache = new(-1, -1);

    public AuthorizationStore Store { get; } = store;

    public UserStore Users { get; } = users;

    /// <summary>Host setting: guest operations also need VirtualMachine.Interact.GuestControl (reference 8.2).</summary>
    public bool RequireGuestControl { get; } = requireGuestControl;

    /// <summary>The privileges an operation needs on its object: its declared one, plus GuestControl for guest
    /// operations when <see cref="RequireGuestControl"/> is set.</summary>
    public IReadOnlyList<string> Required(string declaredPrivilege) =>
        RequireGuestControl && declaredPrivilege.StartsWith(Privileges.GuestOperationsPrefix, StringComparison.Ordinal)
            ? [declaredPrivilege, Privileges.InteractGuestControl]
            : [declaredPrivilege];

    public IReadOnlySet<string> PrivilegesOn(string user, ManagedEntity entity)
    {
        var cache = Current();
        return cache.Privileges.GetOrAdd((user, entity.Ref), static (key, state) => state.self.Resolve(key.User, state.entity, state.snapshot), (self: this, entity, snapshot: cache.Snapshot!));
    }

    public bool Has(string user, ManagedEntity entity, string privilege) => PrivilegesOn(user, entity).Contains(privilege);

    /// <summary>The privileges of <paramref name="required"/> the user lacks on the entity.</summary>
    public string[] Missing(string user, ManagedEntity entity, IEnumerable<string> required)
    {
        var held = PrivilegesOn(user, entity);
        return required.Where(p => !held.Contains(p)).ToArray();
    }

    /// <summary>Whether the user sees the entity: System.View on it, or on something below it (the way to it).</summary>
    public bool CanView(string user, ManagedEntity entity)
    {
        var cache = Current();
        if (cache.Visible.TryGetValue((user, entity.Ref), out var visible))
        {
            return visible;
        }

        visible = Has(user, entity, Privileges.SystemView) || entity.Children.Any(c => CanView(user, c));
        cache.Visible[(user, entity.Ref)] = visible;
        return visible;
    }

    /// <summary>Whether any permission (other than NoAccess) names the user or one of its groups: without one, a
    /// user cannot log in (as on ESXi).</summary>
    public bool HasAnyPermission(string user)
    {
        var groups = Users.GroupsOf(user);
        return Store.Current.Permissions.Any(p => p.RoleId != AuthorizationStore.NoAccessRoleId
            && (p.Group ? groups.Contains(p.Principal, StringComparer.Ordinal) : p.Principal == user));
    }

    public ValueTask<bool> MayLogInAsync(string userName, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(HasAnyPermission(userName));

    private IReadOnlySet<string> Resolve(string user, ManagedEntity entity, AuthorizationStore.Snapshot snapshot)
    {
        IReadOnlyList<string>? groups = null;
        for (ManagedEntity? level = entity; level is not null; level = level.Parent)
        {
            var here = snapshot.On(level.Ref);
            if (here.Count == 0)
            {
                continue;
            }

            var applicable = ReferenceEquals(level, entity) ? here : here.Where(p => p.Propagate).ToArray();
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
            cache = new Cache(snapshot.Version, usersVersion) { Snapshot = snapshot };
            Volatile.Write(ref _cache, cache);
        }

        return cache;
    }

    private sealed record Cache(long StoreVersion, long UsersVersion)
    {
        public AuthorizationStore.Snapshot? Snapshot { get; init; }

        public ConcurrentDictionary<(string User, ManagedObjectReference Entity), IReadOnlySet<string>> Privileges { get; } = new();

        public ConcurrentDictionary<(string User, ManagedObjectReference Entity), bool> Visible { get; } = new();
    }
}
