using GuestOps.Cluster.HostAgents;
using GuestOps.Host;
using GuestOps.Host.Sessions;
using GuestOps.Server.ManagedObjects;
using GuestOps.Soap;
using GuestOps.Vim;
using GuestOps.Vim.Contracts;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Moq;
using Orleans.Runtime.MembershipService.SiloMetadata;
using Orleans.Serialization;

namespace GuestOps.Tests.Cluster;

/// <summary>
/// What a front end keeps per VM of another host agent, measured on the managed heap (not RSS, which also counts
/// garbage the GC has not given back): 10,000 VMs without tools polled from one host agent, the inventory built on
/// them, a read of name, runtime.powerState and guest.guestOperationsReady of every VM through a ContainerView (what
/// cluster-scale's paged read asks), and the host agent polled again after one VM changed (only that VM crosses).
/// </summary>
[TestClass]
[DoNotParallelize]
public sealed class FrontEndMemoryTests
{
    private const int Vms = 10_000;

    /// <summary>The budget per VM; a front end's goal is 8 KiB of RSS a VM, and the rest of that is GC headroom.</summary>
    private const int BudgetBytes = 2048;

    private static readonly DirectoryInfo StateDirectory = Directory.CreateTempSubdirectory("guestops-mem-");

    [ClassCleanup]
    public static void Cleanup() => StateDirectory.Delete(recursive: true);

    [TestMethod]
    [Timeout(120_000)]
    public async Task TenThousandVmsOfAnotherHostAgent_RetainUnderTheBudgetPerVm()
    {
        var snapshots = Enumerable.Range(1, Vms).Select(i => new VmSnapshot(
            new VmConfiguration { Id = $"vm-{i}", Name = $"host-1-notools-{i}", Uuid = Guid.NewGuid().ToString(), InstanceUuid = Guid.NewGuid().ToString() },
            VmPowerState.PoweredOn,
            DateTime.UtcNow,
            GuestAgentState.NotRunning)).ToArray();
        // As they cross: every VM at the first poll, then only the one that changed; each received in Orleans' format.
        using var services = new ServiceCollection().AddSerializer(b => b.AddAssembly(typeof(HostAgentChanges).Assembly)).BuildServiceProvider();
        var serializer = services.GetRequiredService<Serializer>();
        byte[][] sent = [
            serializer.SerializeToArray(new HostAgentChanges(1, 1, true, snapshots, [], [])),
            serializer.SerializeToArray(new HostAgentChanges(1, 2, false, [snapshots[0] with { PowerState = VmPowerState.PoweredOff }], [], [])),
        ];
        var answers = new Queue<byte[]>(sent);
        var grain = new Mock<IHostAgentGrain>();
        grain.Setup(g => g.GetChangesAsync(It.IsAny<long>(), It.IsAny<long>())).Returns(() => Task.FromResult(serializer.Deserialize<HostAgentChanges>(answers.Dequeue())!));
        var grains = new Mock<IGrainFactory>();
        grains.Setup(f => f.GetGrain<IHostAgentGrain>("host-1", null)).Returns(grain.Object);
        var agent = new ClusterHostAgent(grains.Object, Mock.Of<IClusterMembershipService>(), Mock.Of<ISiloMetadataCache>(), null, NullLogger<ClusterHostAgent>.Instance);
        var live = new HashSet<string>(["host-1"], StringComparer.Ordinal);
        var calls = new VimCallContext();
        var users = new UserStore(StateDirectory.FullName);
        snapshots = null;

        var before = GC.GetTotalMemory(forceFullCollection: true);
        await agent.PollAsync(live, CancellationToken.None);
        var inventory = new Inventory(agent, calls, users, TimeProvider.System, new ServerIdentity("uuid", virtualCenter: true), TimeSpan.FromMinutes(30), hosts: agent);
        var session = new Session(new SessionInfo("key", "root", "Administrator", DateTime.UtcNow, DateTime.UtcNow, null, null, "en", 1));
        var view = await inventory.ViewManager.CreateContainerViewAsync(This(calls, session, "CreateContainerView"), inventory.RootFolder.Ref, ["VirtualMachine"], true);
        var spec = new PropertyFilterSpec
        {
            objectSet = [new ObjectSpec { obj = view, skip = true, selectSet = [new TraversalSpec { type = "ContainerView", path = "view" }] }],
            propSet = [new PropertySpec { type = "VirtualMachine", pathSet = ["name", "runtime.powerState", "guest.guestOperationsReady"] }],
        };
        Assert.HasCount(Vms, await inventory.PropertyCollector.RetrievePropertiesAsync(This(calls, session, "RetrieveProperties"), [spec]));
        await agent.PollAsync(live, CancellationToken.None);
        Assert.HasCount(Vms, await inventory.PropertyCollector.RetrievePropertiesAsync(This(calls, session, "RetrieveProperties"), [spec]));
        var after = GC.GetTotalMemory(forceFullCollection: true);
        GC.KeepAlive(sent); // in both figures: what the front end keeps, not what the test sent
        GC.KeepAlive(agent);
        GC.KeepAlive(inventory);
        GC.KeepAlive(session);

        var perVm = (after - before) / (double)Vms;
        Console.WriteLine($"front end heap kept per VM: {perVm:0} bytes ({Vms} VMs, {(after - before) / 1024.0 / 1024.0:0.0} MiB)");
        Assert.IsLessThan(BudgetBytes, perVm, $"{perVm:0} bytes a VM");
    }

    private static ManagedObjectReference This(VimCallContext calls, Session session, string operation)
    {
        Assert.IsTrue(new VimOperationCatalog(VimContracts.All).TryGet(operation, out var op));
        var call = new VimCall(op, new ManagedObjectReference("PropertyCollector", "propertyCollector"), [], new SoapRequestInfo(null, null, null), CancellationToken.None) { Session = session };
        calls.Enter(call);
        return call.This;
    }
}
