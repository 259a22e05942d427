using System.Globalization;
using GuestOps.IntegrationTests.Infrastructure;

namespace GuestOps.IntegrationTests.Authorization;

/// <summary>
/// AuthorizationManager and HostLocalAccountManager over SOAP on one server (no guests): their own privileges, their
/// vSphere faults, group permissions, what a user with a permission on one VM sees of the inventory, and users,
/// groups and roles surviving a restart.
/// </summary>
[TestClass]
public sealed class AuthorizationManagerTests : IntegrationTest
{
    private const string Password = "Authz-Test-Pa55!";

    private static readonly Moref Vm1 = Moref.Vm("vm-1");
    private static readonly Moref Vm2 = Moref.Vm("vm-2");

    [TestMethod]
    [Timeout(180_000)]
    public async Task RolesPermissionsAccountsAndInventoryVisibility_SurviveARestart()
    {
        var state = Directory.CreateTempSubdirectory("guestops-authz-").FullName;
        try
        {
            var options = new ServerOptions
            {
                StateDirectory = state,
                VirtualMachineNames = ["authz-1", "authz-2"],
                Environment = new Dictionary<string, string> { ["GUESTOPS_PROVIDER"] = "none" },
            };
            int operatorRole;
            await using (var server = await ServerProcess.StartAsync(options))
            {
                using var root = NewClient(server);
                await root.LoginOkAsync();

                // ServiceContent names the three managers; roleList and privilegeList read as properties.
                var content = (await root.CallAsync("RetrieveServiceContent", Moref.ServiceInstance)).ReturnValues("RetrieveServiceContent").Single();
                Assert.AreEqual("AuthorizationManager", (string?)content.Element(Soap.Vim + "authorizationManager"));
                Assert.AreEqual("EventManager", (string?)content.Element(Soap.Vim + "eventManager"));
                Assert.AreEqual("HostLocalAccountManager", (string?)content.Element(Soap.Vim + "accountManager"));
                var roles = await root.PostAsync(Soap.RetrievePropertiesEx(AuthorizationSoap.AuthorizationManager, null, "roleList", "privilegeList"), "roleList and privilegeList");
                var roleXml = roles.ReturnValues("RetrievePropertiesEx").Single().Descendants(Soap.Vim + "AuthorizationRole").ToList();
                foreach (var (id, name) in new[] { (-1, "Admin"), (-2, "ReadOnly"), (-5, "NoAccess") })
                {
                    Assert.IsTrue(roleXml.Any(r => AuthorizationSoap.Text(r, "roleId") == id.ToString(CultureInfo.InvariantCulture) && AuthorizationSoap.Text(r, "name") == name), $"system role {name} ({id})");
                }

                // Accounts and roles, with their faults.
                await AuthorizationSoap.CreateUserAsync(root, "bob", Password);
                await AuthorizationSoap.CreateUserAsync(root, "carol", Password);
                var again = await root.CallAsync("CreateUser", AuthorizationSoap.AccountManager, $"<user>{Soap.Element("id", "bob")}{Soap.Element("password", "x")}</user>");
                again.AssertFault("AlreadyExists");
                (await root.CallAsync("CreateGroup", AuthorizationSoap.AccountManager, $"<group>{Soap.Element("id", "operators")}</group>")).AssertOk("CreateGroup");
                (await root.CallAsync("AssignUserToGroup", AuthorizationSoap.AccountManager, Soap.Element("user", "carol") + Soap.Element("group", "operators"))).AssertOk("AssignUserToGroup");
                (await root.CallAsync("AssignUserToGroup", AuthorizationSoap.AccountManager, Soap.Element("user", "nobody") + Soap.Element("group", "operators"))).AssertFault("UserNotFound");
                operatorRole = await AuthorizationSoap.AddRoleAsync(root, "guest-operator", ["VirtualMachine.GuestOperations.Query", "VirtualMachine.GuestOperations.Modify"]);
                (await root.CallAsync("AddAuthorizationRole", AuthorizationSoap.AuthorizationManager, Soap.Element("name", "guest-operator"))).AssertFault("AlreadyExists");
                (await root.CallAsync("AddAuthorizationRole", AuthorizationSoap.AuthorizationManager, Soap.Element("name", "x") + Soap.Element("privIds", "No.Such"))).AssertFault("InvalidArgument");
                (await AuthorizationSoap.RemovePermissionAsync(root, Moref.RootFolder, "root")).AssertFault("AuthMinimumAdminPermission");
                (await AuthorizationSoap.SetPermissionsAsync(root, Vm1, AuthorizationSoap.Permission("ghost", operatorRole, true))).AssertFault("UserNotFound");

                // A user without any permission cannot log in (as on ESXi).
                using (var bob = NewClient(server))
                {
                    (await bob.LoginAsync("bob", Password)).AssertFault("NoPermission");
                }

                // bob: ReadOnly on vm-1 only. carol: through her group, the operator role on the VM folder.
                (await AuthorizationSoap.SetPermissionsAsync(root, Vm1, AuthorizationSoap.Permission("bob", -2, propagate: false))).AssertOk("SetEntityPermissions");
                (await AuthorizationSoap.SetPermissionsAsync(root, Moref.VmFolder, AuthorizationSoap.Permission("operators", operatorRole, propagate: true, group: true))).AssertOk("SetEntityPermissions");
                (await root.CallAsync("RemoveAuthorizationRole", AuthorizationSoap.AuthorizationManager, $"<roleId>{operatorRole}</roleId><failIfUsed>true</failIfUsed>")).AssertFault("RemoveFailed");
                var inherited = await root.CallAsync("RetrieveEntityPermissions", AuthorizationSoap.AuthorizationManager, Vm1.Xml("entity") + "<inherited>true</inherited>");
                var principals = inherited.ReturnValues("RetrieveEntityPermissions").Select(p => AuthorizationSoap.Text(p, "principal")).ToList();
                CollectionAssert.AreEquivalent(new[] { "bob", "operators", "root" }, principals);

                await AssertBobAndCarolAsync(server);
            }

            // The same state directory: users, groups, roles and permissions are back.
            await using (var server = await ServerProcess.StartAsync(options))
            {
                await AssertBobAndCarolAsync(server);
                using var root = NewClient(server);
                await root.LoginOkAsync();
                var all = await root.CallAsync("RetrieveAllPermissions", AuthorizationSoap.AuthorizationManager);
                Assert.IsTrue(all.ReturnValues("RetrieveAllPermissions").Any(p => AuthorizationSoap.Text(p, "principal") == "operators"
                    && AuthorizationSoap.Text(p, "group") == "true" && AuthorizationSoap.Text(p, "roleId") == operatorRole.ToString(CultureInfo.InvariantCulture)));
                (await root.CallAsync("RemoveGroup", AuthorizationSoap.AccountManager, Soap.Element("groupName", "operators"))).AssertOk("RemoveGroup");
                using var carol = NewClient(server);
                (await carol.LoginAsync("carol", Password)).AssertFault("NoPermission");
                await AssertStillServingAsync(server);
            }
        }
        finally
        {
            Directory.Delete(state, recursive: true);
        }
    }

