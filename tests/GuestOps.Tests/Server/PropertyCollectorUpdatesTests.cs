using GuestOps.Channel.Messages;
using GuestOps.Host;
using GuestOps.Host.Dispatch;
using GuestOps.Host.Sessions;
using GuestOps.Server.ManagedObjects;
using GuestOps.Soap;
using GuestOps.Vim;
using GuestOps.Vim.Contracts;

namespace GuestOps.Tests.Server;

/// <summary>CreateFilter / WaitForUpdatesEx / CheckForUpdates over a ContainerView of VMs, with a host agent whose VMs
/// the test changes and which notifies its changes (<see cref="ChangingHostAgent"/>).</summary>
[TestClass]
public sealed class PropertyCollectorUpdatesTests
{
    private static readonly VimOperationCatalog Catalog = new(VimContracts.All);
    private static readonly DirectoryInfo StateDirectory = Directory.CreateTempSubdirectory("guestops-pcu-");

    private readonly VimCallContext _calls = new();
    private readonly ChangingHostAgent _agent = new([Vm("vm-1", "alpha", ready: true), Vm("vm-2", "beta", ready: true), Vm("vm-3", "gamma", ready: false)]);
    private readonly Inventory _inventory;
    private readonly Session _session = new(new SessionInfo("key", "root", "Administrator", DateTime.UtcNow, DateTime.UtcNow, null, null, "en", 1));

    public PropertyCollectorUpdatesTests()
    {
        _inventory = new Inventory(_agent, _calls, new UserStore(StateDirectory.FullName), TimeProvider.System, new ServerIdentity("uuid"), TimeSpan.FromMinutes(30));
    }

    private PropertyCollector Collector => _inventory.PropertyCollector;

    [ClassCleanup]
    public static void Cleanup() => StateDirectory.Delete(recursive: true);

    [TestMethod]
    public async Task FirstWaitEntersEveryVm_ThenOnlyTheChangedPropertyOfTheChangedVm()
    {
        var filter = await CreateFilterAsync();

        var first = await Collector.WaitForUpdatesExAsync(This("WaitForUpdatesEx"), "", new WaitOptions { maxWaitSeconds = 0 });

        var update = first!.filterSet!.Single();
        Assert.AreEqual(filter, update.filter);
        CollectionAssert.AreEquivalent(new[] { "vm-1", "vm-2", "vm-3" }, update.objectSet!.Select(o => o.obj.Value).ToArray());
        Assert.IsTrue(update.objectSet!.All(o => o.kind == ObjectUpdateKind.Enter));
        var beta = update.objectSet!.Single(o => o.obj.Value == "vm-2");
        Assert.AreEqual("beta", beta.changeSet!.Single(c => c.name == "name").val);
        Assert.AreEqual(true, beta.changeSet!.Single(c => c.name == "guest.guestOperationsReady").val);
        Assert.AreEqual(VirtualMachinePowerState.PoweredOn, beta.changeSet!.Single(c => c.name == "runtime.powerState").val);

        _agent.Change("vm-2", vm => vm with { Agent = GuestAgentState.NotRunning });
        var second = await Collector.WaitForUpdatesExAsync(This("WaitForUpdatesEx"), first.version, new WaitOptions { maxWaitSeconds = 5 });

        var modify = second!.filterSet!.Single().objectSet!.Single();
        Assert.AreEqual(ObjectUpdateKind.Modify, modify.kind);
        Assert.AreEqual("vm-2", modify.obj.Value);
        CollectionAssert.AreEquivalent(new[] { "guest.guestOperationsReady", "guest.toolsRunningStatus" }, modify.changeSet!.Select(c => c.name).ToArray());
        Assert.AreEqual(false, modify.changeSet!.Single(c => c.name == "guest.guestOperationsReady").val);
        Assert.AreEqual(PropertyChangeOp.Assign, modify.changeSet!.Single(c => c.name == "guest.guestOperationsReady").op);
        Assert.AreNotEqual(first.version, second.version);
    }

    [TestMethod]
    public async Task NothingChanged_CheckAndShortWaitReturnNull_WithoutReadingAnyVm()
    {
        await CreateFilterAsync();
        var first = await Collector.WaitForUpdatesExAsync(This("WaitForUpdatesEx"), "", new WaitOptions { maxWaitSeconds = 0 });
        Assert.IsNull(await Collector.CheckForUpdatesAsync(This("CheckForUpdates"), first!.version));

        var wait = Collector.WaitForUpdatesExAsync(This("WaitForUpdatesEx"), first.version, new WaitOptions { maxWaitSeconds = 2 });
        await Task.Delay(200);
        var reads = _agent.VmReads; // the wait's first look is done
        var started = DateTime.UtcNow;
        Assert.IsNull(await wait);

        Assert.IsGreaterThanOrEqualTo(TimeSpan.FromSeconds(1.5), DateTime.UtcNow - started);
        Assert.AreEqual(reads, _agent.VmReads, "while nothing changes, a wait reads no VM");
    }

