using GuestOps.Host;
using GuestOps.Server.ManagedObjects;
using GuestOps.Host.Sessions;
using GuestOps.Soap;
using GuestOps.Vim;
using GuestOps.Vim.Contracts;
using Moq;

namespace GuestOps.Tests.Server;

[TestClass]
public sealed class PropertyCollectorTests
{
    private static readonly VimOperationCatalog Catalog = new(VimContracts.All);
    private static readonly DirectoryInfo StateDirectory = Directory.CreateTempSubdirectory("guestops-pc-");

    private readonly VimCallContext _calls = new();
    private readonly Inventory _inventory;
    private readonly Session _session;

    public PropertyCollectorTests()
    {
        var agent = new Mock<IHostAgent>();
        var vms = new[] { Vm("vm-1", "alpha", "10.0.0.1"), Vm("vm-2", "beta", "10.0.0.2"), Vm("vm-3", "gamma", null) };
        agent.Setup(a => a.ListVirtualMachines()).Returns(vms);
        agent.Setup(a => a.GetVirtualMachine(It.IsAny<string>())).Returns((string id) => vms.FirstOrDefault(v => v.Configuration.Id == id));
        _inventory = new Inventory(agent.Object, _calls, new UserStore(StateDirectory.FullName), TimeProvider.System, new ServerIdentity("uuid"), TimeSpan.FromMinutes(30));
        _session = new Session(new SessionInfo("key", "root", "Administrator", DateTime.UtcNow, DateTime.UtcNow, null, null, "en", 1));
    }

    [ClassCleanup]
    public static void Cleanup() => StateDirectory.Delete(recursive: true);

    [TestMethod]
    public async Task FolderListingWithSkipReturnsChildrenOfMatchingTypesOnly()
    {
        var spec = Spec(_inventory.Datacenter.VmFolder.Ref, skip: true,
            [new TraversalSpec { type = "Folder", path = "childEntity" }],
            new PropertySpec { type = "VirtualMachine", pathSet = ["name"] },
            new PropertySpec { type = "Datastore", pathSet = ["name"] });

        var result = await _inventory.PropertyCollector.RetrievePropertiesAsync(This("RetrieveProperties"), [spec]);

        CollectionAssert.AreEqual(new[] { "alpha", "beta", "gamma" }, result.Select(o => (string)o.propSet![0].val!).ToArray());
    }

    [TestMethod]
    public async Task NamedRecursionWalksParentsToTheRoot()
    {
        // govc's traverseParent spec (wire capture govc/008).
        var traverseParent = new TraversalSpec { name = "traverseParent", type = "ManagedEntity", path = "parent", selectSet = [new SelectionSpec { name = "traverseParent" }] };
        var spec = Spec(new ManagedObjectReference("VirtualMachine", "vm-2"), skip: false, [traverseParent],
            new PropertySpec { type = "ManagedEntity", pathSet = ["name", "parent"] });

        var result = await _inventory.PropertyCollector.RetrievePropertiesAsync(This("RetrieveProperties"), [spec]);

        CollectionAssert.AreEqual(new[] { "beta", "vm", "ha-datacenter", "Datacenters" }, result.Select(o => (string)o.propSet!.Single(p => p.name == "name").val!).ToArray());
        Assert.IsNull(result.Last().propSet!.SingleOrDefault(p => p.name == "parent"), "the root folder has no parent: left out, not reported missing");
    }

