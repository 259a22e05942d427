using System.Net.Security;
using System.Runtime.InteropServices;
using GuestOps.IntegrationTests.Infrastructure;
using GuestOps.Vim;

namespace GuestOps.IntegrationTests;

/// <summary>What an SSPI logon through AcquireCredentialsInGuest ended with.</summary>
/// <param name="Ticket">The TicketedSessionAuthentication's ticket (secret).</param>
/// <param name="Calls">AcquireCredentialsInGuest calls made (one per client token).</param>
/// <param name="Challenges">The calls answered with a GuestAuthenticationChallenge, in order.</param>
/// <param name="Completion">What the last call returned (a TicketedSessionAuthentication).</param>
/// <param name="FinalToken">The guest's token after completion (DynamicProperty <c>sspiToken</c> of the ticket), if any.</param>
public sealed record SspiLogon(string Ticket, int Calls, IReadOnlyList<GuestCallResult> Challenges, GuestAuthentication Completion, string? FinalToken);

/// <summary>
/// The client side of vSphere's SSPI challenge/response for our own callers, on the typed client: drives a client
/// <see cref="NegotiateAuthentication"/> (Package NTLM, Negotiate or Kerberos; the current user or explicit credentials)
/// against GuestAuthManager.AcquireCredentialsInGuest until the guest answers with a ticket, feeding each
/// GuestAuthenticationChallenge's serverChallenge back and the final token (if any) to the client context. The ticket is
/// then passed as <c>auth</c> like a name and password (<see cref="Ticketed"/>).
/// </summary>
public static class GuestSspi
{
    /// <summary>The guest calls of <paramref name="vmId"/> with a TicketedSessionAuthentication.</summary>
    public static GuestOpsClient Ticketed(TypedGuestClient client, string vmId, string ticket) =>
        new(client, TypedGuestClient.VmRef(vmId), new TicketedSessionAuthentication { ticket = ticket, interactiveSession = false }, "a ticket");

    /// <summary>One AcquireCredentialsInGuest call with an SSPIAuthentication.</summary>
    public static Task<GuestCallResult<GuestAuthentication>> AcquireAsync(TypedGuestClient client, string vmId, string token, long? sessionId) =>
        new GuestOpsClient(client, vmId, "(sspi)", "").AcquireCredentials(new SSPIAuthentication { sspiToken = token, interactiveSession = false }, sessionId);

    /// <summary>
    /// Runs the whole exchange; returns the ticket, or throws <see cref="SspiLogonFailedException"/> with the fault that
    /// ended it. The client context has received every guest token when this returns (check its IsAuthenticated).
    /// </summary>
    public static async Task<SspiLogon> LogonAsync(TypedGuestClient client, string vmId, NegotiateAuthentication context, int maxCalls = 10)
    {
        // Kerberos without mutual authentication is complete on the client's side with its first token (the AP-REQ).
        var token = context.GetOutgoingBlob(ReadOnlySpan<byte>.Empty, out var status);
        if (status is not (NegotiateAuthenticationStatusCode.ContinueNeeded or NegotiateAuthenticationStatusCode.Completed) || token is null)
        {
            throw new InvalidOperationException($"The client's security context cannot start: {status}.");
        }

        long? session = null;
        var challenges = new List<GuestCallResult>();
        for (var calls = 1; calls <= maxCalls; calls++)
        {
            var response = await AcquireAsync(client, vmId, Convert.ToBase64String(token ?? []), session);
            if (response.IsOk)
            {
                var returned = response.Value;
                var ticket = (returned as TicketedSessionAuthentication)?.ticket ?? throw new AssertFailedException($"A ticket-less answer: {returned.GetType().Name}");
                var final = (returned.dynamicProperty ?? []).Where(p => p.name == "sspiToken").Select(p => p.val as string).FirstOrDefault();
                if (final is not null)
                {
                    context.GetOutgoingBlob(Convert.FromBase64String(final), out status);
                    if (status != NegotiateAuthenticationStatusCode.Completed)
                    {
                        throw new InvalidOperationException($"The client's security context refused the guest's final token: {status}.");
                    }
                }

                return new SspiLogon(ticket, calls, challenges, returned, final);
            }

            if (response.Fault is not GuestAuthenticationChallenge challenge)
            {
                throw new SspiLogonFailedException(response, calls);
            }

            challenges.Add(response);
            session = challenge.sessionID;
            var serverToken = (challenge.serverChallenge as SSPIAuthentication)?.sspiToken ?? throw new AssertFailedException($"A challenge without an SSPI serverChallenge: {response}");
            token = context.GetOutgoingBlob(Convert.FromBase64String(serverToken), out status);
            if (status is not (NegotiateAuthenticationStatusCode.ContinueNeeded or NegotiateAuthenticationStatusCode.Completed))
            {
                throw new InvalidOperationException($"The client's security context refused the guest's challenge: {status}.");
            }
        }

        throw new InvalidOperationException($"The exchange did not end within {maxCalls} calls.");
    }

