namespace GuestOps.Server.ManagedObjects;

/// <summary>vim.vm.guest.GuestFileManager. Its methods come with the relay chain to the in-guest worker.</summary>
public sealed class GuestFileManager(string id, PropertyReader reader) : ManagedObject(id, reader)
{
    private static readonly PropertyTable<GuestFileManager> Table = new();

    public override PropertyTable Properties => Table;
}