    [TestMethod]
    public async Task DottedPathsAndUnsetValues()
    {
        var spec = Spec(new ManagedObjectReference("VirtualMachine", "vm-3"), skip: false, null,
            new PropertySpec { type = "VirtualMachine", pathSet = ["runtime.powerState", "guest.ipAddress", "config.uuid", "summary.config.name"] });

        var content = (await _inventory.PropertyCollector.RetrievePropertiesAsync(This("RetrieveProperties"), [spec])).Single();

        Assert.AreEqual(VirtualMachinePowerState.PoweredOn, content.propSet!.Single(p => p.name == "runtime.powerState").val);
        Assert.AreEqual("uuid-vm-3", content.propSet!.Single(p => p.name == "config.uuid").val);
        Assert.AreEqual("gamma", content.propSet!.Single(p => p.name == "summary.config.name").val);
        Assert.IsFalse(content.propSet!.Any(p => p.name == "guest.ipAddress"));
        Assert.IsNull(content.missingSet);
    }

    [TestMethod]
    public async Task UnknownPathIsInvalidProperty()
    {
        var spec = Spec(new ManagedObjectReference("VirtualMachine", "vm-1"), skip: false, null, new PropertySpec { type = "VirtualMachine", pathSet = ["runtime.nope"] });

        var e = await Assert.ThrowsAsync<VimFaultException>(() => _inventory.PropertyCollector.RetrievePropertiesAsync(This("RetrieveProperties"), [spec]));

        Assert.IsInstanceOfType<InvalidProperty>(e.Fault);
    }

    [TestMethod]
    public async Task MaxObjectsPagesWithAToken()
    {
        var view = await _inventory.ViewManager.CreateContainerViewAsync(This("CreateContainerView"), _inventory.RootFolder.Ref, ["VirtualMachine"], true);
        var spec = Spec(view, skip: true, [new TraversalSpec { type = "ContainerView", path = "view" }], new PropertySpec { type = "VirtualMachine", pathSet = ["name"] });

        var first = await _inventory.PropertyCollector.RetrievePropertiesExAsync(This("RetrievePropertiesEx"), [spec], new RetrieveOptions { maxObjects = 2 });
        var rest = await _inventory.PropertyCollector.ContinueRetrievePropertiesExAsync(This("ContinueRetrievePropertiesEx"), first!.token!);

        Assert.HasCount(2, first.objects);
        Assert.HasCount(1, rest.objects);
        Assert.IsNull(rest.token);
        await Assert.ThrowsAsync<VimFaultException>(() => _inventory.PropertyCollector.ContinueRetrievePropertiesExAsync(This("ContinueRetrievePropertiesEx"), first.token!));
    }

    [TestMethod]
    public async Task ContinuationPagesKeepTheFirstPageSize()
    {
        var view = await _inventory.ViewManager.CreateContainerViewAsync(This("CreateContainerView"), _inventory.RootFolder.Ref, ["VirtualMachine"], true);
        var spec = Spec(view, skip: true, [new TraversalSpec { type = "ContainerView", path = "view" }], new PropertySpec { type = "VirtualMachine", pathSet = ["name"] });

        var page = await _inventory.PropertyCollector.RetrievePropertiesExAsync(This("RetrievePropertiesEx"), [spec], new RetrieveOptions { maxObjects = 1 });
        var names = new List<string> { (string)page!.objects[0].propSet![0].val! };
        while (page.token is { } token)
        {
            page = await _inventory.PropertyCollector.ContinueRetrievePropertiesExAsync(This("ContinueRetrievePropertiesEx"), token);
            Assert.HasCount(1, page.objects);
            names.Add((string)page.objects[0].propSet![0].val!);
        }

        CollectionAssert.AreEqual(new[] { "alpha", "beta", "gamma" }, names);
    }

    [TestMethod]
    public async Task MissingObjectIsManagedObjectNotFoundUnlessReported()
    {
        var spec = Spec(new ManagedObjectReference("VirtualMachine", "vm-99"), skip: false, null, new PropertySpec { type = "VirtualMachine", pathSet = ["name"] });

        var e = await Assert.ThrowsAsync<VimFaultException>(() => _inventory.PropertyCollector.RetrievePropertiesAsync(This("RetrieveProperties"), [spec]));
        Assert.IsInstanceOfType<ManagedObjectNotFound>(e.Fault);

        spec.reportMissingObjectsInResults = true;
        var reported = await _inventory.PropertyCollector.RetrievePropertiesAsync(This("RetrieveProperties"), [spec]);
        Assert.IsInstanceOfType<ManagedObjectNotFound>(reported.Single().missingSet!.Single().fault.fault);
    }

