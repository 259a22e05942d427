namespace GuestOps.Host.Inventory;

/// <summary>A folder of the inventory: its managed object id, its name, and the types of the children it may hold.</summary>
public sealed record InventoryFolder(string Id, string Name, IReadOnlyList<string> ChildTypes);

/// <summary>The datacenter and its four folders (<c>vm</c>, <c>host</c>, <c>datastore</c>, <c>network</c>).</summary>
public sealed record InventoryDatacenter(string Id, string Name, InventoryFolder VmFolder, InventoryFolder HostFolder, InventoryFolder DatastoreFolder, InventoryFolder NetworkFolder);

/// <summary>The fixed part of the inventory tree: the root folder and the datacenter below it. The VMs are in the
/// datacenter's vm folder.</summary>
public sealed record InventoryLayout(InventoryFolder RootFolder, InventoryDatacenter Datacenter);

/// <summary>
/// The inventory as the host agent reports it: the tree's folders and datacenter, and the VMs with their state and
/// guest properties, each an immutable record.
/// </summary>
public interface IInventoryService
{
    ValueTask<InventoryLayout> GetLayoutAsync(CancellationToken cancellationToken = default);

    /// <summary>Every VM of the vm folder, in a stable order.</summary>
    ValueTask<IReadOnlyList<VmSnapshot>> ListVirtualMachinesAsync(CancellationToken cancellationToken = default);

    /// <summary>The VM now, or null when there is none of that id.</summary>
    ValueTask<VmSnapshot?> GetVirtualMachineAsync(string id, CancellationToken cancellationToken = default);
}
