using GuestOps.Cluster.Accounts;
using GuestOps.Cluster.Events;
using GuestOps.Cluster.Sessions;
using GuestOps.Cluster.Storage;
using GuestOps.Cluster.Transfers;
using GuestOps.Host.Authorization;
using GuestOps.Host.Events;
using GuestOps.Host.Inventory;
using GuestOps.Host.Sessions;
using GuestOps.Host.SharedState;
using GuestOps.Host.Transfers;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Orleans.Hosting;
using Orleans.TestingHost;

namespace GuestOps.Tests.Cluster;

/// <summary>
/// The cluster's sessions, transfer tokens and events on a two-silo Orleans test cluster (in process, memory grain
/// storage): what one member stores, the other finds; a transfer URL works once, wherever it is used, and not after it
/// expires; every member appends to and reads the one event history; the first member seeds the users and roles, a
/// later one adopts them and sees a change after its next refresh (never by a grain call per read), and a change
/// computed from a stale copy is checked again against the latest document.
/// </summary>
[TestClass]
public sealed class ClusterGrainTests
{
    private static readonly EntityRef AccountsVm = new("VirtualMachine", "vm-1");
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
    public async Task Transfer_IssuedAtOneMember_IsRedeemedOnceAtAnother()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var one = new ClusterTransferTokens(Grains(0), time, TimeSpan.FromMinutes(10));
        var two = new ClusterTransferTokens(Grains(1), time, TimeSpan.FromMinutes(10));
        var issued = await one.IssueAsync(new TransferRequest("vm-1", GuestFileTransferDirection.ToGuest, "/tmp/x", "root", 5, "grant-1"));
        Assert.IsLessThan(1L << 52, issued.Id, "ids stay exact in JSON clients");

        var id = issued.Id.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var check = await two.CheckAsync(id, issued.Token);
        Assert.AreEqual(GuestFileTransferCheck.Valid, check.Result);
        Assert.AreEqual(new GuestFileTransfer(issued.Id, "vm-1", GuestFileTransferDirection.ToGuest, "/tmp/x", "root", 5, "grant-1", issued.Expires), check.Transfer);
        Assert.AreEqual(GuestFileTransferCheck.Forged, (await one.CheckAsync(id, issued.Token[..^2] + "AA")).Result);
        Assert.AreEqual(GuestFileTransferCheck.Malformed, (await one.CheckAsync("x" + id, issued.Token)).Result);

