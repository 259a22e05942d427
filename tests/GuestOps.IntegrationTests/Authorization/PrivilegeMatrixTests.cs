using System.Collections.Concurrent;
using System.Globalization;
using System.Reflection;
using System.Text;
using GuestOps.IntegrationTests.Infrastructure;
using GuestOps.Vim;
using GuestOps.Vim.Contracts;

namespace GuestOps.IntegrationTests.Authorization;

/// <summary>
/// Acceptance of issue 6: the privilege matrix (tests/conformance/privilege-matrix.csv) against the
/// server over SOAP. For every subset of {Query, Modify, Execute, GuestControl} a role, a user and a permission; every
/// guest-operation method of the contracts is called by every user with the permission on the VM, on its folder with
/// propagate, and on its folder without propagate. A call is allowed exactly when the role covers the method's
/// privileges (GuestControl only counts in the strict mode) and the permission reaches the VM; otherwise it is
/// NoPermission naming the VM and the first missing privilege. An allowed call must fail with exactly the fault its
/// arguments are built to produce: every method's arguments are valid, so each goes on to the host-wide
/// guest.commands.enabled = FALSE switch and answers OperationDisabledByGuest (the switch is checked after the
/// privileges and the arguments, and nothing runs in a guest); any other fault of an allowed call (a SystemError, a
/// RuntimeFault, an InvalidArgument of a broken method) fails the test. The same state directory then serves a restarted server in the strict mode: users, roles
/// and permissions survive the restart. Every call leaves one audit event, read back with QueryEvents.
/// </summary>
[TestClass]
public sealed class PrivilegeMatrixTests : IntegrationTest
{
    private const string VmId = "vm-1";
    private const string UserPassword = "Matrix-User-Pa55!";

    private static readonly string[] Family =
    [
        Privileges.GuestOperationsQuery, Privileges.GuestOperationsModify, Privileges.GuestOperationsExecute, Privileges.InteractGuestControl,
    ];

    private static readonly Moref Vm = Moref.Vm(VmId);

    /// <summary>The one fault an allowed call answers: the guest.commands.enabled switch, after the privileges.</summary>
    private const string AllowedCallFault = "OperationDisabledByGuest";

    public sealed record MatrixRow(string Method, string Manager, string Privilege, string On, string Status);

    /// <summary>A guest-operation method of the contracts: checked on <c>vm</c> with a GuestOperations privilege.</summary>
    public sealed record GuestMethod(string Name, string Manager, string Privilege, MethodInfo Contract);

    public static IReadOnlyList<MatrixRow> ReadMatrix()
    {
        var path = Path.Combine(RepositoryLayout.RepositoryRoot, "tests", "conformance", "privilege-matrix.csv");
        var lines = File.ReadAllLines(path).Where(l => l.Length > 0 && !l.StartsWith('#')).ToList();
        Assert.AreEqual("method,manager,privilege,on,status", lines[0], "CSV header");
        return lines.Skip(1).Select(l => l.Split(',')).Select(f => new MatrixRow(f[0], f[1], f[2], f[3], f[4])).ToList();
    }

    public static IReadOnlyList<GuestMethod> ContractGuestMethods() =>
        VimContracts.All
            .SelectMany(c => c.GetMethods().Select(m => (Contract: c, Method: m)))
            .Select(x => (x.Contract, x.Method, Privilege: x.Method.GetCustomAttribute<VimPrivilegeAttribute>()))
            .Where(x => x.Privilege is { On: "vm" } p && p.PrivilegeId.StartsWith(Privileges.GuestOperationsPrefix, StringComparison.Ordinal))
            .Select(x => new GuestMethod(x.Method.Name[..^"Async".Length], x.Contract.Name[1..], x.Privilege!.PrivilegeId, x.Method))
            .OrderBy(m => m.Name, StringComparer.Ordinal)
            .ToList();