    /// <summary>
    /// A DNS-free Kerberos configuration for this process (written to a temporary file and set as KRB5_CONFIG in the C
    /// environment): Package "Negotiate" tries Kerberos first, and with the system's defaults it can stall for seconds
    /// looking up realms and KDCs in DNS. Call before the first NegotiateAuthentication.
    /// </summary>
    public static void UseDnsFreeKerberosConfiguration()
    {
        lock (Gate)
        {
            if (_krb5Config is not null)
            {
                return;
            }

            _krb5Config = Path.Combine(Path.GetTempPath(), $"guestops-it-krb5-{Environment.ProcessId}.conf");
            File.WriteAllText(_krb5Config, "[libdefaults]\n    dns_lookup_kdc = false\n    dns_lookup_realm = false\n    dns_canonicalize_hostname = false\n    rdns = false\n");
            if (setenv("KRB5_CONFIG", _krb5Config, 1) != 0)
            {
                throw new InvalidOperationException("setenv KRB5_CONFIG failed.");
            }
        }
    }

    /// <summary>
    /// Points this process's Kerberos library at <paramref name="krb5Config"/> (KRB5_CONFIG in the C environment, read at
    /// each new Kerberos context) until the returned scope is disposed, which restores the previous value (first making it
    /// the DNS-free configuration, so other test classes' Negotiate clients never fall back to the system's). For a test
    /// KDC's client configuration; the system's /etc/krb5.conf is not read while it is set.
    /// </summary>
    public static IDisposable UseKerberosConfiguration(string krb5Config)
    {
        UseDnsFreeKerberosConfiguration();
        lock (Gate)
        {
            var previous = Marshal.PtrToStringUTF8(getenv("KRB5_CONFIG")) ?? _krb5Config!;
            if (setenv("KRB5_CONFIG", krb5Config, 1) != 0)
            {
                throw new InvalidOperationException("setenv KRB5_CONFIG failed.");
            }

            return new Restore(previous);
        }
    }

    private sealed class Restore(string previous) : IDisposable
    {
        public void Dispose()
        {
            lock (Gate)
            {
                _ = setenv("KRB5_CONFIG", previous, 1);
            }
        }
    }

    private static readonly Lock Gate = new();
    private static string? _krb5Config;

    [DllImport("libc.so.6", CharSet = CharSet.Ansi)]
    private static extern int setenv(string name, string value, int overwrite);

    [DllImport("libc.so.6", CharSet = CharSet.Ansi)]
    private static extern IntPtr getenv(string name);
}

/// <summary>AcquireCredentialsInGuest ended with a fault other than a challenge.</summary>
public sealed class SspiLogonFailedException(GuestCallResult response, int calls)
    : Exception($"The SSPI logon failed at call {calls}: {response}")
{
    public GuestCallResult Response { get; } = response;

    public int Calls { get; } = calls;
}
