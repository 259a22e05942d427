using GuestOps.Host.Inventory;

namespace GuestOps.Server.ManagedObjects;

/// <summary>vim.Datacenter: the single datacenter (<c>ha-datacenter</c>) and its four folders; in a cluster the host
/// folder holds a compute resource per host agent.</summary>
public sealed class Datacenter : ManagedEntity
{
    private static readonly PropertyTable<Datacenter> Table = new PropertyTable<Datacenter>(EntityProperties)
        .Add("vmFolder", d => d.VmFolder.Ref)
        .Add("hostFolder", d => d.HostFolder.Ref)
        .Add("datastoreFolder", d => d.DatastoreFolder.Ref)
        .Add("networkFolder", d => d.NetworkFolder.Ref);

    public Datacenter(InventoryDatacenter datacenter, ManagedEntity parent, Func<IEnumerable<ManagedEntity>> virtualMachines, PropertyReader reader, Func<Folder, IEnumerable<ManagedEntity>>? computeResources = null)
        : base(datacenter.Id, reader)
    {
        Name = datacenter.Name;
        Parent = parent;
        VmFolder = new Folder(datacenter.VmFolder, this, virtualMachines, reader);
        HostFolder = new Folder(datacenter.HostFolder, this, computeResources is null ? () => [] : () => computeResources(HostFolder!), reader);
        DatastoreFolder = new Folder(datacenter.DatastoreFolder, this, () => [], reader);
        NetworkFolder = new Folder(datacenter.NetworkFolder, this, () => [], reader);
    }

    public override PropertyTable Properties => Table;

    public override string Name { get; }

    public override ManagedEntity? Parent { get; }

    public Folder VmFolder { get; }

    public Folder HostFolder { get; }

    public Folder DatastoreFolder { get; }

    public Folder NetworkFolder { get; }

    public override IEnumerable<ManagedEntity> Children => [VmFolder, HostFolder, DatastoreFolder, NetworkFolder];
}