    [TestMethod]
    public void Matrix_MirrorsTheContracts_EveryRowServedOrPending()
    {
        var rows = ReadMatrix();
        var methods = ContractGuestMethods();
        var problems = new List<string>();
        Assert.AreEqual(rows.Count, rows.Select(r => r.Method).Distinct().Count(), "one row per method");
        foreach (var method in methods)
        {
            var row = rows.FirstOrDefault(r => r.Method == method.Name);
            if (row is null)
            {
                problems.Add($"{method.Name} (in {method.Manager}) has no row in privilege-matrix.csv");
                continue;
            }

            if (row.Privilege != method.Privilege || row.On != "vm" || row.Manager != method.Manager)
            {
                problems.Add($"{method.Name}: the contract says {method.Manager} {method.Privilege} on vm, the matrix {row.Manager} {row.Privilege} on {row.On}");
            }

            if (row.Status != "served" && !row.Status.StartsWith("pending:", StringComparison.Ordinal))
            {
                problems.Add($"{method.Name}: in the contracts but marked {row.Status}");
            }
        }

        foreach (var row in rows.Where(r => methods.All(m => m.Name != r.Method)))
        {
            if (row.Status == "served")
            {
                problems.Add($"{row.Method}: marked served but no contract declares it");
            }
            else if (!row.Status.StartsWith("pending:", StringComparison.Ordinal) && row.Status != "not-served")
            {
                problems.Add($"{row.Method}: unknown status {row.Status}");
            }
        }

        Assert.IsEmpty(problems, string.Join(Environment.NewLine, problems));
        Assert.IsGreaterThanOrEqualTo(16, methods.Count, "the 5.0 guest-operation methods are in the contracts");
    }

    [TestMethod]
    [Timeout(600_000)]
    public async Task EveryGuestMethod_AgainstEveryPrivilegeSubset_OnTheVmAndItsFolder_InBothModes()
    {
        var rows = ReadMatrix().ToDictionary(r => r.Method);
        var methods = ContractGuestMethods();
        Assert.IsTrue(methods.All(m => rows.TryGetValue(m.Name, out var row) && row.Privilege == m.Privilege), "every contract method is in the matrix with its privilege");
        var subsets = Enumerable.Range(0, 1 << Family.Length).ToList();
        var state = Directory.CreateTempSubdirectory("guestops-matrix-").FullName;
        try
        {
            Dictionary<int, int> roleIds = [];
            foreach (var strict in new[] { false, true })
            {
                await using var server = await ServerProcess.StartAsync(new ServerOptions
                {
                    StateDirectory = state,
                    VirtualMachineNames = ["matrix-vm"],
                    Environment = new Dictionary<string, string>
                    {
                        ["GUESTOPS_PROVIDER"] = "none",
                        ["GuestOps__GuestCommandsEnabled"] = "false",
                        ["GuestOps__GuestOperationsRequireGuestControl"] = strict ? "true" : "false",
                    },
                });
                using var admin = NewClient(server);
                await admin.LoginOkAsync();
                if (!strict)
                {
                    foreach (var mask in subsets)
                    {
                        await AuthorizationSoap.CreateUserAsync(admin, User(mask), UserPassword, $"matrix subset {mask}");
                        roleIds[mask] = await AuthorizationSoap.AddRoleAsync(admin, $"matrix-role-{mask}", Subset(mask));
                    }
                }
                else
                {
                    // Users, roles and permissions came back from the state directory.
                    var all = await admin.CallAsync("RetrieveAllPermissions", AuthorizationSoap.AuthorizationManager);
                    var principals = all.ReturnValues("RetrieveAllPermissions").Select(p => AuthorizationSoap.Text(p, "principal")).ToHashSet();
                    Assert.IsTrue(subsets.All(m => principals.Contains(User(m))), "every matrix user kept its permission across the restart");
                }

                var clients = new Dictionary<int, SoapClient>();
                try
                {
                    // A permission that reaches the VM, so every user may log in.
                    foreach (var mask in subsets)
                    {
                        (await AuthorizationSoap.SetPermissionsAsync(admin, Vm, AuthorizationSoap.Permission(User(mask), roleIds[mask], propagate: true))).AssertOk("SetEntityPermissions");
                        var client = NewClient(server);
                        await client.LoginOkAsync(User(mask), UserPassword);
                        clients[mask] = client;
                    }

                    var failures = new ConcurrentBag<string>();
                    var calls = 0;
                    foreach (var placement in new[] { Placement.Vm, Placement.FolderPropagating, Placement.FolderOnly })
                    {
                        foreach (var mask in subsets)
                        {
                            await Place(admin, mask, roleIds[mask], placement);
                        }

                        await Parallel.ForEachAsync(subsets, new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (mask, _) =>
                        {
                            foreach (var method in methods)
                            {
                                var required = strict ? new[] { method.Privilege, Privileges.InteractGuestControl } : [method.Privilege];
                                var held = Subset(mask).ToHashSet();
                                var missing = placement == Placement.FolderOnly ? required : required.Where(p => !held.Contains(p)).ToArray();
                                var response = await clients[mask].PostAsync(Request(method), $"{method.Name} as {User(mask)} ({placement}, strict={strict})");
                                Interlocked.Increment(ref calls);
                                var context = $"{method.Name} with [{string.Join(", ", Subset(mask))}] ({placement}, strict={strict})";
                                var fault = response.StatusCode == 200 ? null : response.ReadFault();
                                if (missing.Length == 0)
                                {
                                    if (fault is not { Type: AllowedCallFault })
                                    {
                                        failures.Add($"{context}: expected allowed, answered by the guest.commands.enabled switch ({AllowedCallFault}), got {(fault is null ? "success" : $"{fault.Type}: {fault.FaultString}")}");
                                    }
                                }
                                else if (fault is not { Type: "NoPermission" })
                                {
                                    failures.Add($"{context}: expected NoPermission for {missing[0]}, got {fault?.Type ?? "success"}");
                                }
                                else
                                {
                                    var privilegeId = (string?)fault.Detail.Element(Soap.Vim + "privilegeId");
                                    var obj = fault.Detail.Element(Soap.Vim + "object");
                                    if (privilegeId != missing[0] || obj is null || Moref.From(obj) != Vm)
                                    {
                                        failures.Add($"{context}: NoPermission should name {Vm} and {missing[0]}, names {(obj is null ? "-" : Moref.From(obj))} and {privilegeId}");
                                    }
                                }
                            }
                        });
                    }

                    Assert.IsEmpty(failures, $"{failures.Count} of {calls} calls broke the matrix:{Environment.NewLine}{string.Join(Environment.NewLine, failures.Order(StringComparer.Ordinal).Take(60))}");
                    Assert.AreEqual(subsets.Count * methods.Count * 3, calls);

                    // Every call left an audit event: per user, one event per call, allowed or denied.
                    foreach (var mask in subsets)
                    {
                        var events = await AuthorizationSoap.QueryEventsAsync(admin, Vm, User(mask));
                        Assert.HasCount(methods.Count * 3, events, $"audit events of {User(mask)} (strict={strict})");
                        var denied = events.Count(e => AuthorizationSoap.Text(e, "eventTypeId") == "com.guestops.guestOperations.GuestOperationDenied");
                        var expectedDenied = 3 * methods.Count - 2 * methods.Count(m => Covered(mask, m, strict));
                        Assert.AreEqual(expectedDenied, denied, $"denied audit events of {User(mask)} (strict={strict})");
                    }
                }
                finally
                {
                    foreach (var client in clients.Values)
                    {
                        client.Dispose();
                    }
                }

                // Back to the VM for the restart (the permission a strict run starts from).
                foreach (var mask in subsets)
                {
                    await Place(admin, mask, roleIds[mask], Placement.Vm);
                }
            }
        }
        finally
        {
            Directory.Delete(state, recursive: true);
        }
    }

