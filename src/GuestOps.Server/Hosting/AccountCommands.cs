using GuestOps.Server.Authorization;
using GuestOps.Server.Sessions;
using GuestOps.Vim;

namespace GuestOps.Server;

/// <summary>
/// Admin commands that bootstrap users, groups, roles and permissions without SOAP (the same state directory and
/// settings as the server; a running server reads them at its next start): <c>user</c>, <c>group</c>, <c>role</c>
/// and <c>permission</c>. Over SOAP the same is done with HostLocalAccountManager and AuthorizationManager.
/// </summary>
public static class AccountCommands
{
    public const string Usage = """
        usage: GuestOps.Server user add NAME [--password-stdin | --password P] [--description TEXT] [settings]
               GuestOps.Server user passwd NAME [--password-stdin | --password P] [settings]
               GuestOps.Server user remove NAME [settings]
               GuestOps.Server user list [settings]
               GuestOps.Server group add NAME [--description TEXT] | group remove NAME | group list [settings]
               GuestOps.Server group add-member GROUP USER | group remove-member GROUP USER [settings]
               GuestOps.Server role add NAME [--privilege ID]... | role remove NAME | role list [settings]
               GuestOps.Server permission set --principal NAME [--group] --role ROLE --entity ENTITY [--no-propagate] [settings]
               GuestOps.Server permission remove --principal NAME [--group] --entity ENTITY [settings]
               GuestOps.Server permission list [settings]

          ROLE     a role name (Admin, ReadOnly, NoAccess or a custom role) or id.
          ENTITY   root (the root folder group-d1), datacenter-2, folder-3 (the VM folder), a VM id (vm-1) or a
                   configured VM name, or Type:id.
          A new user has no permission, and cannot log in, until one is set. Privilege ids: see `role list`.
          The server reads these files at start: restart a running server to apply changes.
        """;

    public static readonly IReadOnlySet<string> Commands = new HashSet<string>(StringComparer.Ordinal) { "user", "group", "role", "permission" };

