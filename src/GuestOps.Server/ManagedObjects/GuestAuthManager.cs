namespace GuestOps.Server.ManagedObjects;

/// <summary>vim.vm.guest.GuestAuthManager. Its methods come with the relay chain to the in-guest worker.</summary>
public sealed class GuestAuthManager(string id, PropertyReader reader) : ManagedObject(id, reader)
{
    private static readonly PropertyTable<GuestAuthManager> Table = new();

    public override PropertyTable Properties => Table;
}
