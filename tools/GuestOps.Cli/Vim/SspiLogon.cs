using System.Net.Security;
using System.ServiceModel;
using GuestOps.Client;
using GuestOps.Vim;

namespace GuestOps.Cli.Vim;

/// <summary>
/// The client side of vSphere's SSPI challenge/response: a <see cref="NegotiateAuthentication"/> driven through
/// AcquireCredentialsInGuest until the guest answers with a TicketedSessionAuthentication, whose ticket is then used as
/// <c>auth</c>. A final token the guest returns (dynamicProperty <c>sspiToken</c>) is fed back to the context.
/// </summary>
public static class SspiLogon
{
    private const int MaxCalls = 10;

    /// <summary>The ticket; throws the <see cref="FaultException"/> of the fault that ended the exchange.</summary>
    public static async Task<string> LogonAsync(GuestOperations guest, NegotiateAuthentication context, CancellationToken cancellationToken)
    {
        var token = context.GetOutgoingBlob(ReadOnlySpan<byte>.Empty, out var status);
        if (status != NegotiateAuthenticationStatusCode.ContinueNeeded || token is null)
        {
            throw new CliException($"SSPI: the client's security context ({context.Package}) cannot start: {status}.");
        }

        long? session = null;
        for (var calls = 0; calls < MaxCalls; calls++)
        {
            GuestAuthentication returned;
            try
            {
                returned = await guest.AcquireCredentialsAsync(new SSPIAuthentication { sspiToken = Convert.ToBase64String(token ?? []) }, session, cancellationToken);
            }
            catch (FaultException e) when (VimFaults.Detail(e) is GuestAuthenticationChallenge challenge)
            {
                var serverToken = (challenge.serverChallenge as SSPIAuthentication)?.sspiToken
                    ?? throw new CliException("SSPI: a GuestAuthenticationChallenge without serverChallenge.");
                session = challenge.sessionID;
                token = context.GetOutgoingBlob(Convert.FromBase64String(serverToken), out status);
                if (status is not (NegotiateAuthenticationStatusCode.ContinueNeeded or NegotiateAuthenticationStatusCode.Completed))
                {
                    throw new CliException($"SSPI: the client's security context refused the guest's challenge: {status}.");
                }

                continue;
            }

            var ticket = (returned as TicketedSessionAuthentication)?.ticket is { Length: > 0 } t ? t
                : throw new CliException("SSPI: AcquireCredentialsInGuest returned no ticket.");
            if (returned.dynamicProperty?.FirstOrDefault(p => p.name == "sspiToken")?.val is string final)
            {
                context.GetOutgoingBlob(Convert.FromBase64String(final), out status);
                if (status != NegotiateAuthenticationStatusCode.Completed)
                {
                    throw new CliException($"SSPI: the client's security context refused the guest's final token: {status}.");
                }
            }

            return ticket;
        }

        throw new CliException($"SSPI: no ticket after {MaxCalls} AcquireCredentialsInGuest calls.");
    }
}