    [TestMethod]
    public async Task AWaitWakesOnTheHostAgentsNotification()
    {
        await CreateFilterAsync();
        var first = await Collector.WaitForUpdatesExAsync(This("WaitForUpdatesEx"), "", new WaitOptions { maxWaitSeconds = 0 });

        var wait = Collector.WaitForUpdatesExAsync(This("WaitForUpdatesEx"), first!.version, new WaitOptions { maxWaitSeconds = 60 });
        await Task.Delay(100);
        Assert.IsFalse(wait.IsCompleted);
        var changed = DateTime.UtcNow;
        _agent.Change("vm-3", vm => vm with { Configuration = vm.Configuration with { Name = "delta" } });

        var update = await wait.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.AreEqual("delta", update!.filterSet!.Single().objectSet!.Single().changeSet!.Single().val);
        Assert.IsLessThan(TimeSpan.FromSeconds(1), DateTime.UtcNow - changed);
    }

    [TestMethod]
    public async Task AVmAddedEnters_AVmRemovedLeaves()
    {
        await CreateFilterAsync();
        var first = await Collector.WaitForUpdatesExAsync(This("WaitForUpdatesEx"), "", new WaitOptions { maxWaitSeconds = 0 });

        _agent.Set([.. _agent.ListVirtualMachines().Where(vm => vm.Configuration.Id != "vm-1"), Vm("vm-4", "epsilon", ready: true)]);
        var second = await Collector.WaitForUpdatesExAsync(This("WaitForUpdatesEx"), first!.version, new WaitOptions { maxWaitSeconds = 5 });

        var objects = second!.filterSet!.Single().objectSet!;
        Assert.HasCount(2, objects);
        Assert.AreEqual(ObjectUpdateKind.Enter, objects.Single(o => o.obj.Value == "vm-4").kind);
        var leave = objects.Single(o => o.obj.Value == "vm-1");
        Assert.AreEqual(ObjectUpdateKind.Leave, leave.kind);
        Assert.IsNull(leave.changeSet);
    }

    [TestMethod]
    public async Task MaxObjectUpdatesTruncates_TheRestFollows()
    {
        await CreateFilterAsync();

        var first = await Collector.WaitForUpdatesExAsync(This("WaitForUpdatesEx"), "", new WaitOptions { maxWaitSeconds = 0, maxObjectUpdates = 2 });
        var second = await Collector.WaitForUpdatesExAsync(This("WaitForUpdatesEx"), first!.version, new WaitOptions { maxWaitSeconds = 0, maxObjectUpdates = 2 });

        Assert.IsTrue(first.truncated);
        Assert.HasCount(2, first.filterSet!.Single().objectSet!);
        Assert.IsNull(second!.truncated);
        Assert.HasCount(1, second.filterSet!.Single().objectSet!);
        CollectionAssert.AreEquivalent(new[] { "vm-1", "vm-2", "vm-3" }, first.filterSet!.Concat(second.filterSet!).SelectMany(f => f.objectSet!).Select(o => o.obj.Value).ToArray());
    }

    [TestMethod]
    public async Task UnknownVersionIsInvalidCollectorVersion()
    {
        await CreateFilterAsync();

        var e = await Assert.ThrowsAsync<VimFaultException>(() => Collector.WaitForUpdatesExAsync(This("WaitForUpdatesEx"), "41", new WaitOptions { maxWaitSeconds = 0 }));

        Assert.IsInstanceOfType<InvalidCollectorVersion>(e.Fault);
    }

    [TestMethod]
    public async Task DestroyedFilterIsGone_AndAWaitHasNothingToReport()
    {
        var filter = await CreateFilterAsync();
        var first = await Collector.WaitForUpdatesExAsync(This("WaitForUpdatesEx"), "", new WaitOptions { maxWaitSeconds = 0 });
        var found = (PropertyFilter)_inventory.Find(filter, _session)!;
        CollectionAssert.AreEqual(new[] { filter }, (ManagedObjectReference[])_inventory.PropertyCollector.Properties.Find("filter")!.Read(Collector, _calls.Current)!);

        await found.DestroyPropertyFilterAsync(This("DestroyPropertyFilter"));
        _agent.Change("vm-2", vm => vm with { Agent = GuestAgentState.NotRunning });

        Assert.IsNull(_inventory.Find(filter, _session));
        Assert.IsNull(await Collector.WaitForUpdatesExAsync(This("WaitForUpdatesEx"), first!.version, new WaitOptions { maxWaitSeconds = 0 }));
    }

