namespace GuestOps.Server.ManagedObjects;

/// <summary>vim.Datacenter: the host's single datacenter (<c>ha-datacenter</c>) and its four folders.</summary>
public sealed class Datacenter : ManagedEntity
{
    private static readonly PropertyTable<Datacenter> Table = new PropertyTable<Datacenter>(EntityProperties)
        .Add("vmFolder", d => d.VmFolder.Ref)
        .Add("hostFolder", d => d.HostFolder.Ref)
        .Add("datastoreFolder", d => d.DatastoreFolder.Ref)
        .Add("networkFolder", d => d.NetworkFolder.Ref);

    public Datacenter(string id, string name, ManagedEntity parent, Inventory.InventoryIds ids, Func<IEnumerable<ManagedEntity>> virtualMachines, PropertyReader reader)
        : base(id, reader)
    {
        Name = name;
        Parent = parent;
        VmFolder = new Folder(ids.VmFolder, "vm", this, ["Folder", "VirtualMachine", "VirtualApp"], virtualMachines, reader);
        HostFolder = new Folder(ids.HostFolder, "host", this, ["Folder", "ComputeResource"], () => [], reader);
        DatastoreFolder = new Folder(ids.DatastoreFolder, "datastore", this, ["Folder", "Datastore"], () => [], reader);
        NetworkFolder = new Folder(ids.NetworkFolder, "network", this, ["Folder", "Network"], () => [], reader);
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
