using GuestOps.Host;
using GuestOps.Host.Authorization;
using GuestOps.Server.Authorization;
using GuestOps.Server.ManagedObjects;
using GuestOps.Host.Sessions;
using GuestOps.Soap;
using GuestOps.Vim;
using GuestOps.Vim.Contracts;
using Moq;

namespace GuestOps.Tests.Server;

/// <summary>Permission resolution as vSphere does it (the host agent's <see cref="PermissionService"/> asked about managed
/// entities), the store's rules, and the authorizer's NoPermission.</summary>
[TestClass]
public sealed class AccessControlTests
{
    private static readonly VimOperationCatalog Catalog = new(VimContracts.All);
    private static readonly string[] GuestQuery = [Privileges.GuestOperationsQuery];

    private DirectoryInfo _state = null!;
    private UserStore _users = null!;
    private AuthorizationStore _store = null!;
    private PermissionService _permissions = null!;
    private EntityPermissions _access = null!;
    private Inventory _inventory = null!;
    private readonly VimCallContext _calls = new();

    [TestInitialize]
    public async Task SetUp()
    {
        _state = Directory.CreateTempSubdirectory("guestops-access-");
        _users = new UserStore(_state.FullName);
        await _users.SetAsync("root", "Administrator", "x");
        await _users.SetAsync("alice", "Alice", "x");
        await _users.CreateGroupAsync("ops", "");
        await _users.CreateGroupAsync("audit", "");
        await _users.SetMembershipAsync("ops", "alice", member: true);
        await _users.SetMembershipAsync("audit", "alice", member: true);
        _store = new AuthorizationStore(_state.FullName, _users);
        await _store.RemovePrincipalAsync("alice", isGroup: false); // only root is an admin here
        _permissions = new PermissionService(_store, _users);
        _access = new EntityPermissions(_permissions);
        var agent = new Mock<IHostAgent>();
        var vms = new[] { Vm("vm-1", "alpha"), Vm("vm-2", "beta") };
        agent.Setup(a => a.ListVirtualMachines()).Returns(vms);
        agent.Setup(a => a.GetVirtualMachine(It.IsAny<string>())).Returns((string id) => vms.FirstOrDefault(v => v.Configuration.Id == id));
        _inventory = new Inventory(agent.Object, _calls, _users, TimeProvider.System, new ServerIdentity("uuid"), TimeSpan.FromMinutes(30), permissions: _permissions);
    }

    [TestCleanup]
    public void TearDown() => _state.Delete(recursive: true);

    private VirtualMachine Vm1 => _inventory.VirtualMachines.Single(v => v.Ref.Value == "vm-1");

    private VirtualMachine Vm2 => _inventory.VirtualMachines.Single(v => v.Ref.Value == "vm-2");

    private Folder VmFolder => _inventory.Datacenter.VmFolder;

    [TestMethod]
    public void NewStoreGivesRootAdminOnTheRootFolder_EverywhereBelow()
    {
        Assert.IsTrue(_access.Has("root", Vm1, Privileges.GuestOperationsExecute));
        Assert.IsTrue(_access.Has("root", _inventory.RootFolder, Privileges.AuthorizationModifyPermissions));
        Assert.IsFalse(_access.Has("alice", Vm1, Privileges.SystemView));
        Assert.IsFalse(_permissions.HasAnyPermission("alice"));
    }

    [TestMethod]
    public async Task FolderPermission_PropagatesOnlyWhenAsked()
    {
        var role = await _store.AddRoleAsync("q", GuestQuery);
        await _store.SetPermissionsAsync([Entry(VmFolder.Ref, "alice", role, false)]);
        Assert.IsTrue(_access.Has("alice", VmFolder, Privileges.GuestOperationsQuery));
        Assert.IsFalse(_access.Has("alice", Vm1, Privileges.GuestOperationsQuery));

        await _store.SetPermissionsAsync([Entry(VmFolder.Ref, "alice", role, true)]);
        Assert.IsTrue(_access.Has("alice", Vm1, Privileges.GuestOperationsQuery));
        Assert.IsTrue(_access.Has("alice", Vm1, Privileges.SystemRead), "every custom role holds System.Anonymous, View and Read");
        Assert.IsFalse(_access.Has("alice", Vm1, Privileges.GuestOperationsModify));
    }

