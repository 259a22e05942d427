using System.Diagnostics;
using GuestOps.Channel.Connection;
using GuestOps.Channel.Messages;
using GuestOps.Channel.Transport;
using GuestOps.Host;
using GuestOps.Host.Providers;
using GuestOps.Host.Sessions;
using GuestOps.Server.ManagedObjects;
using GuestOps.Soap;
using GuestOps.Vim;
using GuestOps.Vim.Contracts;
using Microsoft.Extensions.Logging.Abstractions;

namespace GuestOps.Tests.Host;

/// <summary>
/// The host agent signals its own changes (<see cref="HostAgent.NextChange"/>): a worker connecting and going away each
/// complete it, after the change is visible; <see cref="HostAgent.ChangesSince"/> answers only the VM that changed; and
/// the single process's PropertyCollector waits on that signal.
/// The worker is the test itself, connected to the VM's channel socket; the provider's "guest" is a sleeping process.
/// </summary>
[TestClass]
public sealed class HostAgentChangesTests
{
    private string _state = null!;

    public TestContext TestContext { get; set; } = null!;

    [TestInitialize]
    public void Setup() => _state = Directory.CreateTempSubdirectory("guestops-changes-").FullName;

    [TestCleanup]
    public void Cleanup() => Directory.Delete(_state, recursive: true);

    [TestMethod]
    [Timeout(60_000)]
    public async Task AWorkerConnectingAndGoingAway_IsSignalled_AndOnlyItsVmCrosses()
    {
        var ct = TestContext.CancellationToken;
        var provider = new SleepingProvider();
        await using var agent = Agent(provider);
        agent.Start();
        var held = agent.ChangesSince(0, 0);
        Assert.IsTrue(held.Full);
        Assert.HasCount(3, held.Changed);
        Assert.IsFalse(agent.ChangesSince(held.Epoch, held.Version).Full);
        Assert.IsEmpty(agent.ChangesSince(held.Epoch, held.Version).Changed, "nothing changed");

        var connected = agent.NextChange;
        Assert.IsFalse(connected.IsCompleted);
        var worker = await ConnectWorkerAsync(provider, ct);
        await connected.WaitAsync(ct);
        Assert.IsTrue(agent.GetVirtualMachine("vm-1")!.Agent.OperationsReady, "the change is visible when it is signalled");
        var ready = agent.ChangesSince(held.Epoch, held.Version);
        Assert.IsFalse(ready.Full);
        CollectionAssert.AreEqual(new[] { "vm-1" }, ready.Changed.Select(vm => vm.Configuration.Id).ToArray());
        Assert.IsTrue(ready.Changed[0].Agent.OperationsReady);

        var gone = agent.NextChange;
        await worker.DisposeAsync();
        await gone.WaitAsync(ct);
        Assert.IsFalse(agent.GetVirtualMachine("vm-1")!.Agent.OperationsReady);
        var notReady = agent.ChangesSince(ready.Epoch, ready.Version);
        CollectionAssert.AreEqual(new[] { "vm-1" }, notReady.Changed.Select(vm => vm.Configuration.Id).ToArray());
        Assert.IsFalse(notReady.Changed[0].Agent.OperationsReady);
    }

    /// <summary>The single process: the PropertyCollector's wait wakes on the host agent's signal, not on a timer (it
    /// would look again only after <see cref="PropertyCollector.NotifiedRecheckInterval"/>).</summary>
    [TestMethod]
    [Timeout(60_000)]
    public async Task TheSingleProcess_WaitForUpdatesEx_WakesOnTheHostAgentsSignal()
    {
        var ct = TestContext.CancellationToken;
        var provider = new SleepingProvider();
        await using var agent = Agent(provider);
        agent.Start();
        var calls = new VimCallContext();
        var inventory = new Inventory(agent, calls, new UserStore(_state), TimeProvider.System, new ServerIdentity("uuid"), TimeSpan.FromMinutes(30));
        Assert.IsNotNull(inventory.NextChange, "the host agent notifies its changes");
        var session = new Session(new SessionInfo("key", "root", "Administrator", DateTime.UtcNow, DateTime.UtcNow, null, null, "en", 1));
        var collector = inventory.PropertyCollector;
        var view = await inventory.ViewManager.CreateContainerViewAsync(This(calls, session, "CreateContainerView"), inventory.RootFolder.Ref, ["VirtualMachine"], true);
        await collector.CreateFilterAsync(This(calls, session, "CreateFilter"), new PropertyFilterSpec
        {
            objectSet = [new ObjectSpec { obj = view, skip = true, selectSet = [new TraversalSpec { type = "ContainerView", path = "view" }] }],
            propSet = [new PropertySpec { type = "VirtualMachine", pathSet = ["guest.guestOperationsReady"] }],
        }, partialUpdates: false);
        var first = await collector.WaitForUpdatesExAsync(This(calls, session, "WaitForUpdatesEx"), "", new WaitOptions { maxWaitSeconds = 0 });
        var waiting = collector.WaitForUpdatesExAsync(This(calls, session, "WaitForUpdatesEx"), first!.version, new WaitOptions { maxWaitSeconds = 30 });
        await Task.Delay(300, ct); // the wait has looked and sleeps

        await using var worker = await ConnectWorkerAsync(provider, ct);
        var connected = Stopwatch.StartNew();
        var update = await waiting.WaitAsync(ct);
        var after = connected.Elapsed;

        var modify = update!.filterSet!.Single().objectSet!.Single();
        Assert.AreEqual("vm-1", modify.obj.Value);
        Assert.AreEqual(true, modify.changeSet!.Single().val);
        Assert.IsLessThan(PropertyCollector.NotifiedRecheckInterval / 2, after, "woken by the signal");
    }