    private async Task AssertBobAndCarolAsync(ServerProcess server)
    {
        using var bob = NewClient(server);
        var bobSession = await bob.LoginOkAsync("bob", Password);

        // bob sees vm-1 and the way to it, nothing else.
        var view = (await bob.CallAsync("CreateContainerView", Moref.ViewManager, Moref.RootFolder.Xml("container") + Soap.Element("type", "VirtualMachine") + "<recursive>true</recursive>"))
            .ReturnValues("CreateContainerView").Single();
        var members = await bob.PostAsync(Soap.RetrievePropertiesEx(Moref.From(view), null, "view"), "the view bob sees");
        var visible = members.ReturnValues("RetrievePropertiesEx").Single().Descendants(Soap.Vim + "ManagedObjectReference").Select(e => e.Value).ToList();
        CollectionAssert.AreEqual(new[] { "vm-1" }, visible);
        var found = await bob.CallAsync("FindByInventoryPath", Moref.SearchIndex, Soap.Element("inventoryPath", "ha-datacenter/vm/authz-2"));
        Assert.IsEmpty(found.ReturnValues("FindByInventoryPath"), "vm-2 is not bob's to find");
        var path = await bob.CallAsync("FindByInventoryPath", Moref.SearchIndex, Soap.Element("inventoryPath", "ha-datacenter/vm/authz-1"));
        Assert.AreEqual("vm-1", path.ReturnValues("FindByInventoryPath").Single().Value);

        // Management needs its privileges: NoPermission naming the manager and the privilege.
        var addRole = await bob.CallAsync("AddAuthorizationRole", AuthorizationSoap.AuthorizationManager, Soap.Element("name", "mine"));
        Assert.AreEqual("Authorization.ModifyRoles", (string?)addRole.AssertFault("NoPermission").Detail.Element(Soap.Vim + "privilegeId"));
        var createUser = await bob.CallAsync("CreateUser", AuthorizationSoap.AccountManager, $"<user>{Soap.Element("id", "eve")}{Soap.Element("password", "x")}</user>");
        Assert.AreEqual("Host.Local.ManageUserGroups", (string?)createUser.AssertFault("NoPermission").Detail.Element(Soap.Vim + "privilegeId"));
        var grant = await AuthorizationSoap.SetPermissionsAsync(bob, Vm1, AuthorizationSoap.Permission("bob", -1, true));
        Assert.AreEqual("Authorization.ModifyPermissions", (string?)grant.AssertFault("NoPermission").Detail.Element(Soap.Vim + "privilegeId"));

        // ReadOnly holds no guest privilege.
        (await GuestSoap.ListFilesAsync(bob, "vm-1", "demo", "x", "/")).AssertFault("NoPermission");
        CollectionAssert.AreEqual(new[] { true, false }, (await AuthorizationSoap.HasPrivilegeOnEntityAsync(bob, Vm1, bobSession, "System.Read", "VirtualMachine.GuestOperations.Query")).ToList());

        // carol, through her group, may query and modify on both VMs but not execute.
        using var carol = NewClient(server);
        var carolSession = await carol.LoginOkAsync("carol", Password);
        var listed = await GuestSoap.ListFilesAsync(carol, "vm-2", "demo", "x", "/");
        Assert.AreNotEqual("NoPermission", listed.ReadFault().Type, "a group permission propagated from the folder allows Query");
        CollectionAssert.AreEqual(new[] { true, true, false },
            (await AuthorizationSoap.HasPrivilegeOnEntityAsync(carol, Vm2, carolSession, "VirtualMachine.GuestOperations.Query", "VirtualMachine.GuestOperations.Modify", "VirtualMachine.GuestOperations.Execute")).ToList());
    }
}
