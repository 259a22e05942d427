using GuestOps.Server.ManagedObjects;
using GuestOps.Soap;
using GuestOps.Vim;

namespace GuestOps.Server.Authorization;

/// <summary>
/// The one place calls are checked before they reach a managed object: the session cookie is looked up (and kept
/// alive), every operation that needs more than System.Anonymous requires a live session, and the operation's
/// privilege (its <see cref="VimPrivilegeAttribute"/>; plus GuestControl for guest operations in the strict mode) must be held on the object
/// of the parameter it names — the <c>vm</c> of a guest operation, an entity, or for other managed objects the root
/// folder, as vSphere checks them. A missing privilege is <c>NoPermission</c> naming the object, the first missing
/// privilege and every missing one. Switches such as <c>guest.commands.enabled</c> are checked later, by the host
/// agent, so they apply only to calls that passed here.
/// </summary>
public sealed class VimCallAuthorizer(SessionManager sessions, Inventory? inventory = null, EntityPermissions? access = null) : IVimCallAuthorizer
{
    /// <summary>The API version that added <c>NoPermission.missingPrivileges</c>.</summary>
    public static readonly Version MissingPrivilegesSince = new(7, 0, 3, 2);

    public async ValueTask AuthorizeAsync(VimCall call)
    {
        if (call.Request.SessionKey is { Length: > 0 } key)
        {
            call.Session = await sessions.TouchAsync(key, call.CancellationToken).ConfigureAwait(false);
        }

        var privilege = call.Operation.Privilege;
        if (privilege == Privileges.SystemAnonymous)
        {
            return;
        }

        if (call.Session is not Session session)
        {
            throw new VimFaultException(
                new NotAuthenticated { @object = call.This, privilegeId = Privileges.SystemView },
                "The session is not authenticated.");
        }

        if (inventory is null || access is null
            || call.Arguments[call.Operation.PrivilegeParameterIndex] is not ManagedObjectReference target)
        {
            return;
        }

        var entity = inventory.Find(target, session) switch
        {
            ManagedEntity e => e,
            // Unknown objects: the method answers ManagedObjectNotFound, as vSphere does.
            null => null,
            // Managers and views: System.View is every session's; other privileges are checked on the root folder.
            _ when privilege == Privileges.SystemView => null,
            _ => inventory.RootFolder,
        };
        if (entity is null)
        {
            return;
        }

        var cancellationToken = call.CancellationToken;
        var missing = privilege == Privileges.SystemView && await access.CanViewAsync(session.UserName, entity, cancellationToken).ConfigureAwait(false)
            ? []
            : await access.MissingAsync(session.UserName, entity, await access.Service.GetRequiredAsync(privilege, cancellationToken).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
        if (missing.Length > 0)
        {
            throw new VimFaultException(
                new NoPermission
                {
                    @object = target,
                    privilegeId = missing[0],
                    // Only for clients of 7.0.3.2 and later: older ones (pyVmomi 6.7) fail on an element they do not know.
                    missingPrivileges = call.Request.ApiVersion >= MissingPrivilegesSince
                        ? [new NoPermissionEntityPrivileges { entity = entity.Ref, privilegeIds = missing }]
                        : null,
                },
                $"Permission to perform this operation was denied: {string.Join(", ", missing)} on {target}.");
        }
    }
}