    public static int Run(IReadOnlyList<string> args, TextReader stdin, TextWriter stdout, TextWriter stderr)
    {
        var positional = new List<string>();
        var privileges = new List<string>();
        string? password = null, description = null, principal = null, role = null, entity = null;
        bool passwordStdin = false, group = false, propagate = true;
        var settings = new List<string>();
        for (var i = 0; i < args.Count; i++)
        {
            string? Next() => i + 1 < args.Count ? args[++i] : null;
            switch (args[i])
            {
                case "--help" or "-h":
                    stdout.WriteLine(Usage);
                    return 0;
                case "--password":
                    password = Next();
                    break;
                case "--password-stdin":
                    passwordStdin = true;
                    break;
                case "--description":
                    description = Next();
                    break;
                case "--privilege":
                    privileges.AddRange((Next() ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
                    break;
                case "--principal":
                    principal = Next();
                    break;
                case "--group":
                    group = true;
                    break;
                case "--role":
                    role = Next();
                    break;
                case "--entity":
                    entity = Next();
                    break;
                case "--no-propagate":
                    propagate = false;
                    break;
                case var a when a.StartsWith("--", StringComparison.Ordinal):
                    settings.Add(a);
                    if (!a.Contains('=', StringComparison.Ordinal) && i + 1 < args.Count && !args[i + 1].StartsWith("--", StringComparison.Ordinal))
                    {
                        settings.Add(args[++i]);
                    }

                    break;
                default:
                    positional.Add(args[i]);
                    break;
            }
        }

        if (positional.Count < 2)
        {
            return Usage2(stderr, "a command and an action are required.");
        }

        try
        {
            var options = GuestOpsServer.ReadOptions(AdminCommands.Configuration(settings));
            var state = Path.GetFullPath(options.StateDirectory);
            StateDirectory.Prepare(state);
            var users = new UserStore(state);
            var store = new AuthorizationStore(state, users);
            RootAccount.EnsureCreated(new AccessControl(store, users), options.RootPassword, stdout); // a fresh state directory gets root first, as the server would create it
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
                    if (!users.Create(name, description ?? "", Password()))
                    {
                        return Fail(stderr, $"The user '{name}' already exists.");
                    }

                    stdout.WriteLine($"User '{name}' created. It has no permission yet: grant one with `permission set`.");
                    return 0;
                case ("user", "passwd"):
                    var who = Arg(2) ?? throw new ArgumentException("user passwd NAME");
                    return users.Update(who, description, Password()) ? Ok(stdout, $"Password of '{who}' changed.") : Fail(stderr, $"No user '{who}'.");
                case ("user", "remove"):
                    var removed = Arg(2) ?? throw new ArgumentException("user remove NAME");
                    if (users.Find(removed) is null)
                    {
                        return Fail(stderr, $"No user '{removed}'.");
                    }

                    store.CheckRemovable(removed, isGroup: false);
                    users.Remove(removed);
                    store.RemovePrincipal(removed, isGroup: false);
                    return Ok(stdout, $"User '{removed}' and its permissions removed.");
                case ("user", "list"):
                    foreach (var u in users.Users.OrderBy(u => u.Name, StringComparer.Ordinal))
                    {
                        stdout.WriteLine($"{u.Name}\t{u.FullName}\tgroups: {string.Join(",", users.GroupsOf(u.Name))}");
                    }

                    return 0;
                case ("group", "add"):
                    var g = Arg(2) ?? throw new ArgumentException("group add NAME");
                    return users.CreateGroup(g, description ?? "") ? Ok(stdout, $"Group '{g}' created.") : Fail(stderr, $"The group '{g}' already exists.");
                case ("group", "remove"):
                    var gr = Arg(2) ?? throw new ArgumentException("group remove NAME");
                    if (!users.RemoveGroup(gr))
                    {
                        return Fail(stderr, $"No group '{gr}'.");
                    }

                    store.RemovePrincipal(gr, isGroup: true);
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
                        return Fail(stderr, $"No group '{groupName}' or no user '{userName}'.");
                    }

                    var add = positional[1] == "add-member";
                    users.SetMembership(groupName, userName, add);
                    return Ok(stdout, add ? $"'{userName}' is a member of '{groupName}'." : $"'{userName}' is not a member of '{groupName}'.");
                case ("role", "add"):
                    var roleName = Arg(2) ?? throw new ArgumentException("role add NAME");
                    var id = store.AddRole(roleName, privileges);
                    return Ok(stdout, $"Role '{roleName}' created with id {id}.");
                case ("role", "remove"):
                    var doomed = RoleId(store, Arg(2) ?? throw new ArgumentException("role remove NAME"));
                    store.RemoveRole(doomed, failIfUsed: false);
                    return Ok(stdout, $"Role {doomed} and its permissions removed.");
                case ("role", "list"):
                    foreach (var r in store.Current.Roles)
                    {
                        stdout.WriteLine($"{r.roleId}\t{r.name}\t{string.Join(",", r.privilege ?? [])}");
                    }

                    stdout.WriteLine("Privileges: " + string.Join(" ", PrivilegeCatalog.All.Select(p => p.privId)));
                    return 0;
                case ("permission", "set"):
                    var target = Entity(options, entity ?? throw new ArgumentException("--entity is required."));
                    var roleId = RoleId(store, role ?? throw new ArgumentException("--role is required."));
                    var who2 = principal ?? throw new ArgumentException("--principal is required.");
                    if (group ? users.FindGroup(who2) is null : users.Find(who2) is null)
                    {
                        return Fail(stderr, $"No {(group ? "group" : "user")} '{who2}'.");
                    }

                    store.SetPermissions(target, [new Permission { principal = who2, group = group, roleId = roleId, propagate = propagate }]);
                    return Ok(stdout, $"{who2} has role {roleId} on {target}{(propagate ? " and below" : "")}.");
                case ("permission", "remove"):
                    var from = Entity(options, entity ?? throw new ArgumentException("--entity is required."));
                    store.RemovePermission(from, principal ?? throw new ArgumentException("--principal is required."), group);
                    return Ok(stdout, $"Permission of {principal} on {from} removed.");
                case ("permission", "list"):
                    foreach (var p in store.Current.Permissions)
                    {
                        stdout.WriteLine($"{p.EntityType}:{p.EntityId}\t{(p.Group ? "group " : "")}{p.Principal}\t{store.Current.Role(p.RoleId)?.name ?? p.RoleId.ToString(System.Globalization.CultureInfo.InvariantCulture)}\t{(p.Propagate ? "propagate" : "this object only")}");
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
        catch (VimFaultException e)
        {
            return Fail(stderr, e.Message);
        }
        catch (GuestOpsConfigurationException e)
        {
            return Fail(stderr, e.Message, code: 2);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException or System.Text.Json.JsonException)
        {
            return Fail(stderr, e.Message);
        }
    }

    /// <summary>An entity argument: root, a managed object id, Type:id, or a configured VM's name.</summary>
    internal static ManagedObjectReference Entity(GuestOpsOptions options, string text)
    {
        if (text is "root" or "/")
        {
            return AuthorizationStore.RootFolder;
        }

        var colon = text.IndexOf(':', StringComparison.Ordinal);
        if (colon > 0)
        {
            return new ManagedObjectReference(text[..colon], text[(colon + 1)..]);
        }

        if (text.StartsWith("group-", StringComparison.Ordinal) || text.StartsWith("folder-", StringComparison.Ordinal))
        {
            return new ManagedObjectReference("Folder", text);
        }

        if (text.StartsWith("datacenter-", StringComparison.Ordinal))
        {
            return new ManagedObjectReference("Datacenter", text);
        }

        var index = options.VirtualMachines.FindIndex(v => v.Name == text);
        return index >= 0
            ? new ManagedObjectReference("VirtualMachine", GuestOpsServer.VmId(options.VirtualMachines[index], index))
            : text.StartsWith("vm-", StringComparison.Ordinal)
                ? new ManagedObjectReference("VirtualMachine", text)
                : throw new ArgumentException($"'{text}' is not an entity: root, datacenter-2, folder-3, vm-N, a configured VM name, or Type:id.");
    }

    private static int RoleId(AuthorizationStore store, string text) =>
        store.Current.Roles.FirstOrDefault(r => r.name == text || r.roleId.ToString(System.Globalization.CultureInfo.InvariantCulture) == text)?.roleId
            ?? throw new ArgumentException($"No role '{text}' (see `role list`).");

    private static int Ok(TextWriter stdout, string message)
    {
        stdout.WriteLine(message);
        return 0;
    }

    private static int Usage2(TextWriter stderr, string message)
    {
        stderr.WriteLine("GuestOps.Server: " + message);
        stderr.WriteLine(Usage);
        return 2;
    }

    private static int Fail(TextWriter stderr, string message, int code = 1)
    {
        stderr.WriteLine("GuestOps.Server: " + message);
        return code;
    }
}
