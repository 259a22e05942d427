using GuestOps.Channel.Messages;
using GuestOps.Tools.Identity;
using Microsoft.Extensions.Logging;
using GuestOps.Tools.Errors;

namespace GuestOps.Tools.Auth;

/// <summary>
/// Turns a request's credential into a resolved guest user, on every call: shape checks, per-user failure throttle,
/// optional verified-credential cache, the authenticator (PAM), then the account lookup. Any failure is
/// <see cref="GuestErrorCode.InvalidLogin"/>. Tickets (issued by an SSPI logon) are looked up in <paramref name="tickets"/>;
/// without one, ticket credentials are <see cref="GuestErrorCode.NotSupported"/>.
/// </summary>
public sealed partial class GuestAuthenticationService(
    IGuestAuthenticator authenticator,
    IUserDirectory users,
    LoginThrottle throttle,
    CredentialCache? cache,
    ILogger<GuestAuthenticationService> logger,
    TicketStore? tickets = null)
{
    private const int MaxNameLength = 256;
    private const int MaxPasswordLength = 4096;

    public async Task<GuestUser> AuthenticateAsync(GuestCredential? credential, CancellationToken cancellationToken)
    {
        switch (credential)
        {
            case null:
                throw new GuestOperationException(GuestErrorCode.InvalidLogin, "The request carries no guest credentials.");
            case GuestTicketCredential when tickets is null:
                throw new GuestOperationException(GuestErrorCode.NotSupported, "Ticketed sessions are not supported by this guest agent.");
            case GuestTicketCredential t:
                return AuthenticateTicket(tickets, t.Ticket);
            case GuestPasswordCredential p:
                return await AuthenticatePasswordAsync(p.UserName, p.Password, cancellationToken).ConfigureAwait(false);
            default:
                throw new GuestOperationException(GuestErrorCode.NotSupported, $"Unsupported credential type {credential.GetType().Name}.");
        }
    }

    private async Task<GuestUser> AuthenticatePasswordAsync(string user, string password, CancellationToken ct)
    {
        if (string.IsNullOrEmpty(user) || user.Length > MaxNameLength || user.Contains('\0')
            || password is null || password.Length > MaxPasswordLength || password.Contains('\0'))
        {
            LogRejectedShape();
            throw InvalidLogin();
        }

        if (cache is not null && cache.TryGet(user, password, out var cached))
        {
            LogCacheHit(user);
            return cached;
        }

        await throttle.WaitAsync(user, ct).ConfigureAwait(false);
        var (result, detail) = await authenticator.AuthenticateAsync(user, password, ct).ConfigureAwait(false);
        if (result != AuthenticationResult.Success)
        {
            throttle.RecordFailure(user);
            if (result == AuthenticationResult.SystemError)
            {
                LogAuthSystemError(user, detail);
            }
            else
            {
                LogAuthRejected(user, detail, throttle.FailureCount(user));
            }

            throw InvalidLogin();
        }

        throttle.RecordSuccess(user);
        LogAuthenticated(user);
        var account = users.FindByName(user);
        if (account is null)
        {
            LogNoAccount(user);
            throw InvalidLogin();
        }

        cache?.Add(user, password, account);
        return account;
    }

    private GuestUser AuthenticateTicket(TicketStore store, string ticket)
    {
        var name = store.Find(ticket);
        if (name is null)
        {
            LogTicketRejected();
            throw new GuestOperationException(GuestErrorCode.InvalidLogin, "The ticket is not valid in this guest: it was released, expired, or issued elsewhere.");
        }

        var account = users.FindByName(name);
        if (account is null)
        {
            store.Revoke(ticket);
            LogNoAccount(name);
            throw InvalidLogin();
        }

        return account;
    }

    private static GuestOperationException InvalidLogin() =>
        new(GuestErrorCode.InvalidLogin, "Failed to authenticate with the guest operating system using the supplied credentials.");

    [LoggerMessage(EventId = 5100, Level = LogLevel.Debug, Message = "User {User} authenticated")]
    private partial void LogAuthenticated(string user);

    [LoggerMessage(EventId = 5101, Level = LogLevel.Debug, Message = "User {User} authenticated from the credential cache")]
    private partial void LogCacheHit(string user);

    [LoggerMessage(EventId = 5102, Level = LogLevel.Warning, Message = "Authentication of {User} rejected: {Detail} ({Failures} consecutive failures)")]
    private partial void LogAuthRejected(string user, string detail, int failures);

    [LoggerMessage(EventId = 5103, Level = LogLevel.Error, Message = "Authentication of {User} failed in the PAM stack: {Detail}")]
    private partial void LogAuthSystemError(string user, string detail);

    [LoggerMessage(EventId = 5104, Level = LogLevel.Warning, Message = "Authentication rejected: malformed user name or password")]
    private partial void LogRejectedShape();

    [LoggerMessage(EventId = 5106, Level = LogLevel.Information, Message = "Ticket rejected: unknown, released or expired")]
    private partial void LogTicketRejected();

    [LoggerMessage(EventId = 5105, Level = LogLevel.Warning, Message = "User {User} authenticated but has no account entry")]
    private partial void LogNoAccount(string user);
}
