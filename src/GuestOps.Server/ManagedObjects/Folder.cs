namespace GuestOps.Server.ManagedObjects;

/// <summary>vim.Folder: <c>childType</c> and <c>childEntity</c>.</summary>
public sealed class Folder(string id, string name, ManagedEntity? parent, string[] childType, Func<IEnumerable<ManagedEntity>> children, PropertyReader reader)
    : ManagedEntity(id, reader)
{
    private static readonly PropertyTable<Folder> Table = new PropertyTable<Folder>(EntityProperties)
        .Add("childType", f => f.ChildType)
        .Add("childEntity", (f, call) => f.Children.Where(c => f.Reader.IsVisible(call, c)).Select(c => c.Ref).ToArray());

    public override PropertyTable Properties => Table;

    public override string Name { get; } = name;

    public override ManagedEntity? Parent { get; } = parent;

    public string[] ChildType { get; } = childType;

    public override IEnumerable<ManagedEntity> Children => children();
}
