using GuestOps.Host.Authorization;
using GuestOps.Vim;

namespace GuestOps.Server.ManagedObjects;

/// <summary>
/// The host agent's <see cref="IPermissionService"/> asked about managed entities (each named with its ancestry,
/// <see cref="ManagedEntity.Path"/>), and the vim25 forms of its records and refusals.
/// </summary>
public sealed class EntityPermissions(IPermissionService service)
{
    public IPermissionService Service => service;

    public ValueTask<IReadOnlySet<string>> PrivilegesOnAsync(string user, ManagedEntity entity, CancellationToken cancellationToken = default) =>
        service.GetPrivilegesOnAsync(user, entity.Path, cancellationToken);

    public async ValueTask<bool> HasAsync(string user, ManagedEntity entity, string privilege, CancellationToken cancellationToken = default) =>
        (await PrivilegesOnAsync(user, entity, cancellationToken).ConfigureAwait(false)).Contains(privilege);

    /// <summary>The privileges of <paramref name="required"/> the user lacks on the entity.</summary>
    public async ValueTask<string[]> MissingAsync(string user, ManagedEntity entity, IEnumerable<string> required, CancellationToken cancellationToken = default)
    {
        var held = await PrivilegesOnAsync(user, entity, cancellationToken).ConfigureAwait(false);
        return required.Where(p => !held.Contains(p)).ToArray();
    }

    /// <summary>Whether the user sees the entity: System.View on it, or on something below it (the way to it).</summary>
    public async ValueTask<bool> CanViewAsync(string user, ManagedEntity entity, CancellationToken cancellationToken = default)
    {
        if (await HasAsync(user, entity, Privileges.SystemView, cancellationToken).ConfigureAwait(false))
        {
            return true;
        }

        foreach (var child in entity.Children)
        {
            if (await CanViewAsync(user, child, cancellationToken).ConfigureAwait(false))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary><see cref="HasAsync"/> for property reads (see <see cref="Synchronous"/>).</summary>
    public bool Has(string user, ManagedEntity entity, string privilege) => Synchronous.Wait(HasAsync(user, entity, privilege));

    /// <summary><see cref="CanViewAsync"/> for property reads (see <see cref="Synchronous"/>).</summary>
    public bool CanView(string user, ManagedEntity entity) => Synchronous.Wait(CanViewAsync(user, entity));

    public static EntityRef ToEntity(ManagedObjectReference reference) => new(reference.type, reference.Value);

    public static ManagedObjectReference ToVim(EntityRef entity) => new(entity.Type, entity.Id);

    public static Permission ToVim(PermissionEntry p) =>
        new() { entity = ToVim(p.Entity), principal = p.Principal, group = p.Group, roleId = p.RoleId, propagate = p.Propagate };

    public static PermissionEntry ToEntry(ManagedObjectReference entity, Permission p) =>
        new(ToEntity(entity), p.principal, p.group, p.roleId, p.propagate);

    public static AuthorizationPrivilege ToVim(PrivilegeDefinition p) =>
        new() { privId = p.Id, onParent = p.OnParent, name = p.Name, privGroupName = p.Group };

    public static AuthorizationRole ToVim(RoleDefinition role) => new()
    {
        roleId = role.Id,
        system = role.System,
        name = role.Name,
        info = new Description { label = role.Label, summary = role.Summary },
        privilege = role.Privileges.Count == 0 ? null : role.Privileges.ToArray(),
    };

    /// <summary>Runs a change of roles or permissions, answering a refusal with its vim25 fault.</summary>
    public static async Task<T> ChangeAsync<T>(Func<ValueTask<T>> change)
    {
        try
        {
            return await change().ConfigureAwait(false);
        }
        catch (PermissionException e)
        {
            throw ToVim(e);
        }
    }

    /// <inheritdoc cref="ChangeAsync{T}"/>
    public static Task ChangeAsync(Func<ValueTask> change) => ChangeAsync(async () =>
    {
        await change().ConfigureAwait(false);
        return true;
    });

    public static VimFaultException ToVim(PermissionException e) => new(
        e.Fault switch
        {
            PermissionFault.InvalidArgument => new InvalidArgument { invalidProperty = e.Argument },
            PermissionFault.NotFound => new NotFound(),
            PermissionFault.RemoveFailed => new RemoveFailed(),
            PermissionFault.AlreadyExists => new AlreadyExists { name = e.Argument },
            PermissionFault.InvalidName => new InvalidName { name = e.Argument ?? "" },
            PermissionFault.MinimumAdminPermission => new AuthMinimumAdminPermission(),
            _ => throw new ArgumentOutOfRangeException(nameof(e), e.Fault, "not a permission fault"),
        },
        e.Message);
}
