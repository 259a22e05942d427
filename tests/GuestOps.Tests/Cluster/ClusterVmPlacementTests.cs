using GuestOps.Cluster.HostAgents;
using GuestOps.Host;
using GuestOps.Host.Dispatch;
using Microsoft.Extensions.Logging.Abstractions;
using Moq;
using Orleans.Runtime.MembershipService.SiloMetadata;

namespace GuestOps.Tests.Cluster;

/// <summary>
/// An external VM configured on two host agents, as a front end sees it: listed once, at the host agent where its
/// worker is connected; when that host agent is lost and the worker connects to the other one, the VM and its calls
/// move there, and stay there when the first comes back without the worker.
/// </summary>
[TestClass]
public sealed class ClusterVmPlacementTests
{
    private const string VmId = "vm-ext";

    private readonly Dictionary<string, Func<Task<HostAgentChanges>>> _answers = new(StringComparer.Ordinal);

    private static readonly HashSet<string> Both = new(["esx-a", "esx-b"], StringComparer.Ordinal);

    private static VmSnapshot Vm(bool ready) => new(
        new VmConfiguration { Id = VmId, Name = "db-01", Uuid = "u", InstanceUuid = "i" },
        VmPowerState.PoweredOn,
        null,
        ready ? new GuestAgentState { Running = true, OperationsReady = true } : GuestAgentState.NotRunning);

    private ClusterHostAgent NewAgent()
    {
        var grains = new Mock<IGrainFactory>();
        foreach (var host in Both)
        {
            var grain = new Mock<IHostAgentGrain>();
            grain.Setup(g => g.GetChangesAsync(It.IsAny<long>(), It.IsAny<long>())).Returns(() => _answers[host]());
            grains.Setup(f => f.GetGrain<IHostAgentGrain>(host, null)).Returns(grain.Object);
        }

        return new ClusterHostAgent(grains.Object, Mock.Of<IClusterMembershipService>(), Mock.Of<ISiloMetadataCache>(), null, NullLogger<ClusterHostAgent>.Instance);
    }

    private long _version;

    private void Answer(string host, bool ready)
    {
        var version = ++_version;
        _answers[host] = () => Task.FromResult(new HostAgentChanges(1, version, true, [Vm(ready)], [], [$"https://{host}:8443"]));
    }

    private void Fail(string host) => _answers[host] = () => Task.FromException<HostAgentChanges>(new SiloUnavailableException("gone"));

    private static void AssertPlaced(ClusterHostAgent agent, string host, bool ready, string because)
    {
        Assert.HasCount(1, agent.ListVirtualMachines(), because + ": listed once");
        Assert.AreEqual(host, agent.HostNameOf(VmId), because);
        Assert.AreEqual(ready, agent.GetVirtualMachine(VmId)!.Agent.OperationsReady, because);
        Assert.AreSame(agent.ListVirtualMachines()[0], agent.GetVirtualMachine(VmId), because);
    }

    [TestMethod]
    [Timeout(60_000)]
    public async Task AVmTwoHostAgentsList_IsWhereItsWorkerIs_AndStaysThereWhenTheOtherReturns()
    {
        var agent = NewAgent();
        Answer("esx-a", ready: false);
        Answer("esx-b", ready: false);
        await agent.PollAsync(Both, CancellationToken.None);
        AssertPlaced(agent, "esx-a", ready: false, "no worker anywhere: the first host agent by name");

        Answer("esx-b", ready: true);
        await agent.PollAsync(Both, CancellationToken.None);
        AssertPlaced(agent, "esx-b", ready: true, "the worker connected to esx-b");
        Assert.AreEqual("https://esx-b:8443", agent.GuestFileServer(VmId, https: true), "its transfers go there too");

        // esx-b is lost; the worker reconnects to esx-a.
        Fail("esx-b");
        await agent.PollAsync(Both, CancellationToken.None);
        AssertPlaced(agent, "esx-a", ready: false, "esx-b lost: the host agent that still answers");
        Answer("esx-a", ready: true);
        await agent.PollAsync(Both, CancellationToken.None);
        AssertPlaced(agent, "esx-a", ready: true, "the worker reconnected to esx-a");

        // esx-b comes back without the worker (and is first by name neither way): the VM stays.
        Answer("esx-b", ready: false);
        await agent.PollAsync(Both, CancellationToken.None);
        AssertPlaced(agent, "esx-a", ready: true, "esx-b back without the worker: no move");
    }

    [TestMethod]
    public void Prefers_ReadyThenConnectedThenFirstByName()
    {
        (string, bool, VmSnapshot) A(bool connected, bool ready) => ("esx-a", connected, Vm(ready));
        (string, bool, VmSnapshot) B(bool connected, bool ready) => ("esx-b", connected, Vm(ready));
        Assert.IsFalse(ClusterHostAgent.Prefers(A(true, false), B(true, true)), "ready wins");
        Assert.IsTrue(ClusterHostAgent.Prefers(A(false, true), B(true, false)), "ready wins over connected");
        Assert.IsFalse(ClusterHostAgent.Prefers(A(false, false), B(true, false)), "then a host agent that answers");
        Assert.IsTrue(ClusterHostAgent.Prefers(A(true, false), B(true, false)), "then the first by name");
        Assert.IsFalse(ClusterHostAgent.Prefers(B(true, false), A(true, false)), "whichever is asked first");
    }
}
