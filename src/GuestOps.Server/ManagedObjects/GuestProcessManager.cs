namespace GuestOps.Server.ManagedObjects;

/// <summary>vim.vm.guest.GuestProcessManager. Its methods come with the relay chain to the in-guest worker.</summary>
public sealed class GuestProcessManager(string id, PropertyReader reader) : ManagedObject(id, reader)
{
    private static readonly PropertyTable<GuestProcessManager> Table = new();

    public override PropertyTable Properties => Table;
}