    [TestMethod]
    public async Task CancelWaitForUpdatesEndsTheWaitWithRequestCanceled()
    {
        await CreateFilterAsync();
        var first = await Collector.WaitForUpdatesExAsync(This("WaitForUpdatesEx"), "", new WaitOptions { maxWaitSeconds = 0 });
        var wait = Collector.WaitForUpdatesExAsync(This("WaitForUpdatesEx"), first!.version, null);
        await Task.Delay(100);

        await Collector.CancelWaitForUpdatesAsync(This("CancelWaitForUpdates"));

        var e = await Assert.ThrowsAsync<VimFaultException>(() => wait.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.IsInstanceOfType<RequestCanceled>(e.Fault);
    }

    [TestMethod]
    public async Task UnknownPropertyFaultsAtCreateFilter()
    {
        var view = await _inventory.ViewManager.CreateContainerViewAsync(This("CreateContainerView"), _inventory.RootFolder.Ref, ["VirtualMachine"], true);

        var e = await Assert.ThrowsAsync<VimFaultException>(() => Collector.CreateFilterAsync(This("CreateFilter"), Spec(view, "runtime.nope"), partialUpdates: false));

        Assert.IsInstanceOfType<InvalidProperty>(e.Fault);
        Assert.IsEmpty(_session.Filters);
    }

    private async Task<ManagedObjectReference> CreateFilterAsync()
    {
        var view = await _inventory.ViewManager.CreateContainerViewAsync(This("CreateContainerView"), _inventory.RootFolder.Ref, ["VirtualMachine"], true);
        return await Collector.CreateFilterAsync(This("CreateFilter"), Spec(view, "name", "runtime.powerState", "guest.guestOperationsReady", "guest.toolsRunningStatus"), partialUpdates: false);
    }

    private static PropertyFilterSpec Spec(ManagedObjectReference view, params string[] paths) => new()
    {
        objectSet = [new ObjectSpec { obj = view, skip = true, selectSet = [new TraversalSpec { type = "ContainerView", path = "view" }] }],
        propSet = [new PropertySpec { type = "VirtualMachine", pathSet = paths }],
    };

    /// <summary>Makes a call of <paramref name="operation"/> current (as the dispatcher does) and returns its <c>_this</c>.</summary>
    private ManagedObjectReference This(string operation)
    {
        Assert.IsTrue(Catalog.TryGet(operation, out var op));
        var call = new VimCall(op, new ManagedObjectReference("PropertyCollector", "propertyCollector"), [], new SoapRequestInfo(null, null, null), CancellationToken.None)
        {
            Session = _session,
        };
        _calls.Enter(call);
        return call.This;
    }

    private static VmSnapshot Vm(string id, string name, bool ready) => new(
        new VmConfiguration { Id = id, Name = name, Uuid = "uuid-" + id, InstanceUuid = "instance-" + id },
        VmPowerState.PoweredOn,
        DateTime.UtcNow,
        ready ? new GuestAgentState { Running = true, OperationsReady = true, GuestFamily = "linuxGuest" } : GuestAgentState.NotRunning);

    /// <summary>A host agent whose VMs the test replaces, notifying each change as a cluster front end's poll does; counts
    /// the reads of single VMs (what reading a VM's properties costs).</summary>
    private sealed class ChangingHostAgent(VmSnapshot[] vms) : IHostAgent, IInventoryChanges
    {
        private VmSnapshot[] _vms = vms;
        private TaskCompletionSource _next = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _vmReads;

        public int VmReads => Volatile.Read(ref _vmReads);

        public Task NextChange => Volatile.Read(ref _next).Task;

        public void Set(VmSnapshot[] vms)
        {
            Volatile.Write(ref _vms, vms);
            Interlocked.Exchange(ref _next, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
        }

        public void Change(string id, Func<VmSnapshot, VmSnapshot> change) =>
            Set(_vms.Select(vm => vm.Configuration.Id == id ? change(vm) : vm).ToArray());

        public IReadOnlyList<VmSnapshot> ListVirtualMachines() => Volatile.Read(ref _vms);

        public VmSnapshot? GetVirtualMachine(string id)
        {
            Interlocked.Increment(ref _vmReads);
            return Volatile.Read(ref _vms).FirstOrDefault(vm => vm.Configuration.Id == id);
        }

        public Task<ChannelResponse> InvokeGuestAsync(string vmId, ChannelRequest request, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task<GuestDataCall> StartGuestDataCallAsync(string vmId, ChannelRequest request, CancellationToken cancellationToken) => throw new NotSupportedException();
    }
}
