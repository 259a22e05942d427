using System.CommandLine;
using GuestOps.Cluster;
using GuestOps.Cluster.Accounts;
using GuestOps.Host.Authorization;
using GuestOps.Host.Sessions;

namespace GuestOps.Server.Hosting;

/// <summary>
/// Admin commands that bootstrap users, groups, roles and permissions without SOAP (the same settings as the server):
/// <c>user</c>, <c>group</c>, <c>role</c> and <c>permission</c>. A single server's are in its state directory and a
/// running server reads them at its next start; a cluster's (<c>GuestOps:Cluster</c>) are changed in the running
/// cluster. Over SOAP the same is done with HostLocalAccountManager and AuthorizationManager.
/// </summary>
public static class AccountCommands
{
    private const string Footer =
        " ROLE: a role name (Admin, ReadOnly, NoAccess or a custom role) or id. ENTITY: root (the root folder group-d1), datacenter-2, "
        + "folder-3 (the VM folder), a VM id (vm-1) or a configured VM name, or Type:id. A new user has no permission, and cannot log in, "
        + "until one is set. " + Effect;

    private const string Effect =
        "Without GUESTOPS_CLUSTER the commands change the state directory's files, which the server reads at start (restart a running server to apply them); "
        + "with it they change the running cluster's accounts, which every member sees within a second.";