    [TestMethod]
    public async Task StartingAnEchoVm_IsSignalled()
    {
        await using var agent = new HostAgent(
            [Vm("vm-echo", VmTools.Echo)],
            new HostAgentOptions { StateDirectory = _state },
            TimeProvider.System,
            NullLoggerFactory.Instance);
        var held = agent.ChangesSince(0, 0);
        Assert.IsFalse(held.Changed[0].Agent.OperationsReady);
        var started = agent.NextChange;
        agent.Start();
        Assert.IsTrue(started.IsCompleted);
        Assert.IsTrue(agent.ChangesSince(held.Epoch, held.Version).Changed.Single().Agent.OperationsReady);
    }

    /// <summary>A host agent of three VMs: vm-1 with a worker (the test connects as it), two without tools.</summary>
    private HostAgent Agent(SleepingProvider provider) => new(
        [Vm("vm-1", VmTools.Worker), Vm("vm-2", VmTools.None), Vm("vm-3", VmTools.None)],
        new HostAgentOptions { StateDirectory = _state, Provider = provider, WorkerPath = "/nonexistent/guestops-tools" },
        TimeProvider.System,
        NullLoggerFactory.Instance);

    private static async Task<ChannelConnection> ConnectWorkerAsync(SleepingProvider provider, CancellationToken ct)
    {
        var channel = await provider.ChannelDirectory.Task.WaitAsync(ct);
        var transport = await new UnixSocketChannelConnector(Path.Combine(channel, "channel.sock")).ConnectAsync(ct);
        return await ChannelConnection.EstablishAsync(
            transport.Stream,
            new ChannelConnectionOptions { Role = ChannelRole.Worker, Software = "test-worker", HeartbeatInterval = TimeSpan.Zero, HandshakeTimeout = TimeSpan.FromSeconds(10) },
            ct);
    }

    /// <summary>Makes a call of <paramref name="operation"/> current (as the dispatcher does) and returns its <c>_this</c>.</summary>
    private static ManagedObjectReference This(VimCallContext calls, Session session, string operation)
    {
        Assert.IsTrue(new VimOperationCatalog(VimContracts.All).TryGet(operation, out var op));
        var call = new VimCall(op, new ManagedObjectReference("PropertyCollector", "propertyCollector"), [], new SoapRequestInfo(null, null, null), CancellationToken.None) { Session = session };
        calls.Enter(call);
        return call.This;
    }

    private static VmDefinition Vm(string id, VmTools tools) => new(
        new VmConfiguration { Id = id, Name = id + "-name", Uuid = Guid.NewGuid().ToString(), InstanceUuid = Guid.NewGuid().ToString() },
        [],
        Tools: tools);

    /// <summary>A guest that only sleeps: the test connects as its worker, to the channel directory it publishes.</summary>
    private sealed class SleepingProvider : IVmProvider
    {
        public TaskCompletionSource<string> ChannelDirectory { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public string Name => "sleeping";

        public string Isolation => "none";

        public Process Start(VmLaunch launch)
        {
            ChannelDirectory.TrySetResult(launch.ChannelDirectory);
            return Process.Start(new ProcessStartInfo("sleep", "600") { UseShellExecute = false })!;
        }
    }
}
