using GuestOps.Soap;
using GuestOps.Vim;
using GuestOps.Vim.Contracts;

namespace GuestOps.Server.ManagedObjects;

/// <summary>vim.view.ContainerView: the entities below a container, optionally recursive and filtered by type.</summary>
public sealed class ContainerView(string id, ManagedEntity container, string[]? type, bool recursive, Session owner, PropertyReader reader)
    : ManagedObject(id, reader), IView
{
    private static readonly PropertyTable<ContainerView> Table = new PropertyTable<ContainerView>()
        .Add("container", v => v.Container.Ref)
        .Add("type", v => v.Type)
        .Add("recursive", v => v.Recursive)
        .Add("view", (v, call) => v.View.Where(e => v.Reader.IsVisible(call, e)).Select(e => e.Ref).ToArray());

    public override PropertyTable Properties => Table;

    public ManagedEntity Container { get; } = container;

    public string[]? Type { get; } = type;

    public bool Recursive { get; } = recursive;

    public Session Owner { get; } = owner;

    /// <summary>Current members: computed on every read, so VMs that come and go are seen.</summary>
    public IEnumerable<ManagedEntity> View => Members(Container).Where(e => Type is null || Type.Any(e.IsOfType));

    public Task DestroyViewAsync(ManagedObjectReference _this)
    {
        Owner.Views.TryRemove(Ref.Value, out _);
        return Task.CompletedTask;
    }

    private IEnumerable<ManagedEntity> Members(ManagedEntity parent)
    {
        foreach (var child in parent.Children)
        {
            yield return child;
            if (Recursive)
            {
                foreach (var descendant in Members(child))
                {
                    yield return descendant;
                }
            }
        }
    }
}