    [TestMethod]
    public async Task WithoutSessionOnlyAnonymousPropertiesAreReadable()
    {
        var anonymous = This("RetrieveProperties", session: false);
        var current = Spec(_inventory.SessionManager.Ref, skip: false, null, new PropertySpec { type = "SessionManager", pathSet = ["currentSession"] });
        var content = (await _inventory.PropertyCollector.RetrievePropertiesAsync(anonymous, [current])).Single();
        Assert.IsNull(content.propSet, "currentSession is unset without a session");

        var vm = Spec(new ManagedObjectReference("VirtualMachine", "vm-1"), skip: false, null, new PropertySpec { type = "VirtualMachine", pathSet = ["name"] });
        var e = await Assert.ThrowsAsync<VimFaultException>(() => _inventory.PropertyCollector.RetrievePropertiesAsync(anonymous, [vm]));
        Assert.IsInstanceOfType<NotAuthenticated>(e.Fault);
    }

    [TestMethod]
    public async Task SearchIndexFindsByPathUuidAndIp()
    {
        var @this = This("FindByInventoryPath");
        Assert.AreEqual("vm-2", (await _inventory.SearchIndex.FindByInventoryPathAsync(@this, "/ha-datacenter/vm/beta/"))!.Value);
        Assert.IsNull(await _inventory.SearchIndex.FindByInventoryPathAsync(@this, "ha-datacenter/vm/nope"));
        Assert.AreEqual("vm-1", (await _inventory.SearchIndex.FindByUuidAsync(@this, null, "UUID-VM-1", true, null))!.Value);
        Assert.AreEqual("vm-1", (await _inventory.SearchIndex.FindByUuidAsync(@this, null, "instance-vm-1", true, true))!.Value);
        Assert.AreEqual("vm-2", (await _inventory.SearchIndex.FindByIpAsync(@this, null, "10.0.0.2", true))!.Value);
        Assert.AreEqual("vm-1", (await _inventory.SearchIndex.FindByDnsNameAsync(@this, null, "alpha.local", true))!.Value);
        Assert.AreEqual("vm-3", (await _inventory.SearchIndex.FindChildAsync(@this, _inventory.Datacenter.VmFolder.Ref, "gamma"))!.Value);
    }

    /// <summary>Makes a call of <paramref name="operation"/> current (as the dispatcher does) and returns its <c>_this</c>.</summary>
    private ManagedObjectReference This(string operation, bool session = true)
    {
        Assert.IsTrue(Catalog.TryGet(operation, out var op));
        var call = new VimCall(op, new ManagedObjectReference("PropertyCollector", "propertyCollector"), [], new SoapRequestInfo(null, null, null), CancellationToken.None)
        {
            Session = session ? _session : null,
        };
        _calls.Enter(call);
        return call.This;
    }

    private static PropertyFilterSpec Spec(ManagedObjectReference obj, bool skip, SelectionSpec[]? selectSet, params PropertySpec[] propSet) => new()
    {
        objectSet = [new ObjectSpec { obj = obj, skip = skip, selectSet = selectSet }],
        propSet = propSet,
    };

    private static VmSnapshot Vm(string id, string name, string? ip) => new(
        new VmConfiguration { Id = id, Name = name, Uuid = "uuid-" + id, InstanceUuid = "instance-" + id },
        VmPowerState.PoweredOn,
        DateTime.UtcNow,
        ip is null ? GuestAgentState.NotRunning : new GuestAgentState { Running = true, OperationsReady = true, IpAddress = ip, HostName = name + ".local", GuestFamily = "linuxGuest" });
}