    [TestMethod]
    public async Task TheMostSpecificEntityWins_NoAccessHidesOneVm()
    {
        await _store.SetPermissionsAsync([Entry(_inventory.RootFolder.Ref, "alice", AuthorizationStore.AdminRoleId, true)]);
        await _store.SetPermissionsAsync([Entry(Vm2.Ref, "alice", AuthorizationStore.NoAccessRoleId, true)]);
        Assert.IsTrue(_access.Has("alice", Vm1, Privileges.GuestOperationsExecute));
        Assert.IsFalse(_access.Has("alice", Vm2, Privileges.SystemView));
        Assert.IsFalse(_access.CanView("alice", Vm2));
        Assert.IsTrue(_access.CanView("alice", VmFolder));
    }

    [TestMethod]
    public async Task UserPermissionWinsOverGroupsOnTheSameEntity_GroupsAddUp()
    {
        var query = await _store.AddRoleAsync("q", GuestQuery);
        var execute = await _store.AddRoleAsync("x", [Privileges.GuestOperationsExecute]);
        await _store.SetPermissionsAsync([Entry(Vm1.Ref, "ops", query, true, group: true), Entry(Vm1.Ref, "audit", execute, true, group: true)]);
        Assert.IsTrue(_access.Has("alice", Vm1, Privileges.GuestOperationsQuery));
        Assert.IsTrue(_access.Has("alice", Vm1, Privileges.GuestOperationsExecute), "roles of several groups add up");

        await _store.SetPermissionsAsync([Entry(Vm1.Ref, "alice", AuthorizationStore.ReadOnlyRoleId, true)]);
        Assert.IsFalse(_access.Has("alice", Vm1, Privileges.GuestOperationsQuery), "the user's own permission wins over its groups'");
        Assert.IsTrue(_access.Has("alice", Vm1, Privileges.SystemRead));

        await _users.SetMembershipAsync("ops", "alice", member: false);
        await _store.RemovePermissionAsync(EntityPermissions.ToEntity(Vm1.Ref), "alice", isGroup: false);
        Assert.IsFalse(_access.Has("alice", Vm1, Privileges.GuestOperationsQuery), "membership changes apply at once");
        Assert.IsTrue(_access.Has("alice", Vm1, Privileges.GuestOperationsExecute));
    }

    [TestMethod]
    public async Task AGroupPermissionOnTheVmBeatsAUserPermissionOnAnAncestor()
    {
        await _store.SetPermissionsAsync([Entry(_inventory.RootFolder.Ref, "alice", AuthorizationStore.AdminRoleId, true)]);
        await _store.SetPermissionsAsync([Entry(Vm1.Ref, "ops", AuthorizationStore.ReadOnlyRoleId, true, group: true)]);
        Assert.IsFalse(_access.Has("alice", Vm1, Privileges.GuestOperationsQuery));
        Assert.IsTrue(_access.Has("alice", Vm2, Privileges.GuestOperationsQuery));
    }

    [TestMethod]
    public async Task StoreRules_NamesPrivilegesLastAdmin_AndPersistence()
    {
        var id = await _store.AddRoleAsync("operator", GuestQuery);
        Assert.AreEqual(PermissionFault.AlreadyExists, (await Assert.ThrowsAsync<PermissionException>(async () => await _store.AddRoleAsync("operator", []))).Fault);
        Assert.AreEqual(PermissionFault.AlreadyExists, (await Assert.ThrowsAsync<PermissionException>(async () => await _store.AddRoleAsync("Admin", []))).Fault);
        Assert.AreEqual(PermissionFault.InvalidArgument, (await Assert.ThrowsAsync<PermissionException>(async () => await _store.AddRoleAsync("bad", ["No.Such.Privilege"]))).Fault);
        Assert.AreEqual(PermissionFault.MinimumAdminPermission, (await Assert.ThrowsAsync<PermissionException>(async () => await _store.RemovePermissionAsync(AuthorizationStore.RootFolder, "root", false))).Fault);
        Assert.AreEqual(PermissionFault.InvalidArgument, (await Assert.ThrowsAsync<PermissionException>(async () => await _store.RemoveRoleAsync(AuthorizationStore.AdminRoleId, false))).Fault);
        await _store.SetPermissionsAsync([Entry(Vm1.Ref, "ops", id, false, group: true)]);
        Assert.AreEqual(PermissionFault.RemoveFailed, (await Assert.ThrowsAsync<PermissionException>(async () => await _store.RemoveRoleAsync(id, failIfUsed: true))).Fault);
        await _store.UpdateRoleAsync(id, "operators", [Privileges.GuestOperationsModify]);

        var reopened = new AuthorizationStore(_state.FullName, _users);
        var role = reopened.Current.Role(id)!;
        Assert.AreEqual("operators", role.Name);
        Assert.Contains(Privileges.GuestOperationsModify, role.Privileges);
        Assert.DoesNotContain(Privileges.GuestOperationsQuery, role.Privileges);
        Assert.IsTrue(reopened.Current.Permissions.Any(p => p.Principal == "ops" && p.Group && p.RoleId == id && !p.Propagate));
        Assert.AreEqual(2, new UserStore(_state.FullName).GroupsOf("alice").Count, "groups and members persist");
    }

