using System.Collections.Frozen;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using GuestOps.Host.Enrollment;
using GuestOps.Host.Inventory;
using GuestOps.Host.Sessions;
using GuestOps.Host.SharedState;

namespace GuestOps.Host.Authorization;

/// <summary>A role as stored: system roles are built in and never stored.</summary>
public sealed record StoredRole(int Id, string Name, string[] Privileges);

/// <summary>A permission as stored: a role granted to a user or group on an entity.</summary>
public sealed record StoredPermission(string EntityType, string EntityId, string Principal, bool Group, int RoleId, bool Propagate)
{
    public EntityRef Entity => new(EntityType, EntityId);

    public PermissionEntry ToEntry() => new(Entity, Principal, Group, RoleId, Propagate);
}

/// <summary>What <c>authorization.json</c> holds.</summary>
public sealed record AuthorizationFile(StoredRole[] Roles, StoredPermission[] Permissions, int NextRoleId);

/// <summary>
/// vSphere's authorization model for this server: the system roles (Admin -1, ReadOnly -2, View -3, Anonymous -4,
/// NoAccess -5), custom roles, and permissions on inventory entities, one document (<see cref="AuthorizationFile"/>):
/// in a single process persisted as <c>authorization.json</c> (0600) in the state directory, in a cluster in the
/// engine. Readers get an immutable snapshot of the latest version; every change stores the document and replaces it.
/// A store without a file starts with Admin on the root folder for <c>root</c> and for every user that exists then
/// (what a server that had no authorization before gave every user).
/// </summary>
public sealed class AuthorizationStore
{
    public const int AdminRoleId = -1;
    public const int ReadOnlyRoleId = -2;
    public const int ViewRoleId = -3;
    public const int AnonymousRoleId = -4;
    public const int NoAccessRoleId = -5;
    public const int FirstCustomRoleId = 10;
    public const string FileName = "authorization.json";

    /// <summary>The root folder, where the first Admin permissions are and the last one must stay.</summary>
    public static readonly EntityRef RootFolder = new("Folder", HostInventory.Layout.RootFolder.Id);

    private static readonly IReadOnlyList<RoleDefinition> SystemRoles =
    [
        new(NoAccessRoleId, "NoAccess", true, "No access", "Used for restricting granted access", []),
        new(AnonymousRoleId, "Anonymous", true, "Anonymous", "Not logged-in user (cannot be granted)", [.. PrivilegeCatalog.SystemPrivileges.Take(1)]),
        new(ViewRoleId, "View", true, "View", "Visibility access (cannot be granted)", [.. PrivilegeCatalog.SystemPrivileges.Take(2)]),
        new(ReadOnlyRoleId, "ReadOnly", true, "Read-only", "See details of objects, but not make changes", [.. PrivilegeCatalog.SystemPrivileges]),
        new(AdminRoleId, "Admin", true, "Administrator", "Full access rights", [.. PrivilegeCatalog.AllIds.Order(StringComparer.Ordinal)]),
    ];

    private readonly IStateDocument<AuthorizationFile> _document;
    private readonly DocumentView<AuthorizationFile, Snapshot> _snapshots;

    /// <summary>Opens the store of <paramref name="stateDirectory"/> (null: in memory only, for tests).</summary>
    /// <exception cref="AuthorizationFileException">The file exists but cannot be read.</exception>
    public AuthorizationStore(string? stateDirectory, UserStore users)
        : this(File(stateDirectory, users))
    {
    }

    public AuthorizationStore(IStateDocument<AuthorizationFile> document)
    {
        _document = document;
        _snapshots = new DocumentView<AuthorizationFile, Snapshot>(document, source => new Snapshot(source));
    }

    /// <summary>The JSON form of the document, as the engine keeps it.</summary>
    public static JsonTypeInfo<AuthorizationFile> DocumentJson => AuthorizationJson.Default.AuthorizationFile;

    /// <summary>Where the roles and permissions are kept.</summary>
    public IStateDocument<AuthorizationFile> Document => _document;

    /// <summary>The current state; immutable.</summary>
    public Snapshot Current => _snapshots.Current;

    /// <summary>Grants Admin on the root folder to a user (the first user of a new server).</summary>
    public static StoredPermission AdminOnRoot(string user) => new(RootFolder.Type, RootFolder.Id, user, false, AdminRoleId, true);

    public ValueTask<int> AddRoleAsync(string name, IEnumerable<string> privileges, CancellationToken cancellationToken = default)
    {
        var privilegeIds = Validated(privileges);
        return _document.ChangeAsync(file =>
        {
            CheckNewName(file, name, exceptId: null);
            var id = file.NextRoleId;
            return (file with { Roles = [.. file.Roles, new StoredRole(id, name, privilegeIds)], NextRoleId = id + 1 }, id);
        }, cancellationToken);
    }

