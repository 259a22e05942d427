namespace GuestOps.Host.Authorization;

/// <summary>An inventory entity as permissions name it: its managed object type and id (<c>Folder</c>, <c>group-d1</c>).</summary>
public sealed record EntityRef(string Type, string Id)
{
    public override string ToString() => $"{Type}:{Id}";
}

/// <summary>A privilege of the catalog: its id (<c>VirtualMachine.GuestOperations.Query</c>), the group and the name
/// the id is made of, and whether it is checked on the entity's parent.</summary>
public sealed record PrivilegeDefinition(string Id, string Group, string Name, bool OnParent);

/// <summary>A role: the system roles (negative ids) are built in, custom ones are stored. <see cref="Privileges"/> is
/// everything the role grants.</summary>
public sealed record RoleDefinition(int Id, string Name, bool System, string Label, string Summary, IReadOnlyList<string> Privileges);

/// <summary>A permission: a role granted to a user or group on an entity, and (with <see cref="Propagate"/>) below it.</summary>
public sealed record PermissionEntry(EntityRef Entity, string Principal, bool Group, int RoleId, bool Propagate);

/// <summary>Why a change of roles or permissions was refused.</summary>
public enum PermissionFault
{
    /// <summary>An argument is wrong: <see cref="PermissionException.Argument"/> names it.</summary>
    InvalidArgument,

    /// <summary>The role or the permission does not exist.</summary>
    NotFound,

    /// <summary>The role is used by permissions and the caller asked to fail then.</summary>
    RemoveFailed,

    /// <summary>A role of that name exists: <see cref="PermissionException.Argument"/> is the name.</summary>
    AlreadyExists,

    /// <summary>The role name is empty or too long: <see cref="PermissionException.Argument"/> is the name.</summary>
    InvalidName,

    /// <summary>The change would leave no user with the Admin role on the root folder.</summary>
    MinimumAdminPermission,
}

/// <summary>A change of roles or permissions was refused; the message says why, for the caller to show as it is.</summary>
public sealed class PermissionException(PermissionFault fault, string message, string? argument = null) : Exception(message)
{
    public PermissionFault Fault { get; } = fault;

    /// <summary>The argument or name the fault is about (see <see cref="PermissionFault"/>).</summary>
    public string? Argument { get; } = argument;
}

/// <summary>The roles and permissions file of the state directory cannot be read.</summary>
public sealed class AuthorizationFileException(string message, Exception inner) : Exception(message, inner);