    /// <summary>The <c>user</c>, <c>group</c>, <c>role</c> and <c>permission</c> commands.</summary>
    public static IEnumerable<Command> Create(ServerCommandLine commandLine, TextReader stdin, TextWriter stdout, TextWriter stderr)
    {
        Argument<string> Name(string name, string description) => new(name) { Description = description };
        Option<string?> Description() => new("--description") { Description = "Description text" };
        Option<string?> Password() => new("--password") { Description = "The password (visible to other local users in the process list: prefer --password-stdin)" };
        Option<bool> PasswordStdin() => new("--password-stdin") { Description = "Read the password from the first line of standard input" };
        Option<string> Principal() => new("--principal") { Description = "User or group name", Required = true };
        Option<bool> IsGroup() => new("--group") { Description = "The principal is a group" };
        Option<string> Entity() => new("--entity") { Description = "ENTITY: root, datacenter-2, folder-3, vm-N, a configured VM name, or Type:id", Required = true };

        Command Action(string name, string description, Func<ParseResult, AccountRequest> request, params Symbol[] symbols)
        {
            var command = new Command(name, description);
            foreach (var symbol in symbols)
            {
                switch (symbol)
                {
                    case Argument argument:
                        command.Arguments.Add(argument);
                        break;
                    case Option option:
                        command.Options.Add(option);
                        break;
                }
            }

            command.SetAction((result, cancellationToken) => RunAsync(request(result), commandLine.Settings(result), stdin, stdout, stderr, cancellationToken));
            return command;
        }

        Command Family(string name, string description, params Command[] actions)
        {
            var command = new Command(name, description);
            foreach (var action in actions)
            {
                command.Subcommands.Add(action);
            }

            return command;
        }

        var userName = Name("NAME", "User name");
        var (addPassword, addStdin, addDescription) = (Password(), PasswordStdin(), Description());
        var passwdName = Name("NAME", "User name");
        var (passwdPassword, passwdStdin, passwdDescription) = (Password(), PasswordStdin(), Description());
        var removedUser = Name("NAME", "User name");
        yield return Family(
            "user",
            "Local vSphere users (HostLocalAccountManager without SOAP). " + Effect,
            Action("add", "Creates a user (with no permission yet).", r => new AccountRequest("user", "add") { Names = [r.GetValue(userName)!], Password = r.GetValue(addPassword), PasswordStdin = r.GetValue(addStdin), Description = r.GetValue(addDescription) }, userName, addPassword, addStdin, addDescription),
            Action("passwd", "Changes a user's password (and description).", r => new AccountRequest("user", "passwd") { Names = [r.GetValue(passwdName)!], Password = r.GetValue(passwdPassword), PasswordStdin = r.GetValue(passwdStdin), Description = r.GetValue(passwdDescription) }, passwdName, passwdPassword, passwdStdin, passwdDescription),
            Action("remove", "Removes a user and its permissions.", r => new AccountRequest("user", "remove") { Names = [r.GetValue(removedUser)!] }, removedUser),
            Action("list", "Lists users and their groups.", _ => new AccountRequest("user", "list")));

        var groupName = Name("NAME", "Group name");
        var groupDescription = Description();
        var removedGroup = Name("NAME", "Group name");
        var (memberGroup, memberUser) = (Name("GROUP", "Group name"), Name("USER", "User name"));
        var (nonMemberGroup, nonMemberUser) = (Name("GROUP", "Group name"), Name("USER", "User name"));
        yield return Family(
            "group",
            "Local groups.",
            Action("add", "Creates a group.", r => new AccountRequest("group", "add") { Names = [r.GetValue(groupName)!], Description = r.GetValue(groupDescription) }, groupName, groupDescription),
            Action("remove", "Removes a group and its permissions.", r => new AccountRequest("group", "remove") { Names = [r.GetValue(removedGroup)!] }, removedGroup),
            Action("list", "Lists groups and their members.", _ => new AccountRequest("group", "list")),
            Action("add-member", "Adds a user to a group.", r => new AccountRequest("group", "add-member") { Names = [r.GetValue(memberGroup)!, r.GetValue(memberUser)!] }, memberGroup, memberUser),
            Action("remove-member", "Removes a user from a group.", r => new AccountRequest("group", "remove-member") { Names = [r.GetValue(nonMemberGroup)!, r.GetValue(nonMemberUser)!] }, nonMemberGroup, nonMemberUser));

        var roleName = Name("NAME", "Role name");
        var privilege = new Option<string[]>("--privilege") { Description = "A privilege id (repeat, or separate with commas); see `role list`" };
        var removedRole = Name("ROLE", "Role name or id");
        yield return Family(
            "role",
            "Roles (AuthorizationManager).",
            Action("add", "Creates a role with these privileges.", r => new AccountRequest("role", "add") { Names = [r.GetValue(roleName)!], Privileges = (r.GetValue(privilege) ?? []).SelectMany(p => p.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToList() }, roleName, privilege),
            Action("remove", "Removes a role and its permissions.", r => new AccountRequest("role", "remove") { Names = [r.GetValue(removedRole)!] }, removedRole),
            Action("list", "Lists roles and every privilege id.", _ => new AccountRequest("role", "list")));

        var (setPrincipal, setGroup, setEntity) = (Principal(), IsGroup(), Entity());
        var role = new Option<string>("--role") { Description = "ROLE: a role name or id", Required = true };
        var noPropagate = new Option<bool>("--no-propagate") { Description = "On this entity only, not the entities below it" };
        var (removePrincipal, removeGroup, removeEntity) = (Principal(), IsGroup(), Entity());
        yield return Family(
            "permission",
            "Permissions: a principal's role on an entity.",
            Action("set", "Gives a user or group a role on an entity." + Footer, r => new AccountRequest("permission", "set") { Principal = r.GetValue(setPrincipal), Group = r.GetValue(setGroup), Role = r.GetValue(role), Entity = r.GetValue(setEntity), Propagate = !r.GetValue(noPropagate) }, setPrincipal, setGroup, role, setEntity, noPropagate),
            Action("remove", "Removes a principal's permission on an entity." + Footer, r => new AccountRequest("permission", "remove") { Principal = r.GetValue(removePrincipal), Group = r.GetValue(removeGroup), Entity = r.GetValue(removeEntity) }, removePrincipal, removeGroup, removeEntity),
            Action("list", "Lists permissions.", _ => new AccountRequest("permission", "list")));
    }

    /// <summary>Runs one command; returns the process exit code (0 ok, 1 failed, 2 usage or settings).</summary>
    private static async Task<int> RunAsync(AccountRequest request, IReadOnlyList<string> settings, TextReader stdin, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken)
    {
        List<string> positional = [request.Command, request.Action, .. request.Names];
        var (password, passwordStdin, description, privileges) = (request.Password, request.PasswordStdin, request.Description, request.Privileges);
        var (principal, group, role, entity, propagate) = (request.Principal, request.Group, request.Role, request.Entity, request.Propagate);
        try
        {
            var options = GuestOpsSettings.ReadOptions(AdminCommands.Configuration(settings));
            var state = Path.GetFullPath(options.StateDirectory);
            StateDirectory.Prepare(state);
            var users = new UserStore(state);
            var store = RootAccount.OpenStore(state, users);
            await using var cluster = await ClusterAccountsAsync(options, users, store, cancellationToken);
            if (cluster is not null)
            {
                (users, store) = cluster.Value;
            }

            await RootAccount.EnsureCreatedAsync(users, new PermissionService(store, users), options.RootPassword, stdout, cancellationToken); // a fresh state directory (or cluster) gets root first, as the server would create it
            string? Arg(int index) => positional.Count > index ? positional[index] : null;
            string Password()
            {
                var p = passwordStdin ? stdin.ReadLine() : password;
                return string.IsNullOrEmpty(p) ? throw new ArgumentException("a password is required: --password-stdin or --password P.") : p;
            }

            switch ((positional[0], positional[1]))
            {
                case ("user", "add"):
                    var name = Arg(2) ?? throw new ArgumentException("user add NAME");
                    if (!await users.CreateAsync(name, description ?? "", Password(), cancellationToken))
                    {
                        return AdminCommands.Fail(stderr, $"The user '{name}' already exists.");
                    }

                    stdout.WriteLine($"User '{name}' created. It has no permission yet: grant one with `permission set`.");
                    return 0;
                case ("user", "passwd"):
                    var who = Arg(2) ?? throw new ArgumentException("user passwd NAME");
                    return await users.UpdateAsync(who, description, Password(), cancellationToken) ? Ok(stdout, $"Password of '{who}' changed.") : AdminCommands.Fail(stderr, $"No user '{who}'.");
                case ("user", "remove"):
                    var removed = Arg(2) ?? throw new ArgumentException("user remove NAME");
                    if (users.Find(removed) is null)
                    {
                        return AdminCommands.Fail(stderr, $"No user '{removed}'.");
                    }

                    store.CheckRemovable(removed, isGroup: false);
                    await users.RemoveAsync(removed, cancellationToken);
                    await store.RemovePrincipalAsync(removed, isGroup: false, cancellationToken);
                    return Ok(stdout, $"User '{removed}' and its permissions removed.");
                case ("user", "list"):
                    foreach (var u in users.Users.OrderBy(u => u.Name, StringComparer.Ordinal))
                    {
                        stdout.WriteLine($"{u.Name}\t{u.FullName}\tgroups: {string.Join(",", users.GroupsOf(u.Name))}");
                    }

                    return 0;
                case ("group", "add"):
                    var g = Arg(2) ?? throw new ArgumentException("group add NAME");
                    return await users.CreateGroupAsync(g, description ?? "", cancellationToken) ? Ok(stdout, $"Group '{g}' created.") : AdminCommands.Fail(stderr, $"The group '{g}' already exists.");
                case ("group", "remove"):
                    var gr = Arg(2) ?? throw new ArgumentException("group remove NAME");
                    if (!await users.RemoveGroupAsync(gr, cancellationToken))
                    {
                        return AdminCommands.Fail(stderr, $"No group '{gr}'.");
                    }

                    await store.RemovePrincipalAsync(gr, isGroup: true, cancellationToken);
                    return Ok(stdout, $"Group '{gr}' and its permissions removed.");
                case ("group", "list"):
                    foreach (var each in users.Groups.OrderBy(x => x.Name, StringComparer.Ordinal))
                    {
                        stdout.WriteLine($"{each.Name}\t{each.Description}\tmembers: {string.Join(",", each.Members)}");
                    }

                    return 0;
                case ("group", "add-member" or "remove-member"):
                    var (groupName, userName) = (Arg(2) ?? throw new ArgumentException("group add-member GROUP USER"), Arg(3) ?? throw new ArgumentException("group add-member GROUP USER"));
                    if (users.FindGroup(groupName) is null || users.Find(userName) is null)
                    {
                        return AdminCommands.Fail(stderr, $"No group '{groupName}' or no user '{userName}'.");
                    }

                    var add = positional[1] == "add-member";
                    await users.SetMembershipAsync(groupName, userName, add, cancellationToken);
                    return Ok(stdout, add ? $"'{userName}' is a member of '{groupName}'." : $"'{userName}' is not a member of '{groupName}'.");
                case ("role", "add"):
                    var roleName = Arg(2) ?? throw new ArgumentException("role add NAME");
                    var id = await store.AddRoleAsync(roleName, privileges, cancellationToken);
                    return Ok(stdout, $"Role '{roleName}' created with id {id}.");
                case ("role", "remove"):
                    var doomed = RoleId(store, Arg(2) ?? throw new ArgumentException("role remove NAME"));
                    await store.RemoveRoleAsync(doomed, failIfUsed: false, cancellationToken);
                    return Ok(stdout, $"Role {doomed} and its permissions removed.");
                case ("role", "list"):
                    foreach (var r in store.Current.Roles)
                    {
                        stdout.WriteLine($"{r.Id}\t{r.Name}\t{string.Join(",", r.Privileges)}");
                    }

                    stdout.WriteLine("Privileges: " + string.Join(" ", PrivilegeCatalog.All.Select(p => p.Id)));
                    return 0;
                case ("permission", "set"):
                    var target = Entity(options, entity ?? throw new ArgumentException("--entity is required."));
                    var roleId = RoleId(store, role ?? throw new ArgumentException("--role is required."));
                    var who2 = principal ?? throw new ArgumentException("--principal is required.");
                    if (group ? users.FindGroup(who2) is null : users.Find(who2) is null)
                    {
                        return AdminCommands.Fail(stderr, $"No {(group ? "group" : "user")} '{who2}'.");
                    }

                    await store.SetPermissionsAsync([new PermissionEntry(target, who2, group, roleId, propagate)], cancellationToken);
                    return Ok(stdout, $"{who2} has role {roleId} on {target}{(propagate ? " and below" : "")}.");
                case ("permission", "remove"):
                    var from = Entity(options, entity ?? throw new ArgumentException("--entity is required."));
                    await store.RemovePermissionAsync(from, principal ?? throw new ArgumentException("--principal is required."), group, cancellationToken);
                    return Ok(stdout, $"Permission of {principal} on {from} removed.");
                case ("permission", "list"):
                    foreach (var p in store.Current.Permissions)
                    {
                        stdout.WriteLine($"{p.EntityType}:{p.EntityId}\t{(p.Group ? "group " : "")}{p.Principal}\t{store.Current.Role(p.RoleId)?.Name ?? p.RoleId.ToString(System.Globalization.CultureInfo.InvariantCulture)}\t{(p.Propagate ? "propagate" : "this object only")}");
                    }

                    return 0;
                default:
                    return Usage2(stderr, $"unknown command '{positional[0]} {positional[1]}'.");
            }
        }
        catch (ArgumentException e)
        {
            return Usage2(stderr, e.Message);
        }
        catch (PermissionException e)
        {
            return AdminCommands.Fail(stderr, e.Message);
        }
        catch (Exception e) when (AdminCommands.IsRefusal(e))
        {
            return AdminCommands.Refuse(stderr, e);
        }
    }

    /// <summary>With <c>GuestOps:Cluster</c> set, the cluster's users, groups, roles and permissions (the documents every
    /// member reads, changed through their grains: every member sees a change within a second), reached as an Orleans
    /// client of the running cluster; a cluster that has none yet is seeded with this state directory's, as its first
    /// member would. Without it, null: the commands change the state directory's files.</summary>
    private static async Task<Opened<(UserStore Users, AuthorizationStore Authorization)>?> ClusterAccountsAsync(GuestOpsOptions options, UserStore localUsers, AuthorizationStore localAuthorization, CancellationToken cancellationToken)
    {
        var settings = ClusterSettings.Parse(options.Role, options.Cluster, options.HostName, options.DemoVms);
        return !settings.Clustered ? null : await ClusterConnection.OpenAsync(
            settings,
            async (connection, cancellationToken) => (
                new UserStore(await connection.JoinAsync(ClusterAccounts.UsersDocument, UserStore.DocumentJson, localUsers.Document.Current.Value, cancellationToken)),
                new AuthorizationStore(await connection.JoinAsync(ClusterAccounts.AuthorizationDocument, AuthorizationStore.DocumentJson, localAuthorization.Document.Current.Value, cancellationToken))),
            cancellationToken);
    }

    /// <summary>An entity argument: root, a managed object id, Type:id, or a configured VM's name.</summary>
    internal static EntityRef Entity(GuestOpsOptions options, string text)
    {
        if (text is "root" or "/")
        {
            return AuthorizationStore.RootFolder;
        }

        var colon = text.IndexOf(':', StringComparison.Ordinal);
        if (colon > 0)
        {
            return new EntityRef(text[..colon], text[(colon + 1)..]);
        }

        if (text.StartsWith("group-", StringComparison.Ordinal) || text.StartsWith("folder-", StringComparison.Ordinal))
        {
            return new EntityRef("Folder", text);
        }

        if (text.StartsWith("datacenter-", StringComparison.Ordinal))
        {
            return new EntityRef("Datacenter", text);
        }

        var index = options.VirtualMachines.FindIndex(v => v.Name == text);
        return index >= 0
            ? new EntityRef("VirtualMachine", GuestOpsSettings.VmId(options.VirtualMachines[index], index))
            : text.StartsWith("vm-", StringComparison.Ordinal)
                ? new EntityRef("VirtualMachine", text)
                : throw new ArgumentException($"'{text}' is not an entity: root, datacenter-2, folder-3, vm-N, a configured VM name, or Type:id.");
    }

    private static int RoleId(AuthorizationStore store, string text) =>
        store.Current.Roles.FirstOrDefault(r => r.Name == text || r.Id.ToString(System.Globalization.CultureInfo.InvariantCulture) == text)?.Id
            ?? throw new ArgumentException($"No role '{text}' (see `role list`).");

    private static int Ok(TextWriter stdout, string message)
    {
        stdout.WriteLine(message);
        return 0;
    }

    private static int Usage2(TextWriter stderr, string message)
    {
        stderr.WriteLine("GuestOps.Server: " + message + " (--help for the usage)");
        return ServerCommandLine.UsageExitCode;
    }
}

/// <summary>One parsed account command: <see cref="Command"/> and <see cref="Action"/> (<c>user add</c>), its positional
/// <see cref="Names"/>, and its options.</summary>
internal sealed record AccountRequest(string Command, string Action)
{
    public IReadOnlyList<string> Names { get; init; } = [];

    public string? Password { get; init; }

    public bool PasswordStdin { get; init; }

    public string? Description { get; init; }

    public IReadOnlyList<string> Privileges { get; init; } = [];

    public string? Principal { get; init; }

    public bool Group { get; init; }

    public string? Role { get; init; }

    public string? Entity { get; init; }

    public bool Propagate { get; init; } = true;
}
