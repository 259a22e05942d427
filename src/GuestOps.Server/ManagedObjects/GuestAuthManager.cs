using GuestOps.Channel.Messages;
using GuestOps.Server.Guest;
using GuestOps.Soap;
using GuestOps.Vim;
using GuestOps.Vim.Contracts;

namespace GuestOps.Server.ManagedObjects;

/// <summary>vim.vm.guest.AuthManager: checks guest credentials inside the guest; SSPI logons and their tickets.</summary>
public sealed class GuestAuthManager(string id, GuestCalls guest, PropertyReader reader) : ManagedObject(id, reader), IGuestAuthManager
{
    /// <summary>The name of the DynamicProperty of a returned ticket that carries the guest's final SSPI token, when
    /// Negotiate produced one after completing (the client's context still needs it, e.g. for SPNEGO's mechListMIC).</summary>
    public const string FinalTokenProperty = "sspiToken";

    private static readonly PropertyTable<GuestAuthManager> Table = new();

    public override PropertyTable Properties => Table;

    /// <summary>Authenticates in the guest and immediately lets go; with a ticket, checks it is still valid.</summary>
    public Task ValidateCredentialsInGuestAsync(ManagedObjectReference _this, ManagedObjectReference vm, GuestAuthentication auth) =>
        guest.InvokeAsync<EmptyResult>(Call, vm, auth, new ValidateCredentialsRequest());

    /// <summary>
    /// One leg of an SSPI logon (AcquireCredentialsInGuest with a SSPIAuthentication): the guest answers with a GuestAuthenticationChallenge (its token and the
    /// sessionID to continue with) until the exchange completes, then with a TicketedSessionAuthentication usable as
    /// <c>auth</c> by every guest method until released, idle too long, or the guest agent restarts. A sessionID of 0 is
    /// no session (a first leg): clients that fill every numeric field send 0 for "none", and the guest never issues 0.
    /// </summary>
    public async Task<GuestAuthentication> AcquireCredentialsInGuestAsync(ManagedObjectReference _this, ManagedObjectReference vm, GuestAuthentication requestedAuth, long? sessionID)
    {
        var call = Call;
        var result = await guest.SendAsync<AcquireCredentialsResult>(call, vm, () => requestedAuth switch
        {
            SSPIAuthentication { interactiveSession: true } => throw GuestCalls.InteractiveUnavailable(),
            SSPIAuthentication sspi => new AcquireCredentialsRequest { Token = sspi.sspiToken ?? "", SessionId = sessionID is 0 ? null : sessionID },
            _ => throw GuestFaultMessages.Exception(new InvalidArgument { invalidProperty = "requestedAuth" },
                $"AcquireCredentialsInGuest takes an SSPIAuthentication, not {requestedAuth.GetType().Name}."),
        });

        if (result.SessionId is { } next)
        {
            throw GuestFaultMessages.Exception(
                new GuestAuthenticationChallenge { serverChallenge = new SSPIAuthentication { sspiToken = result.ServerToken ?? "" }, sessionID = next },
                "Pass serverChallenge to your security context and call again with its answer and this sessionID.");
        }

        return new TicketedSessionAuthentication
        {
            ticket = result.Ticket ?? throw GuestFaultMessages.Exception(new SystemError { reason = "no ticket" }, "The guest agent completed the logon without a ticket."),
            dynamicProperty = result.ServerToken is { } final ? [new DynamicProperty { name = FinalTokenProperty, val = final }] : null,
        };
    }

    /// <summary>Ends the guest logon session behind a ticket; afterwards the ticket fails with InvalidGuestLogin.</summary>
    public Task ReleaseCredentialsInGuestAsync(ManagedObjectReference _this, ManagedObjectReference vm, GuestAuthentication auth) =>
        guest.SendAsync<EmptyResult>(Call, vm, () => auth switch
        {
            TicketedSessionAuthentication ticket => new ReleaseCredentialsRequest { Credential = new GuestTicketCredential(ticket.ticket) },
            _ => throw GuestFaultMessages.Exception(new InvalidArgument { invalidProperty = "auth" },
                $"ReleaseCredentialsInGuest takes a TicketedSessionAuthentication, not {auth.GetType().Name}."),
        });
}
