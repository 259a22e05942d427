using System.Collections.Concurrent;
using GuestOps.Host.Sessions;
using GuestOps.Soap;
using GuestOps.Vim;
using GuestOps.Vim.Contracts;

namespace GuestOps.Server.ManagedObjects;

/// <summary>vim.SessionManager: Login, Logout, SessionIsActive and the <c>currentSession</c> property, over the host
/// agent's <see cref="ISessionService"/>. Keeps, per live session, the objects it created on this front end.</summary>
public sealed class SessionManager(string id, PropertyReader reader, ISessionService sessions) : ManagedObject(id, reader), ISessionManager
{
    private static readonly PropertyTable<SessionManager> Table = new PropertyTable<SessionManager>()
        .Add("currentSession", (m, call) => (call.Session as Session)?.ToUserSession(), anonymous: true);

    private readonly ConcurrentDictionary<string, Session> _sessions = new(StringComparer.Ordinal);

    public override PropertyTable Properties => Table;

    public async Task<UserSession> LoginAsync(ManagedObjectReference _this, string userName, string password, string? locale)
    {
        var call = Call;
        var previous = call.Session as Session;
        var result = await sessions.LoginAsync(
            new LoginRequest(userName, password, call.Request.ClientAddress, call.Request.UserAgent, string.IsNullOrEmpty(locale) ? "en" : locale, previous?.Key),
            call.CancellationToken).ConfigureAwait(false);
        switch (result)
        {
            case { Outcome: LoginOutcome.LoggedIn, Session: { } info }:
                if (previous is not null)
                {
                    Forget(previous.Key);
                }

                var session = new Session(info);
                _sessions[session.Key] = session;
                call.Session = session;
                call.IssuedSessionKey = session.Key;
                return session.ToUserSession();
            case { Outcome: LoginOutcome.NoPermission }:
                throw new VimFaultException(
                    new NoPermission { @object = Ref, privilegeId = Privileges.SystemView },
                    $"User {userName} has no permission on this server and cannot log in.");
            default:
                throw new VimFaultException(new InvalidLogin(), "Cannot complete login due to an incorrect user name or password.");
        }
    }

    public async Task LogoutAsync(ManagedObjectReference _this)
    {
        var call = Call;
        if (call.Session is Session session)
        {
            await sessions.LogoutAsync(session.Key, call.CancellationToken).ConfigureAwait(false);
            Forget(session.Key);
        }
    }

    public async Task<bool> SessionIsActiveAsync(ManagedObjectReference _this, string sessionID, string userName) =>
        await sessions.FindAsync(sessionID, touch: false, Call.CancellationToken).ConfigureAwait(false) is { } session && session.UserName == userName;

    /// <summary>The live session with that key, refreshed as active; null when unknown or idle too long.</summary>
    public async ValueTask<Session?> TouchAsync(string key, CancellationToken cancellationToken = default)
    {
        if (await sessions.FindAsync(key, touch: true, cancellationToken).ConfigureAwait(false) is not { } info)
        {
            Forget(key);
            return null;
        }

        var session = _sessions.GetOrAdd(key, static (_, info) => new Session(info), info);
        session.Info = info;
        return session;
    }

    /// <summary>Ends sessions idle for longer than the timeout, with what they created here.</summary>
    public async Task<int> RemoveExpiredAsync(CancellationToken cancellationToken = default)
    {
        var removed = await sessions.RemoveExpiredAsync(cancellationToken).ConfigureAwait(false);
        foreach (var key in removed)
        {
            Forget(key);
        }

        // Sessions that ended elsewhere (another front end's Logout) are dropped here at their next lookup, or now.
        foreach (var key in _sessions.Keys)
        {
            if (await sessions.FindAsync(key, touch: false, cancellationToken).ConfigureAwait(false) is null)
            {
                Forget(key);
            }
        }

        return removed.Count;
    }

    private void Forget(string key)
    {
        if (_sessions.TryRemove(key, out var session))
        {
            session.Views.Clear();
            session.PendingResults.Clear();
        }
    }
}