    private enum Placement
    {
        Vm,
        FolderPropagating,
        FolderOnly,
    }

    private static bool Covered(int mask, GuestMethod method, bool strict)
    {
        var held = Subset(mask);
        return held.Contains(method.Privilege) && (!strict || held.Contains(Privileges.InteractGuestControl));
    }

    private static async Task Place(SoapClient admin, int mask, int roleId, Placement placement)
    {
        var user = User(mask);
        await AuthorizationSoap.RemovePermissionAsync(admin, Vm, user); // NotFound when not there: fine
        await AuthorizationSoap.RemovePermissionAsync(admin, Moref.VmFolder, user);
        var (entity, propagate) = placement switch
        {
            Placement.Vm => (Vm, true),
            Placement.FolderPropagating => (Moref.VmFolder, true),
            _ => (Moref.VmFolder, false),
        };
        (await AuthorizationSoap.SetPermissionsAsync(admin, entity, AuthorizationSoap.Permission(user, roleId, propagate))).AssertOk("SetEntityPermissions");
    }

    /// <summary>An NTLM NEGOTIATE message (MS-NLMP 2.2.1.1) without domain or workstation, base64.</summary>
    private static readonly string NtlmNegotiate = Convert.ToBase64String(
        [.. "NTLMSSP\0"u8, 1, 0, 0, 0, 0x05, 0x82, 0x08, 0xA0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);

    private static string User(int mask) => $"matrix-{mask:00}";

    private static string[] Subset(int mask) => Family.Where((_, i) => (mask & (1 << i)) != 0).ToArray();

    /// <summary>A request for any guest-operation method, built from its contract: harmless arguments of the declared types.</summary>
    private static string Request(GuestMethod method)
    {
        var manager = method.Manager switch
        {
            "GuestAuthManager" => new Moref("GuestAuthManager", "guestOperationsAuthManager"),
            "GuestFileManager" => new Moref("GuestFileManager", "guestOperationsFileManager"),
            "GuestProcessManager" => new Moref("GuestProcessManager", "guestOperationsProcessManager"),
            var other => throw new AssertFailedException($"No managed object known for {other}: add it to the matrix test."),
        };
        var body = new StringBuilder();
        var nullability = new NullabilityInfoContext();
        foreach (var parameter in method.Contract.GetParameters().Skip(1))
        {
            var type = parameter.ParameterType;
            var optional = Nullable.GetUnderlyingType(type) is not null || (!type.IsValueType && nullability.Create(parameter).ReadState == NullabilityState.Nullable);
            if (optional)
            {
                continue;
            }

            // ReleaseCredentialsInGuest releases a ticket (an unknown one: the switch answers first).
            body.Append(method.Name == "ReleaseCredentialsInGuest" && parameter.Name == "auth"
                ? "<auth xsi:type=\"TicketedSessionAuthentication\"><interactiveSession>false</interactiveSession><ticket>bWF0cml4LW5vLXN1Y2gtdGlja2V0</ticket></auth>"
                : Value(parameter.Name!, type));
        }

        return Soap.Call(method.Name, manager, body.ToString());
    }

    private static string Value(string name, Type type)
    {
        if (name == "vm")
        {
            return Vm.Xml("vm");
        }

        if (name == "requestedAuth")
        {
            // AcquireCredentialsInGuest takes the first leg of an SSPI logon: an NTLM NEGOTIATE message.
            return $"<{name} xsi:type=\"SSPIAuthentication\"><interactiveSession>false</interactiveSession>{Soap.Element("sspiToken", NtlmNegotiate)}</{name}>";
        }

        if (typeof(GuestAuthentication).IsAssignableFrom(type))
        {
            return GuestSoap.Auth("demo", "not-the-password").Replace("<auth ", $"<{name} ", StringComparison.Ordinal).Replace("</auth>", $"</{name}>", StringComparison.Ordinal);
        }

        if (type == typeof(string))
        {
            return Soap.Element(name, "/tmp/matrix-no-such-path");
        }

        if (type == typeof(bool))
        {
            return $"<{name}>false</{name}>";
        }

        if (type == typeof(int) || type == typeof(long))
        {
            return $"<{name}>{(name == "pid" ? "999999" : "0")}</{name}>";
        }

        if (type.IsArray)
        {
            return Value(name, type.GetElementType()!);
        }

        if (typeof(DynamicData).IsAssignableFrom(type))
        {
            var concrete = type.IsAbstract || type == typeof(GuestFileAttributes)
                ? typeof(DynamicData).Assembly.GetExportedTypes().Where(t => t.IsSubclassOf(type) && !t.IsAbstract).OrderBy(t => t.Name, StringComparer.Ordinal).First()
                : type;
            var fields = new StringBuilder();
            foreach (var level in Hierarchy(concrete))
            {
                foreach (var property in level.GetProperties(BindingFlags.Public | BindingFlags.Instance | BindingFlags.DeclaredOnly))
                {
                    var nullable = Nullable.GetUnderlyingType(property.PropertyType) is not null
                        || (!property.PropertyType.IsValueType && new NullabilityInfoContext().Create(property).ReadState == NullabilityState.Nullable);
                    if (!nullable && property.DeclaringType != typeof(DynamicData))
                    {
                        fields.Append(property.Name == "programPath" ? Soap.Element("programPath", "/bin/true") : Value(property.Name, property.PropertyType));
                    }
                }
            }

            return $"<{name} xsi:type=\"{concrete.Name}\">{fields}</{name}>";
        }

        throw new AssertFailedException($"The matrix test cannot make a value for {name} of type {type}: add it.");
    }

    private static IEnumerable<Type> Hierarchy(Type type)
    {
        var chain = new List<Type>();
        for (var t = type; t is not null && t != typeof(object); t = t.BaseType)
        {
            chain.Add(t);
        }

        chain.Reverse();
        return chain;
    }
}
