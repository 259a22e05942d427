namespace GuestOps.Host.Inventory;

/// <summary>
/// The inventory of one host agent, shaped as an ESXi host shows it: the root folder <c>Datacenters</c>, the datacenter
/// <c>ha-datacenter</c> with its four folders, and the agent's VMs in the vm folder. The ids are the ones the captured
/// clients address (vCenter-style names, which ESXi-era clients accept as well); any stable id works.
/// </summary>
public sealed class HostInventory(IHostAgent hostAgent) : IInventoryService
{
    public static InventoryLayout Layout { get; } = new(
        new InventoryFolder("group-d1", "Datacenters", ["Folder", "Datacenter"]),
        new InventoryDatacenter(
            "datacenter-2",
            "ha-datacenter",
            new InventoryFolder("folder-3", "vm", ["Folder", "VirtualMachine", "VirtualApp"]),
            new InventoryFolder("folder-4", "host", ["Folder", "ComputeResource"]),
            new InventoryFolder("folder-5", "datastore", ["Folder", "Datastore"]),
            new InventoryFolder("folder-6", "network", ["Folder", "Network"])));

    public ValueTask<InventoryLayout> GetLayoutAsync(CancellationToken cancellationToken = default) => ValueTask.FromResult(Layout);

    public ValueTask<IReadOnlyList<VmSnapshot>> ListVirtualMachinesAsync(CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(hostAgent.ListVirtualMachines());

    public ValueTask<VmSnapshot?> GetVirtualMachineAsync(string id, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(hostAgent.GetVirtualMachine(id));
}
