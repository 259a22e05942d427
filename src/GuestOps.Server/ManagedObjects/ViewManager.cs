using GuestOps.Soap;
using GuestOps.Vim;
using GuestOps.Vim.Contracts;

namespace GuestOps.Server.ManagedObjects;

/// <summary>vim.view.ViewManager: creates per-session container views.</summary>
public sealed class ViewManager(string id, Inventory inventory, PropertyReader reader) : ManagedObject(id, reader), IViewManager
{
    private static readonly PropertyTable<ViewManager> Table = new PropertyTable<ViewManager>()
        .Add("viewList", (m, call) => (call.Session as Session)?.Views.Values.Select(v => v.Ref).ToArray());

    public override PropertyTable Properties => Table;

    public Task<ManagedObjectReference> CreateContainerViewAsync(ManagedObjectReference _this, ManagedObjectReference container, string[]? type, bool recursive)
    {
        var call = Call;
        var session = (Session)call.Session!;
        if (inventory.Resolve(container, call) is not ManagedEntity entity)
        {
            throw new VimFaultException(new ManagedObjectNotFound { obj = container }, $"The object '{container}' has already been deleted or has not been completely created");
        }

        // Per-session objects carry the session in their id, as vCenter and the govmomi simulator do.
        var view = new ContainerView($"session[{session.Key}]{Guid.NewGuid():D}", entity, type is { Length: > 0 } ? type : null, recursive, session, Reader);
        session.Views[view.Ref.Value] = view;
        return Task.FromResult(view.Ref);
    }
}