        Assert.IsTrue(await two.RedeemAsync(check.Transfer!), "the first redemption");
        Assert.IsFalse(await one.RedeemAsync(check.Transfer!), "a URL works once, at any member");
        Assert.AreEqual(GuestFileTransferCheck.Unknown, (await one.CheckAsync(id, issued.Token)).Result);
    }

    [TestMethod]
    public async Task Transfer_Expires_EverywhereAtOnce()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var one = new ClusterTransferTokens(Grains(0), time, TimeSpan.FromMinutes(10));
        var two = new ClusterTransferTokens(Grains(1), time, TimeSpan.FromMinutes(10));
        var issued = await one.IssueAsync(new TransferRequest("vm-2", GuestFileTransferDirection.FromGuest, "/etc/hostname", "demo", 0, "grant-2"));
        var id = issued.Id.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var transfer = (await two.CheckAsync(id, issued.Token)).Transfer!;

        time.Advance(TimeSpan.FromMinutes(10));
        Assert.IsFalse(await one.RedeemAsync(transfer), "an expired transfer cannot be redeemed");
        Assert.AreEqual(GuestFileTransferCheck.Expired, (await two.CheckAsync(id, issued.Token)).Result);
        Assert.AreEqual(GuestFileTransferCheck.Unknown, (await one.CheckAsync(id, issued.Token)).Result, "an expired transfer is dropped");
    }

    [TestMethod]
    public async Task Session_StartedAtOneMember_IsFoundTouchedAndEndedAtAnother()
    {
        var one = new GrainSessionTable(Grains(0));
        var two = new GrainSessionTable(Grains(1));
        var idle = TimeSpan.FromMinutes(30);
        var now = new DateTime(2026, 1, 2, 3, 4, 5, DateTimeKind.Utc);
        var key = Guid.NewGuid().ToString("D");
        await one.AddAsync(new SessionInfo(key, "root", "Administrator", now, now, "127.0.0.1", "pyVmomi", "en", 1));

        var found = await two.FindAsync(key, touch: true, now.AddMinutes(1), idle);
        Assert.IsNotNull(found);
        Assert.AreEqual(("root", 2L, now.AddMinutes(1)), (found.UserName, found.CallCount, found.LastActiveTime));
        Assert.AreEqual(found, await one.FindAsync(key, touch: false, now.AddMinutes(2), idle), "both members see the touch");
        CollectionAssert.AreEqual(Array.Empty<string>(), (await one.ExpiredAsync(now.AddMinutes(2), idle)).ToArray());
        CollectionAssert.AreEqual(new[] { key }, (await one.ExpiredAsync(now.AddMinutes(32), idle)).ToArray(), "idle for longer than the timeout");

        Assert.IsTrue(await two.RemoveAsync(key));
        Assert.IsFalse(await one.RemoveAsync(key), "already ended");
        Assert.IsNull(await one.FindAsync(key, touch: true, now.AddMinutes(3), idle));
    }

    [TestMethod]
    public async Task Session_IdleTooLong_IsRefusedAndEnded()
    {
        var table = new GrainSessionTable(Grains(1));
        var now = new DateTime(2026, 1, 2, 3, 4, 5, DateTimeKind.Utc);
        var key = Guid.NewGuid().ToString("D");
        await table.AddAsync(new SessionInfo(key, "root", "", now, now, null, null, "en", 1));
        Assert.IsNull(await table.FindAsync(key, touch: true, now.AddMinutes(31), TimeSpan.FromMinutes(30)));
        Assert.IsNull(await table.FindAsync(key, touch: false, now, TimeSpan.FromMinutes(30)), "ended, not only refused");
    }

    [TestMethod]
    public async Task Events_FromEveryMember_FormOneBoundedHistory()
    {
        var options = new EventHistoryOptions(SiloConfigurator.MaxEvents);
        var one = new ClusterEventHistory(Grains(0), options, NullLogger<ClusterEventHistory>.Instance);
        var two = new ClusterEventHistory(Grains(1), options, NullLogger<ClusterEventHistory>.Instance);
        var before = (await one.QueryAsync()).Count;
        EventRecord Event(string message) => new(0, DateTime.UtcNow, "root", "com.vmware.vc.guestOperations.GuestOperation", "info", message,
            new EventEntity("Datacenter", "datacenter-2", "ha-datacenter"), null, [new EventKeyValue("operation", message)], new EventFault("GuestPermissionDenied", "denied", "<x/>"));

        await one.AppendAsync(Event("a"));
        var first = (await one.QueryAsync())[^1];
        var second = await two.AppendAsync(Event("b"));
        var all = await two.QueryAsync();
        Assert.AreEqual(first.Key + 1, all[^1].Key, "one sequence of keys across members");
        Assert.AreEqual(Math.Min(before + 2, SiloConfigurator.MaxEvents), all.Count);
        IReadOnlyList<EventKeyValue> none = [];
        Assert.AreEqual(second with { Key = all[^1].Key, Arguments = none }, all[^1] with { Arguments = none }, "every field crosses");
        CollectionAssert.AreEqual(second.Arguments.ToArray(), all[^1].Arguments.ToArray());

        for (var i = 0; i < SiloConfigurator.MaxEvents; i++)
        {
            await one.AppendAsync(Event($"c{i}"));
        }

        await one.FlushAsync();

        Assert.HasCount(SiloConfigurator.MaxEvents, await two.QueryAsync(), "bounded: the oldest go first");
    }

    [TestMethod]
    public async Task FirstMemberSeeds_ALaterMemberAdoptsTheCluster_AndSeesChangesAfterARefresh()
    {
        var seed = new UserStore(new LocalDocument<UsersAndGroups>(new UsersAndGroups([], [])));
        await seed.SetAsync("root", "Administrator", "root-password");
        var seedAuthorization = new AuthorizationStore(null, seed);
        var a = new ClusterAccounts(Grains(0), seed.Document.Current.Value, seedAuthorization.Document.Current.Value);
        var b = new ClusterAccounts(Grains(1), new UsersAndGroups([], []), new AuthorizationFile([], [AuthorizationStore.AdminOnRoot("other")], AuthorizationStore.FirstCustomRoleId));
        var documentsB = new ClusterDocuments([b.Users, b.Authorization], NullLogger<ClusterDocuments>.Instance);
        await new ClusterDocuments([a.Users, a.Authorization], NullLogger<ClusterDocuments>.Instance).JoinAsync(CancellationToken.None); // joined, not started: the test refreshes B itself
        await documentsB.JoinAsync(CancellationToken.None);
        var (usersA, usersB) = (new UserStore(a.Users), new UserStore(b.Users));
        var (rolesA, rolesB) = (new AuthorizationStore(a.Authorization), new AuthorizationStore(b.Authorization));
        Assert.IsNotNull(usersB.Verify("root", "root-password"), "the later member adopts the first member's users, not its own");
        Assert.IsTrue(rolesB.Current.Permissions.Any(p => p.Principal == "root"));
        Assert.IsFalse(rolesB.Current.Permissions.Any(p => p.Principal == "other"), "and its roles and permissions");

        Assert.IsTrue(await usersA.CreateAsync("alice", "Alice", "alice-password"));
        var role = await rolesA.AddRoleAsync("guest-query", [PrivilegeCatalog.GuestOperationsPrefix + "Query"]);
        await rolesA.SetPermissionsAsync([new PermissionEntry(AccountsVm, "alice", false, role, true)]);
        Assert.IsNotNull(usersA.Find("alice"), "current at once where it was made");
        Assert.IsNull(usersB.Find("alice"), "reads at the other member take its copy: no grain call");

        await documentsB.RefreshAsync(CancellationToken.None);
        Assert.IsNotNull(usersB.Verify("alice", "alice-password"));
        var permissions = new PermissionService(rolesB, usersB);
        Assert.Contains(PrivilegeCatalog.GuestOperationsPrefix + "Query", permissions.PrivilegesOn("alice", [AccountsVm, AuthorizationStore.RootFolder]));
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
        public const int MaxEvents = 5;

        public void Configure(ISiloBuilder siloBuilder)
        {
            siloBuilder.AddMemoryGrainStorage(ClusterStorage.Name);
            siloBuilder.Services.AddSingleton(new EventHistoryOptions(MaxEvents));
        }
    }
}
