using System.Net.Security;
using System.Security.Cryptography;
using GuestOps.Channel.Messages;
using GuestOps.Tools.Auth;
using Microsoft.Extensions.Logging;
using GuestOps.Tools.Errors;

namespace GuestOps.Tools.Sspi;

/// <summary>
/// The guest's side of AcquireCredentialsInGuest: the server end of Negotiate through .NET's NegotiateAuthentication
/// (GSSAPI on Linux: NTLM through gss-ntlmssp and its user file, Kerberos through a keytab; SSPI on Windows). A first
/// leg opens an exchange under a random session id; each further leg continues it. An exchange is dropped after
/// <see cref="SspiOptions.ExchangeTimeout"/> without a leg, at most <see cref="SspiOptions.MaxPendingExchanges"/> are
/// open, and one leg at a time runs on an exchange (a concurrent leg with the same id finds it unknown). When the
/// exchange completes, the authenticated identity is mapped to a guest account and a ticket is issued for it.
/// Failed NTLM logons are throttled per guest account with the same <see cref="LoginThrottle"/> as password logons
/// (the account an AUTHENTICATE message claims waits for its slot before GSSAPI checks it), so guessing a password
/// through SSPI is as slow as through NamePasswordAuthentication. Tokens and tickets are never logged.
/// </summary>
public sealed partial class SspiAuthenticator(
    SspiOptions options,
    SspiIdentityMap identities,
    TicketStore tickets,
    LoginThrottle throttle,
    TimeProvider time,
    ILogger<SspiAuthenticator> logger)
{
    private const int MaxTokenBytes = 64 * 1024;

    private readonly object _lock = new();
    private readonly Dictionary<long, Exchange> _exchanges = [];

    /// <summary>Mechanisms this guest is set up for.</summary>
    public bool NtlmAvailable { get; init; }

    public bool KerberosAvailable { get; init; }

    public TicketStore Tickets => tickets;

    /// <summary>Unfinished exchanges (expired ones not yet dropped included).</summary>
    public int PendingExchanges
    {
        get
        {
            lock (_lock)
            {
                return _exchanges.Count;
            }
        }
    }

    /// <summary>One leg of a logon. GSSAPI reads files and hashes: call it off the channel's read loop.</summary>
    public async Task<AcquireCredentialsResult> AcquireAsync(AcquireCredentialsRequest request, CancellationToken cancellationToken)
    {
        var input = Decode(request.Token);
        var account = identities.AccountName(SspiMechanisms.NtlmAuthenticateIdentity(input))?.ToLowerInvariant();
        if (account is null)
        {
            return Acquire(request, input);
        }

        await throttle.WaitAsync(account, cancellationToken).ConfigureAwait(false);
        try
        {
            var result = Acquire(request, input);
            if (result.Ticket is not null)
            {
                throttle.RecordSuccess(account);
            }

            return result;
        }
        catch (GuestOperationException e) when (e.Code == GuestErrorCode.InvalidLogin)
        {
            throttle.RecordFailure(account);
            throw;
        }
    }

    private AcquireCredentialsResult Acquire(AcquireCredentialsRequest request, byte[] input)
    {
        Exchange exchange;
        if (request.SessionId is not { } id)
        {
            exchange = Open(input);
        }
        else
        {
            lock (_lock)
            {
                if (!_exchanges.Remove(id, out var found) || Expired(found, time.GetUtcNow()))
                {
                    found?.Context.Dispose();
                    LogUnknownSession(id);
                    throw new GuestOperationException(GuestErrorCode.UnknownAuthenticationSession,
                        $"SSPI session {id} is unknown: it was never started, already completed or failed, or timed out ({options.ExchangeTimeout.TotalSeconds:0} s without a leg). Start again without a sessionID.");
                }

                exchange = found; // this leg owns it now; put back only if it continues
            }
        }

        return Step(exchange, input);
    }

    private Exchange Open(byte[] input)
    {
        var mechanism = SspiMechanisms.Detect(input);
        var available = mechanism switch
        {
            SspiMechanism.Ntlm => NtlmAvailable,
            SspiMechanism.Kerberos => KerberosAvailable,
            SspiMechanism.Negotiate => NtlmAvailable || KerberosAvailable,
            _ => false,
        };
        if (!available)
        {
            LogUnsupported(SspiMechanisms.Package(mechanism));
            throw new GuestOperationException(GuestErrorCode.NotSupported, mechanism == SspiMechanism.Unknown
                ? "The SSPI token is not an NTLM, SPNEGO (Negotiate) or Kerberos token."
                : $"This guest is not set up for {SspiMechanisms.Package(mechanism)} logons{Available()}.");
        }

        long id;
        lock (_lock)
        {
            var now = time.GetUtcNow();
            if (_exchanges.Count >= options.MaxPendingExchanges)
            {
                foreach (var stale in _exchanges.Values.Where(e => Expired(e, now)).ToList())
                {
                    _exchanges.Remove(stale.Id);
                    stale.Context.Dispose();
                }

                if (_exchanges.Count >= options.MaxPendingExchanges)
                {
                    LogTooManyExchanges(_exchanges.Count);
                    throw new GuestOperationException(GuestErrorCode.TooManyLogons,
                        $"Too many SSPI logons in progress in the guest ({options.MaxPendingExchanges}); retry when they have completed or timed out.");
                }
            }

            Span<byte> random = stackalloc byte[8];
            do
            {
                RandomNumberGenerator.Fill(random);
                id = BitConverter.ToInt64(random) & long.MaxValue; // unguessable, positive (xsd:long)
            }
            while (id == 0 || _exchanges.ContainsKey(id));
        }

        NegotiateAuthentication context;
        try
        {
            context = new NegotiateAuthentication(new NegotiateAuthenticationServerOptions { Package = SspiMechanisms.Package(mechanism) });
        }
        catch (Exception e) when (e is PlatformNotSupportedException or DllNotFoundException or EntryPointNotFoundException or TypeInitializationException)
        {
            LogGssUnavailable(e.Message);
            throw new GuestOperationException(GuestErrorCode.NotSupported, "GSSAPI is not available in this guest.");
        }

        LogStarted(id, SspiMechanisms.Package(mechanism));
        return new Exchange(id, context, mechanism) { LastLeg = time.GetUtcNow() };
    }

    private AcquireCredentialsResult Step(Exchange exchange, byte[] input)
    {
        byte[]? output;
        NegotiateAuthenticationStatusCode status;
        try
        {
            output = exchange.Context.GetOutgoingBlob(input, out status);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            exchange.Context.Dispose();
            LogFailed(exchange.Id, SspiMechanisms.Package(exchange.Mechanism), e.GetType().Name);
            throw InvalidLogin();
        }

        exchange.Legs++;
        switch (status)
        {
            case NegotiateAuthenticationStatusCode.ContinueNeeded when output is { Length: > 0 }:
                lock (_lock)
                {
                    exchange.LastLeg = time.GetUtcNow();
                    _exchanges[exchange.Id] = exchange;
                }

                return new AcquireCredentialsResult { SessionId = exchange.Id, ServerToken = Convert.ToBase64String(output) };

            // NegotiateAuthentication reports IsAuthenticated even after a failed last leg: only Completed counts.
            case NegotiateAuthenticationStatusCode.Completed when exchange.Context.IsAuthenticated:
                return Complete(exchange, output);

            default:
                exchange.Context.Dispose();
                LogFailed(exchange.Id, SspiMechanisms.Package(exchange.Mechanism), status.ToString());
                throw status == NegotiateAuthenticationStatusCode.Unsupported
                    ? new GuestOperationException(GuestErrorCode.NotSupported, $"The guest cannot do this {SspiMechanisms.Package(exchange.Mechanism)} exchange{Available()}.")
                    : InvalidLogin();
        }
    }

    private AcquireCredentialsResult Complete(Exchange exchange, byte[]? finalToken)
    {
        string? identity;
        try
        {
            identity = exchange.Context.RemoteIdentity.Name;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            identity = null;
        }
        finally
        {
            exchange.Context.Dispose();
        }

        var user = identities.Map(identity);
        if (user is null)
        {
            LogNoAccount(exchange.Id, identity ?? "(none)");
            throw InvalidLogin();
        }

        var ticket = tickets.Issue(user.Name);
        if (ticket is null)
        {
            LogTooManyTickets(user.Name, tickets.Count);
            throw new GuestOperationException(GuestErrorCode.TooManyLogons,
                "Too many guest logon sessions (tickets) are live; release some with ReleaseCredentialsInGuest.");
        }

        LogCompleted(exchange.Id, SspiMechanisms.Package(exchange.Mechanism), identity!, user.Name, exchange.Legs);
        return new AcquireCredentialsResult
        {
            Ticket = ticket,
            UserName = user.Name,
            ServerToken = finalToken is { Length: > 0 } ? Convert.ToBase64String(finalToken) : null,
        };
    }

    private static byte[] Decode(string? token)
    {
        if (string.IsNullOrEmpty(token) || token.Length > MaxTokenBytes * 4 / 3 + 4)
        {
            throw new GuestOperationException(GuestErrorCode.InvalidArgument, "The SSPI token is empty or too large.");
        }

        var bytes = new byte[token.Length * 3 / 4 + 3];
        if (!Convert.TryFromBase64String(token, bytes, out var written))
        {
            throw new GuestOperationException(GuestErrorCode.InvalidArgument, "The SSPI token is not base64.");
        }

        return bytes.AsSpan(0, written).ToArray();
    }

    private bool Expired(Exchange exchange, DateTimeOffset now) => now - exchange.LastLeg >= options.ExchangeTimeout;

    private string Available() => (NtlmAvailable, KerberosAvailable) switch
    {
        (true, true) => " (it accepts NTLM, Kerberos and Negotiate)",
        (true, false) => " (it accepts NTLM and Negotiate with NTLM)",
        (false, true) => " (it accepts Kerberos and Negotiate with Kerberos)",
        _ => " (it accepts no SSPI logons)",
    };

    private static GuestOperationException InvalidLogin() =>
        new(GuestErrorCode.InvalidLogin, "Failed to authenticate with the guest operating system using the supplied SSPI token.");

    private sealed class Exchange(long id, NegotiateAuthentication context, SspiMechanism mechanism)
    {
        public long Id { get; } = id;

        public NegotiateAuthentication Context { get; } = context;

        public SspiMechanism Mechanism { get; } = mechanism;

        public DateTimeOffset LastLeg { get; set; }

        public int Legs { get; set; }
    }

    [LoggerMessage(EventId = 5500, Level = LogLevel.Debug, Message = "SSPI session {Id}: {Package} exchange started")]
    private partial void LogStarted(long id, string package);

    [LoggerMessage(EventId = 5501, Level = LogLevel.Information, Message = "SSPI session {Id}: {Package} logon of {Identity} as guest user {User} after {Legs} legs; ticket issued")]
    private partial void LogCompleted(long id, string package, string identity, string user, int legs);

    [LoggerMessage(EventId = 5502, Level = LogLevel.Warning, Message = "SSPI session {Id}: {Package} logon failed: {Status}")]
    private partial void LogFailed(long id, string package, string status);

    [LoggerMessage(EventId = 5503, Level = LogLevel.Warning, Message = "SSPI session {Id}: {Identity} authenticated but maps to no guest account")]
    private partial void LogNoAccount(long id, string identity);

    [LoggerMessage(EventId = 5504, Level = LogLevel.Information, Message = "SSPI session {Id} is unknown or timed out")]
    private partial void LogUnknownSession(long id);

    [LoggerMessage(EventId = 5505, Level = LogLevel.Warning, Message = "SSPI logon refused: {Pending} exchanges already in progress")]
    private partial void LogTooManyExchanges(int pending);

    [LoggerMessage(EventId = 5506, Level = LogLevel.Warning, Message = "SSPI logon of {User} refused: {Count} tickets are live")]
    private partial void LogTooManyTickets(string user, int count);

    [LoggerMessage(EventId = 5507, Level = LogLevel.Information, Message = "SSPI logon refused: mechanism {Package} is not set up in this guest")]
    private partial void LogUnsupported(string package);

    [LoggerMessage(EventId = 5508, Level = LogLevel.Error, Message = "SSPI logon refused: GSSAPI is not available ({Detail})")]
    private partial void LogGssUnavailable(string detail);
}