    public ValueTask UpdateRoleAsync(int roleId, string newName, IEnumerable<string>? privileges, CancellationToken cancellationToken = default)
    {
        var privilegeIds = privileges is null ? null : Validated(privileges);
        return Change(file =>
        {
            if (SystemRoles.Any(r => r.Id == roleId))
            {
                throw new PermissionException(PermissionFault.InvalidArgument, $"The system role {roleId} cannot be changed.", "roleId");
            }

            var existing = file.Roles.FirstOrDefault(r => r.Id == roleId)
                ?? throw new PermissionException(PermissionFault.NotFound, $"The role {roleId} does not exist.");
            CheckNewName(file, newName, roleId);
            var updated = existing with { Name = newName, Privileges = privilegeIds ?? existing.Privileges };
            return file with { Roles = file.Roles.Select(r => r.Id == roleId ? updated : r).ToArray() };
        }, cancellationToken);
    }

    public ValueTask RemoveRoleAsync(int roleId, bool failIfUsed, CancellationToken cancellationToken = default) =>
        Change(file =>
        {
            if (roleId < 0)
            {
                throw new PermissionException(PermissionFault.InvalidArgument, $"The system role {roleId} cannot be removed.", "roleId");
            }

            if (file.Roles.All(r => r.Id != roleId))
            {
                throw new PermissionException(PermissionFault.NotFound, $"The role {roleId} does not exist.");
            }

            if (failIfUsed && file.Permissions.Any(p => p.RoleId == roleId))
            {
                throw new PermissionException(PermissionFault.RemoveFailed, $"The role {roleId} is used by permissions.");
            }

            return file with { Roles = file.Roles.Where(r => r.Id != roleId).ToArray(), Permissions = file.Permissions.Where(p => p.RoleId != roleId).ToArray() };
        }, cancellationToken);

    /// <summary>Sets permissions: each replaces the permission of the same principal on the same entity.</summary>
    public ValueTask SetPermissionsAsync(IReadOnlyList<PermissionEntry> permissions, CancellationToken cancellationToken = default) =>
        Change(file =>
        {
            var current = file.Permissions.ToList();
            foreach (var permission in permissions)
            {
                if (SystemRoles.All(r => r.Id != permission.RoleId) && file.Roles.All(r => r.Id != permission.RoleId))
                {
                    throw new PermissionException(PermissionFault.NotFound, $"The role {permission.RoleId} does not exist.");
                }

                current.RemoveAll(p => Same(p, permission.Entity, permission.Principal, permission.Group));
                current.Add(new StoredPermission(permission.Entity.Type, permission.Entity.Id, permission.Principal, permission.Group, permission.RoleId, permission.Propagate));
            }

            return CheckAdmin(file with { Permissions = current.ToArray() });
        }, cancellationToken);

    public ValueTask RemovePermissionAsync(EntityRef entity, string principal, bool isGroup, CancellationToken cancellationToken = default) =>
        Change(file =>
        {
            if (!file.Permissions.Any(p => Same(p, entity, principal, isGroup)))
            {
                throw new PermissionException(PermissionFault.NotFound, $"No permission for {principal} is defined on {entity}.");
            }

            return CheckAdmin(file with { Permissions = file.Permissions.Where(p => !Same(p, entity, principal, isGroup)).ToArray() });
        }, cancellationToken);

    /// <summary>Removes every permission of a principal (its account was removed).</summary>
    public ValueTask RemovePrincipalAsync(string principal, bool isGroup, CancellationToken cancellationToken = default) =>
        Change(file => file with { Permissions = file.Permissions.Where(p => p.Principal != principal || p.Group != isGroup).ToArray() }, cancellationToken);

    /// <summary>Refuses a change that would remove the last permission of a principal that holds Admin on the root folder.</summary>
    public void CheckRemovable(string principal, bool isGroup)
    {
        var file = Current.File;
        CheckAdmin(file with { Permissions = file.Permissions.Where(p => p.Principal != principal || p.Group != isGroup).ToArray() });
    }

    private static AuthorizationFile CheckAdmin(AuthorizationFile file)
    {
        if (!file.Permissions.Any(p => p.RoleId == AdminRoleId && p.Entity.Equals(RootFolder) && !p.Group))
        {
            throw new PermissionException(PermissionFault.MinimumAdminPermission, "The change would leave no user with the Admin role on the root folder.");
        }

        return file;
    }

    private static bool Same(StoredPermission p, EntityRef entity, string principal, bool group) =>
        p.EntityType == entity.Type && p.EntityId == entity.Id && p.Principal == principal && p.Group == group;

    private static string[] Validated(IEnumerable<string> privileges)
    {
        var ids = privileges.Distinct(StringComparer.Ordinal).ToArray();
        if (ids.FirstOrDefault(id => !PrivilegeCatalog.Contains(id)) is { } unknown)
        {
            throw new PermissionException(PermissionFault.InvalidArgument, $"A specified parameter was not correct: privIds ({unknown} is not a privilege)", "privIds");
        }

        return ids;
    }