    [TestMethod]
    public async Task Authorizer_NoPermissionNamesTheVmAndTheMissingPrivileges_ForNewClientsAll()
    {
        var role = await _store.AddRoleAsync("q", GuestQuery);
        await _store.SetPermissionsAsync([Entry(Vm1.Ref, "alice", role, true)]);
        var session = await LoginAsync("alice");
        var strict = new EntityPermissions(new PermissionService(_store, _users, requireGuestControl: true));

        foreach (var (access, requireGuestControl, expected) in new[] { (_access, false, new[] { Privileges.GuestOperationsExecute }), (strict, true, new[] { Privileges.GuestOperationsExecute, Privileges.InteractGuestControl }) })
        {
            var authorizer = new VimCallAuthorizer(_inventory.SessionManager, _inventory, access);
            foreach (var (action, withList) in new[] { ("\"urn:vim25/6.7.1\"", false), ("urn:vim25/8.0.3.0", true) })
            {
                var call = GuestCall("StartProgramInGuest", session, action);
                var fault = (NoPermission)(await Assert.ThrowsAsync<VimFaultException>(async () => await authorizer.AuthorizeAsync(call))).Fault;
                Assert.AreEqual(Vm1.Ref, fault.@object);
                Assert.AreEqual(expected[0], fault.privilegeId);
                if (withList)
                {
                    CollectionAssert.AreEqual(expected, fault.missingPrivileges!.Single().privilegeIds);
                }
                else
                {
                    Assert.IsNull(fault.missingPrivileges, "clients older than 7.0.3.2 do not know missingPrivileges");
                }
            }

            var allowed = GuestCall("ListFilesInGuest", session, null);
            if (requireGuestControl)
            {
                await Assert.ThrowsAsync<VimFaultException>(async () => await authorizer.AuthorizeAsync(allowed));
            }
            else
            {
                await authorizer.AuthorizeAsync(allowed);
            }
        }
    }

    [TestMethod]
    public async Task LoginNeedsAPermission()
    {
        var e = await Assert.ThrowsAsync<VimFaultException>(() => LoginAsync("alice"));
        Assert.IsInstanceOfType<NoPermission>(e.Fault);
        await _store.SetPermissionsAsync([Entry(Vm2.Ref, "audit", AuthorizationStore.ReadOnlyRoleId, false, group: true)]);
        Assert.AreEqual("alice", (await LoginAsync("alice")).UserName);
    }

    private async Task<Session> LoginAsync(string user)
    {
        Assert.IsTrue(Catalog.TryGet("Login", out var op));
        var call = new VimCall(op, _inventory.SessionManager.Ref, [], new SoapRequestInfo(null, null, null), CancellationToken.None);
        using (_calls.Enter(call))
        {
            await _inventory.SessionManager.LoginAsync(call.This, user, "x", null);
        }

        return (Session)call.Session!;
    }

    private VimCall GuestCall(string operation, Session session, string? soapAction)
    {
        Assert.IsTrue(Catalog.TryGet(operation, out var op));
        var arguments = new object?[op.Parameters.Count];
        arguments[0] = new ManagedObjectReference("GuestProcessManager", "guestOperationsProcessManager");
        arguments[op.PrivilegeParameterIndex] = Vm1.Ref;
        return new VimCall(op, (ManagedObjectReference)arguments[0]!, arguments, new SoapRequestInfo(session.Key, null, null, soapAction), CancellationToken.None);
    }

    private static PermissionEntry Entry(ManagedObjectReference entity, string principal, int roleId, bool propagate, bool group = false) =>
        new(EntityPermissions.ToEntity(entity), principal, group, roleId, propagate);

    private static VmSnapshot Vm(string id, string name) => new(
        new VmConfiguration { Id = id, Name = name, Uuid = "uuid-" + id, InstanceUuid = "instance-" + id },
        VmPowerState.PoweredOn,
        DateTime.UtcNow,
        GuestAgentState.NotRunning);
}
