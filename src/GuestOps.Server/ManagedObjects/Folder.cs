using GuestOps.Host.Inventory;

namespace GuestOps.Server.ManagedObjects;

/// <summary>vim.Folder: <c>childType</c> and <c>childEntity</c>.</summary>
public sealed class Folder(InventoryFolder folder, ManagedEntity? parent, Func<IEnumerable<ManagedEntity>> children, PropertyReader reader)
    : ManagedEntity(folder.Id, reader)
{
    private static readonly PropertyTable<Folder> Table = new PropertyTable<Folder>(EntityProperties)
        .Add("childType", f => f.ChildType)
        .Add("childEntity", (f, call) => f.Children.Where(c => f.Reader.IsVisible(call, c)).Select(c => c.Ref).ToArray());

    public override PropertyTable Properties => Table;

    public override string Name { get; } = folder.Name;

    public override ManagedEntity? Parent { get; } = parent;

    public string[] ChildType { get; } = [.. folder.ChildTypes];

    public override IEnumerable<ManagedEntity> Children => children();
}