    private static void CheckNewName(AuthorizationFile file, string name, int? exceptId)
    {
        if (string.IsNullOrWhiteSpace(name) || name.Length > 255)
        {
            throw new PermissionException(PermissionFault.InvalidName, $"'{name}' is not a valid role name.", name);
        }

        if (SystemRoles.Any(r => r.Name == name) || file.Roles.Any(r => r.Name == name && r.Id != exceptId))
        {
            throw new PermissionException(PermissionFault.AlreadyExists, $"The role '{name}' already exists.", name);
        }
    }

    private async ValueTask Change(Func<AuthorizationFile, AuthorizationFile> change, CancellationToken cancellationToken) =>
        await _document.ChangeAsync(file => (change(file), 0), cancellationToken).ConfigureAwait(false);

    /// <summary>The roles and permissions of <c>authorization.json</c> (null: in memory only); without the file, Admin on
    /// the root folder for root and every user, written at once.</summary>
    private static LocalDocument<AuthorizationFile> File(string? stateDirectory, UserStore users)
    {
        var path = stateDirectory is null ? null : Path.Combine(stateDirectory, FileName);
        AuthorizationFile file;
        if (path is not null && System.IO.File.Exists(path))
        {
            try
            {
                file = JsonSerializer.Deserialize(System.IO.File.ReadAllText(path), AuthorizationJson.Default.AuthorizationFile)
                    ?? throw new JsonException("empty");
            }
            catch (JsonException e)
            {
                throw new AuthorizationFileException($"{path} (roles and permissions) cannot be read: {e.Message}. Restore it from a backup, or remove it to start again with Admin on the root folder for every user.", e);
            }
        }
        else
        {
            var admins = users.Users.Select(u => u.Name).Append("root").Distinct(StringComparer.Ordinal);
            file = new AuthorizationFile([], admins.Select(AdminOnRoot).ToArray(), FirstCustomRoleId);
            if (path is not null)
            {
                Write(path, file);
            }
        }

        return path is null ? new LocalDocument<AuthorizationFile>(file) : new LocalDocument<AuthorizationFile>(file, (_, next) => Write(path, next));
    }

    private static void Write(string path, AuthorizationFile file) =>
        StateFiles.WriteAtomically(path, JsonSerializer.Serialize(file, AuthorizationJson.Default.AuthorizationFile));

    /// <summary>One immutable state of the store.</summary>
    public sealed class Snapshot
    {
        private readonly FrozenDictionary<int, RoleDefinition> _roles;
        private readonly FrozenDictionary<int, FrozenSet<string>> _rolePrivileges;
        private readonly FrozenDictionary<EntityRef, StoredPermission[]> _byEntity;

        internal Snapshot(Versioned<AuthorizationFile> source)
        {
            var file = source.Value;
            File = file;
            Version = source.Version;
            var roles = SystemRoles.Concat(file.Roles.Select(r => new RoleDefinition(
                r.Id,
                r.Name,
                false,
                r.Name,
                r.Name,
                // vSphere adds System.Anonymous, System.View and System.Read to every role it creates.
                PrivilegeCatalog.SystemPrivileges.Concat(r.Privileges).Distinct(StringComparer.Ordinal).ToArray()))).ToArray();
            Roles = roles;
            _roles = roles.ToFrozenDictionary(r => r.Id);
            _rolePrivileges = roles.ToFrozenDictionary(r => r.Id, r => r.Privileges.ToFrozenSet(StringComparer.Ordinal));
            _byEntity = file.Permissions.GroupBy(p => p.Entity).ToFrozenDictionary(g => g.Key, g => g.ToArray());
            Entries = file.Permissions.Select(p => p.ToEntry()).ToArray();
        }

        public AuthorizationFile File { get; }

        /// <summary>Grows with every change.</summary>
        public long Version { get; }

        /// <summary>System roles first, then custom roles.</summary>
        public IReadOnlyList<RoleDefinition> Roles { get; }

        public IReadOnlyList<StoredPermission> Permissions => File.Permissions;

        /// <summary>Every permission, as the service hands it out.</summary>
        public IReadOnlyList<PermissionEntry> Entries { get; }

        public RoleDefinition? Role(int roleId) => _roles.GetValueOrDefault(roleId);

        public IReadOnlySet<string> PrivilegesOf(int roleId) => _rolePrivileges.TryGetValue(roleId, out var set) ? set : FrozenSet<string>.Empty;

        public IReadOnlyList<StoredPermission> On(EntityRef entity) => _byEntity.TryGetValue(entity, out var list) ? list : [];
    }
}

[JsonSerializable(typeof(AuthorizationFile))]
[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
internal sealed partial class AuthorizationJson : JsonSerializerContext;
