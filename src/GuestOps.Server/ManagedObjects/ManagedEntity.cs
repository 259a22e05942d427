using GuestOps.Host.Authorization;
using GuestOps.Vim;

namespace GuestOps.Server.ManagedObjects;

/// <summary>vim.ManagedEntity: an object of the inventory tree (folders, datacenters, VMs).</summary>
public abstract class ManagedEntity(string id, PropertyReader reader) : ManagedObject(id, reader)
{
    protected static readonly PropertyTable<ManagedEntity> EntityProperties = new PropertyTable<ManagedEntity>()
        .Add("name", e => e.Name)
        .Add("parent", e => e.Parent?.Ref)
        .Add("overallStatus", _ => ManagedEntityStatus.Green)
        .Add("configStatus", _ => ManagedEntityStatus.Green);

    public abstract string Name { get; }

    public abstract ManagedEntity? Parent { get; }

    /// <summary>Direct children in the inventory tree.</summary>
    public virtual IEnumerable<ManagedEntity> Children => [];

    /// <summary>The entity, then its parent, up to the root folder: how permissions name it.</summary>
    public IReadOnlyList<EntityRef> Path => field ??= [new(Ref.type, Ref.Value), .. Parent?.Path ?? []];
}
