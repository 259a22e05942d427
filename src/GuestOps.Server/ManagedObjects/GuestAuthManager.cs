using GuestOps.Channel.Messages;
using GuestOps.Server.Guest;
using GuestOps.Soap;
using GuestOps.Vim;

namespace GuestOps.Server.ManagedObjects;

/// <summary>vim.vm.guest.AuthManager: checks guest credentials inside the guest.</summary>
public sealed class GuestAuthManager(string id, GuestCalls guest, PropertyReader reader) : ManagedObject(id, reader)
{
    private static readonly PropertyTable<GuestAuthManager> Table = new();

    public override PropertyTable Properties => Table;

    /// <summary>Authenticates in the guest and immediately lets go (reference 3.3).</summary>
    public Task ValidateCredentialsInGuest(VimCall call, ManagedObjectReference vm, GuestAuthentication auth) =>
        guest.InvokeAsync<EmptyResult>(call, vm, auth, new ValidateCredentialsRequest());
}
