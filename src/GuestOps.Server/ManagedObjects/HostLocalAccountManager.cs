using GuestOps.Host.Authorization;
using GuestOps.Host.Sessions;
using GuestOps.Soap;
using GuestOps.Vim;
using GuestOps.Vim.Contracts;

namespace GuestOps.Server.ManagedObjects;

/// <summary>vim.host.LocalAccountManager: the server's local users and groups, the principals of permissions. As on
/// ESXi, a new user has no permission (and so cannot log in) until one is granted; removing a user or group removes
/// its permissions.</summary>
public sealed class HostLocalAccountManager(string id, UserStore users, IPermissionService permissions, PropertyReader reader) : ManagedObject(id, reader), IHostLocalAccountManager
{
    private static readonly PropertyTable<HostLocalAccountManager> Table = new();

    public override PropertyTable Properties => Table;

    public Task CreateUserAsync(ManagedObjectReference _this, HostAccountSpec user)
    {
        var call = Call;
        CheckName(user.id, "user");
        if (string.IsNullOrEmpty(user.password))
        {
            throw new VimFaultException(new InvalidArgument { invalidProperty = "user.password" }, "A specified parameter was not correct: user.password");
        }

        // PBKDF2 is deliberately slow: keep it off the request thread pool's fast path.
        return Task.Run(async () =>
        {
            if (!await users.CreateAsync(user.id, user.description ?? "", user.password, call.CancellationToken).ConfigureAwait(false))
            {
                throw new VimFaultException(new AlreadyExists { name = user.id }, $"The user '{user.id}' already exists.");
            }
        }, call.CancellationToken);
    }

    public Task UpdateUserAsync(ManagedObjectReference _this, HostAccountSpec user)
    {
        var cancellationToken = Call.CancellationToken;
        return Task.Run(async () =>
        {
            if (!await users.UpdateAsync(user.id, user.description, string.IsNullOrEmpty(user.password) ? null : user.password, cancellationToken).ConfigureAwait(false))
            {
                throw UserNotFound(user.id);
            }
        }, cancellationToken);
    }

    public Task RemoveUserAsync(ManagedObjectReference _this, string userName)
    {
        if (users.Find(userName) is null)
        {
            throw UserNotFound(userName);
        }

        var cancellationToken = Call.CancellationToken;
        return EntityPermissions.ChangeAsync(async () =>
        {
            await permissions.CheckRemovableAsync(userName, isGroup: false, cancellationToken).ConfigureAwait(false);
            await users.RemoveAsync(userName, cancellationToken).ConfigureAwait(false);
            await permissions.RemovePrincipalAsync(userName, isGroup: false, cancellationToken).ConfigureAwait(false);
        });
    }

    public async Task CreateGroupAsync(ManagedObjectReference _this, HostAccountSpec group)
    {
        CheckName(group.id, "group");
        if (!await users.CreateGroupAsync(group.id, group.description ?? "", Call.CancellationToken).ConfigureAwait(false))
        {
            throw new VimFaultException(new AlreadyExists { name = group.id }, $"The group '{group.id}' already exists.");
        }
    }

    public async Task RemoveGroupAsync(ManagedObjectReference _this, string groupName)
    {
        var cancellationToken = Call.CancellationToken;
        if (!await users.RemoveGroupAsync(groupName, cancellationToken).ConfigureAwait(false))
        {
            throw UserNotFound(groupName);
        }

        await permissions.RemovePrincipalAsync(groupName, isGroup: true, cancellationToken).ConfigureAwait(false);
    }

    public async Task AssignUserToGroupAsync(ManagedObjectReference _this, string user, string group)
    {
        Exist(user, group);
        if (!await users.SetMembershipAsync(group, user, member: true, Call.CancellationToken).ConfigureAwait(false))
        {
            throw new VimFaultException(new AlreadyExists { name = user }, $"The user '{user}' is already a member of '{group}'.");
        }
    }

    public async Task UnassignUserFromGroupAsync(ManagedObjectReference _this, string user, string group)
    {
        Exist(user, group);
        if (!await users.SetMembershipAsync(group, user, member: false, Call.CancellationToken).ConfigureAwait(false))
        {
            throw UserNotFound(user);
        }
    }

    private void Exist(string user, string group)
    {
        if (users.Find(user) is null)
        {
            throw UserNotFound(user);
        }

        if (users.FindGroup(group) is null)
        {
            throw UserNotFound(group);
        }
    }

    private static void CheckName(string name, string what)
    {
        if (string.IsNullOrWhiteSpace(name) || name.Length > 64 || name.Any(c => char.IsControl(c) || c is ':' or '/' or '\\'))
        {
            throw new VimFaultException(new InvalidArgument { invalidProperty = what + ".id" }, $"'{name}' is not a valid {what} name.");
        }
    }

    private static VimFaultException UserNotFound(string principal) =>
        new(new UserNotFound { principal = principal, unresolved = false }, $"The user or group '{principal}' does not exist.");
}
