using GuestOps.Host;
using GuestOps.Host.Inventory;
using GuestOps.Host.Sessions;
using GuestOps.Server.ManagedObjects;
using GuestOps.Soap;
using GuestOps.Vim;
using GuestOps.Vim.Contracts;
using Moq;

namespace GuestOps.Tests.Server;

/// <summary>
/// The inventory of a cluster's front end, shaped as vCenter shows it: apiType VirtualCenter, a compute resource with
/// its HostSystem per host agent under the datacenter's host folder, every VM's runtime.host naming its HostSystem
/// (disconnected while that host agent does not answer), and SearchIndex.FindByInventoryPath over all hosts.
/// </summary>
[TestClass]
public sealed class ClusterInventoryTests
{
    private static readonly VimOperationCatalog Catalog = new(VimContracts.All);
    private static readonly DirectoryInfo StateDirectory = Directory.CreateTempSubdirectory("guestops-ci-");

    private readonly VimCallContext _calls = new();
    private readonly Inventory _inventory;
    private readonly Session _session;
    private HostSystemInfo[] _hosts = [new("esx-a", true), new("esx-b", true)];

    public ClusterInventoryTests()
    {
        var vms = new[] { Vm("vm-a1", "alpha"), Vm("vm-a2", "beta"), Vm("vm-b1", "gamma") };
        var agent = new Mock<IHostAgent>();
        agent.Setup(a => a.ListVirtualMachines()).Returns(vms);
        agent.Setup(a => a.GetVirtualMachine(It.IsAny<string>())).Returns((string id) => vms.FirstOrDefault(v => v.Configuration.Id == id));
        var hosts = new Mock<IHostSystems>();
        hosts.Setup(h => h.HostSystems).Returns(() => _hosts);
        hosts.Setup(h => h.HostNameOf(It.IsAny<string>())).Returns((string id) => id.StartsWith("vm-a", StringComparison.Ordinal) ? "esx-a" : "esx-b");
        _inventory = new Inventory(agent.Object, _calls, new UserStore(StateDirectory.FullName), TimeProvider.System, new ServerIdentity("uuid", virtualCenter: true), TimeSpan.FromMinutes(30), hosts: hosts.Object);
        _session = new Session(new SessionInfo("key", "root", "Administrator", DateTime.UtcNow, DateTime.UtcNow, null, null, "en", 1));
    }

    [ClassCleanup]
    public static void Cleanup() => StateDirectory.Delete(recursive: true);

    [TestMethod]
    public void About_IsVirtualCenter()
    {
        Assert.AreEqual("VirtualCenter", new ServerIdentity("uuid", virtualCenter: true).About.apiType);
        Assert.AreEqual("HostAgent", new ServerIdentity("uuid").About.apiType, "the single process stays an ESXi host");
    }

    [TestMethod]
    public async Task HostFolder_HoldsAComputeResourceAndHostSystemPerHostAgent_WithItsVms()
    {
        // The traversal vCenter clients send: host folder -> compute resources -> their hosts.
        var spec = Spec(_inventory.Datacenter.HostFolder.Ref, skip: true,
            [
                new TraversalSpec { type = "Folder", path = "childEntity", selectSet = [new SelectionSpec { name = "toHost" }] },
                new TraversalSpec { name = "toHost", type = "ComputeResource", path = "host" },
            ],
            new PropertySpec { type = "HostSystem", pathSet = ["name", "vm", "parent"] });

        var hosts = await _inventory.PropertyCollector.RetrievePropertiesAsync(This("RetrieveProperties"), [spec]);

        CollectionAssert.AreEqual(new[] { "esx-a", "esx-b" }, hosts.Select(o => (string)o.propSet!.Single(p => p.name == "name").val!).ToArray());
        var vmsOfA = (ArrayOfManagedObjectReference)hosts[0].propSet!.Single(p => p.name == "vm").val!;
        CollectionAssert.AreEqual(new[] { "vm-a1", "vm-a2" }, vmsOfA.ManagedObjectReference!.Select(r => r.Value).ToArray());
        Assert.AreEqual("ComputeResource", ((ManagedObjectReference)hosts[1].propSet!.Single(p => p.name == "parent").val!).type);
    }

    [TestMethod]
    public async Task VmRuntimeHost_NamesItsHostSystem_DisconnectedWhileItsHostAgentDoesNotAnswer()
    {
        var spec = Spec(new ManagedObjectReference("VirtualMachine", "vm-b1"), skip: false, null,
            new PropertySpec { type = "VirtualMachine", pathSet = ["runtime.host", "runtime.connectionState"] });

        var content = (await _inventory.PropertyCollector.RetrievePropertiesAsync(This("RetrieveProperties"), [spec])).Single();
        var host = (ManagedObjectReference)content.propSet!.Single(p => p.name == "runtime.host").val!;
        Assert.AreEqual("HostSystem", host.type);
        Assert.AreEqual("esx-b", ((HostSystem)_inventory.Find(host, _session)!).Name);
        Assert.AreEqual(VirtualMachineConnectionState.Connected, content.propSet!.Single(p => p.name == "runtime.connectionState").val);

        _hosts = [new("esx-a", true), new("esx-b", false)];
        content = (await _inventory.PropertyCollector.RetrievePropertiesAsync(This("RetrieveProperties"), [spec])).Single();
        Assert.AreEqual(VirtualMachineConnectionState.Disconnected, content.propSet!.Single(p => p.name == "runtime.connectionState").val);
    }

    [TestMethod]
    public async Task FindByInventoryPath_ReachesHostsAndVmsOfEveryHostAgent()
    {
        var host = await _inventory.SearchIndex.FindByInventoryPathAsync(This("FindByInventoryPath"), "ha-datacenter/host/esx-b/esx-b");
        Assert.AreEqual("HostSystem", host?.type);
        var vm = await _inventory.SearchIndex.FindByInventoryPathAsync(This("FindByInventoryPath"), "ha-datacenter/vm/gamma");
        Assert.AreEqual("vm-b1", vm?.Value);
    }

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

    private static PropertyFilterSpec Spec(ManagedObjectReference obj, bool skip, SelectionSpec[]? selectSet, params PropertySpec[] propSet) => new()
    {
        objectSet = [new ObjectSpec { obj = obj, skip = skip, selectSet = selectSet }],
        propSet = propSet,
    };

    private static VmSnapshot Vm(string id, string name) => new(
        new VmConfiguration { Id = id, Name = name, Uuid = "uuid-" + id, InstanceUuid = "instance-" + id },
        VmPowerState.PoweredOn,
        DateTime.UtcNow,
        new GuestAgentState { Running = true, OperationsReady = true });
}
