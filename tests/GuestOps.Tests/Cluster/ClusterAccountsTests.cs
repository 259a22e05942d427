using GuestOps.Cluster.Accounts;
using GuestOps.Cluster.Storage;
using GuestOps.Host.Authorization;
using GuestOps.Host.Inventory;
using GuestOps.Host.Sessions;
using GuestOps.Host.SharedState;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Orleans.Hosting;
using Orleans.TestingHost;

namespace GuestOps.Tests.Cluster;

/// <summary>
/// The cluster's users, groups, roles and permissions on a two-silo Orleans test cluster (in process, memory grain
/// storage): the first member seeds them, a later one adopts them; a change made at one member is current there at
/// once and at the other after its next refresh (never by a grain call per read); a change computed from a stale copy
/// is checked again against the latest document.
/// </summary>
[TestClass]
public sealed class ClusterAccountsTests
{
    private static readonly EntityRef Vm = new("VirtualMachine", "vm-1");
    private static TestCluster _cluster = null!;

    [ClassInitialize]
    public static async Task StartClusterAsync(TestContext _)
    {
        var builder = new TestClusterBuilder(2);
        builder.AddSiloBuilderConfigurator<SiloConfigurator>();
        _cluster = builder.Build();
        await _cluster.DeployAsync();
    }

    [ClassCleanup]
    public static async Task StopClusterAsync()
    {
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }
    }

    [TestMethod]
    public async Task FirstMemberSeeds_ALaterMemberAdoptsTheCluster_AndSeesChangesAfterARefresh()
    {
        var seed = new UserStore(new LocalDocument<UsersAndGroups>(new UsersAndGroups([], [])));
        await seed.SetAsync("root", "Administrator", "root-password");
        var seedAuthorization = new AuthorizationStore(null, seed);
        var a = new ClusterAccounts(Grains(0), seed.Document.Current.Value, seedAuthorization.Document.Current.Value, NullLogger<ClusterAccounts>.Instance);
        var b = new ClusterAccounts(Grains(1), new UsersAndGroups([], []), new AuthorizationFile([], [AuthorizationStore.AdminOnRoot("other")], AuthorizationStore.FirstCustomRoleId), NullLogger<ClusterAccounts>.Instance);
        await a.JoinAsync(CancellationToken.None); // joined, not started: the test refreshes B itself
        await b.JoinAsync(CancellationToken.None);
        var (usersA, usersB) = (new UserStore(a.Users), new UserStore(b.Users));
        var (rolesA, rolesB) = (new AuthorizationStore(a.Authorization), new AuthorizationStore(b.Authorization));
        Assert.IsNotNull(usersB.Verify("root", "root-password"), "the later member adopts the first member's users, not its own");
        Assert.IsTrue(rolesB.Current.Permissions.Any(p => p.Principal == "root"));
        Assert.IsFalse(rolesB.Current.Permissions.Any(p => p.Principal == "other"), "and its roles and permissions");

        Assert.IsTrue(await usersA.CreateAsync("alice", "Alice", "alice-password"));
        var role = await rolesA.AddRoleAsync("guest-query", [PrivilegeCatalog.GuestOperationsPrefix + "Query"]);
        await rolesA.SetPermissionsAsync([new PermissionEntry(Vm, "alice", false, role, true)]);
        Assert.IsNotNull(usersA.Find("alice"), "current at once where it was made");
        Assert.IsNull(usersB.Find("alice"), "reads at the other member take its copy: no grain call");

        await b.RefreshAsync(CancellationToken.None);
        Assert.IsNotNull(usersB.Verify("alice", "alice-password"));
        var permissions = new PermissionService(rolesB, usersB);
        Assert.Contains(PrivilegeCatalog.GuestOperationsPrefix + "Query", permissions.PrivilegesOn("alice", [Vm, AuthorizationStore.RootFolder]));
        Assert.IsTrue(await permissions.MayLogInAsync("alice"));
    }

    [TestMethod]
    public async Task AChangeFromAStaleCopy_IsCheckedAgainstTheLatestDocument()
    {
        var name = "roles-" + Guid.NewGuid().ToString("N");
        var seed = new AuthorizationFile([], [AuthorizationStore.AdminOnRoot("root")], AuthorizationStore.FirstCustomRoleId);
        var one = new ClusterDocument<AuthorizationFile>(Grains(0), name, AuthorizationStore.DocumentJson, seed);
        var two = new ClusterDocument<AuthorizationFile>(Grains(1), name, AuthorizationStore.DocumentJson, seed);
        await one.JoinAsync(CancellationToken.None);
        await two.JoinAsync(CancellationToken.None);
        var (storeOne, storeTwo) = (new AuthorizationStore(one), new AuthorizationStore(two));

        var first = await storeOne.AddRoleAsync("operators", []);
        var e = await Assert.ThrowsAsync<PermissionException>(async () => await storeTwo.AddRoleAsync("operators", []));
        Assert.AreEqual(PermissionFault.AlreadyExists, e.Fault, "the stale member's change ran again on the latest document");
        var second = await storeTwo.AddRoleAsync("auditors", []);
        Assert.AreNotEqual(first, second, "role ids are handed out once across the cluster");
        Assert.AreEqual(two.Current.Version, one.Current.Version + 1);

        await one.RefreshAsync(CancellationToken.None);
        Assert.HasCount(2, storeOne.Current.File.Roles);
        Assert.AreEqual(one.Current.Version, two.Current.Version);
    }

    private static IGrainFactory Grains(int silo) =>
        ((InProcessSiloHandle)_cluster.Silos[silo]).SiloHost.Services.GetRequiredService<IGrainFactory>();

    public sealed class SiloConfigurator : ISiloConfigurator
    {
        public void Configure(ISiloBuilder siloBuilder) => siloBuilder.AddMemoryGrainStorage(ClusterStorage.Name);
    }
}
