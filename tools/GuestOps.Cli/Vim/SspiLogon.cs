using System.Net.Security;
using GuestOps.Cli.Soap;
using GuestOps.Vim;

namespace GuestOps.Cli.Vim;

/// <summary>
/// The client side of vSphere's SSPI challenge/response (reference 6): a <see cref="NegotiateAuthentication"/> driven
/// through AcquireCredentialsInGuest until the guest answers with a TicketedSessionAuthentication, whose ticket is then
/// used as <c>auth</c>. A final token the guest returns (dynamicProperty <c>sspiToken</c>) is fed back to the context.
/// The same loop as the integration tests' GuestSspi helper, on this client's SOAP layer.
/// </summary>
public static class SspiLogon
{
    private const int MaxCalls = 10;

    /// <summary>The ticket; throws <see cref="SoapFaultException"/> with the fault that ended the exchange.</summary>
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
            System.Xml.Linq.XElement returned;
            try
            {
                returned = await guest.AcquireCredentialsAsync(new SSPIAuthentication { sspiToken = Convert.ToBase64String(token ?? []) }, session, cancellationToken);
            }
            catch (SoapFaultException e) when (e.Is(nameof(GuestAuthenticationChallenge)) && e.Detail is not null)
            {
                var challenge = e.Detail.Child("serverChallenge")?.Text("sspiToken")
                    ?? throw new CliException("SSPI: a GuestAuthenticationChallenge without serverChallenge.");
                session = long.Parse(e.Field("sessionID") ?? throw new CliException("SSPI: a GuestAuthenticationChallenge without sessionID."), System.Globalization.CultureInfo.InvariantCulture);
                token = context.GetOutgoingBlob(Convert.FromBase64String(challenge), out status);
                if (status is not (NegotiateAuthenticationStatusCode.ContinueNeeded or NegotiateAuthenticationStatusCode.Completed))
                {
                    throw new CliException($"SSPI: the client's security context refused the guest's challenge: {status}.");
                }

                continue;
            }

            var ticket = returned.Text("ticket") ?? throw new CliException("SSPI: AcquireCredentialsInGuest returned no ticket.");
            var final = returned.Children("dynamicProperty").FirstOrDefault(p => p.Text("name") == "sspiToken")?.Text("val");
            if (final is not null)
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
