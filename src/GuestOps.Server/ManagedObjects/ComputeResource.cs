using GuestOps.Vim;

namespace GuestOps.Server.ManagedObjects;

/// <summary>vim.ComputeResource: the standalone host's resource container under the datacenter's host folder, named as
/// its host.</summary>
public sealed class ComputeResource : ManagedEntity
{
    private static readonly PropertyTable<ComputeResource> Table = new PropertyTable<ComputeResource>(EntityProperties)
        .Add("host", (c, call) => c.Reader.IsVisible(call, c.Host) ? new[] { c.Host.Ref } : [])
        .Add("datastore", _ => Array.Empty<ManagedObjectReference>())
        .Add("network", _ => Array.Empty<ManagedObjectReference>());

    public ComputeResource(string name, Folder hostFolder, Func<string, IEnumerable<VirtualMachine>> vmsOf, PropertyReader reader)
        : base(HostSystem.IdOf("domain-s", name), reader)
    {
        Name = name;
        Parent = hostFolder;
        Host = new HostSystem(name, this, () => vmsOf(name), reader);
    }

    public override PropertyTable Properties => Table;

    public override string Name { get; }

    public override ManagedEntity? Parent { get; }

    public HostSystem Host { get; }

    public override IEnumerable<ManagedEntity> Children => [Host];
}
