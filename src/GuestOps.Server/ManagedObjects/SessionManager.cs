using System.Collections.Concurrent;
using System.Security.Cryptography;
using GuestOps.Server.Sessions;
using GuestOps.Soap;
using GuestOps.Vim;
using GuestOps.Vim.Contracts;

namespace GuestOps.Server.ManagedObjects;

/// <summary>vim.SessionManager: Login, Logout, SessionIsActive and the <c>currentSession</c> property.</summary>
public sealed partial class SessionManager : ManagedObject, ISessionManager
{
    private static readonly PropertyTable<SessionManager> Table = new PropertyTable<SessionManager>()
        .Add("currentSession", (m, call) => (call.Session as Session)?.ToUserSession(), anonymous: true);

    private readonly ConcurrentDictionary<string, Session> _sessions = new(StringComparer.Ordinal);
    private readonly UserStore _users;
    private readonly TimeProvider _time;
    private readonly TimeSpan _idleTimeout;
    private readonly SemaphoreSlim _hashing = new(Environment.ProcessorCount);
    private readonly Func<string, bool> _mayLogIn;

    /// <param name="mayLogIn">Whether a user whose password is right may log in (on ESXi: holds some permission).</param>
    public SessionManager(string id, PropertyReader reader, UserStore users, TimeProvider time, TimeSpan idleTimeout, Func<string, bool>? mayLogIn = null)
        : base(id, reader)
    {
        _users = users;
        _time = time;
        _idleTimeout = idleTimeout;
        _mayLogIn = mayLogIn ?? (_ => true);
    }

    public override PropertyTable Properties => Table;

    /// <summary>Refuses a user's logins from a client after repeated failures (ESXi's account lockout); none when null.</summary>
    public LoginLockout? Lockout { get; set; }

    public async Task<UserSession> LoginAsync(ManagedObjectReference _this, string userName, string password, string? locale)
    {
        var call = Call;
        // PBKDF2 is deliberately slow (tens of ms): it runs on a thread of its own, at most one per core at a time, never
        // on the thread pool, whose few threads also run every VM's channel read loop. Dozens of concurrent logins on the
        // pool starved those loops long enough for the host to take live workers for dead ones (missed heartbeats,
        // issue 9's load run).
        await _hashing.WaitAsync(call.CancellationToken).ConfigureAwait(false);
        try
        {
            return await Task.Factory.StartNew(() => LoginCore(call, userName, password, locale), call.CancellationToken, TaskCreationOptions.LongRunning, TaskScheduler.Default).ConfigureAwait(false);
        }
        finally
        {
            _hashing.Release();
        }
    }

    private UserSession LoginCore(VimCall call, string userName, string password, string? locale)
    {
        var client = call.Request.ClientAddress;
        var lockout = Lockout;
        var user = lockout?.IsLockedOut(userName, client) == true ? null : _users.Verify(userName, password);
        if (user is null)
        {
            // A locked-out login gets the same answer as a wrong password: nothing tells the caller it was locked.
            lockout?.RecordFailure(userName, client);
            throw new VimFaultException(new InvalidLogin(), "Cannot complete login due to an incorrect user name or password.");
        }

        lockout?.RecordSuccess(userName, client);
        if (!_mayLogIn(user.Name))
        {
            throw new VimFaultException(
                new NoPermission { @object = Ref, privilegeId = Privileges.SystemView },
                $"User {user.Name} has no permission on this server and cannot log in.");
        }

        if (call.Session is Session previous)
        {
            End(previous);
        }

        var session = new Session(NewKey(), user, Now, call.Request.ClientAddress, call.Request.UserAgent, string.IsNullOrEmpty(locale) ? "en" : locale);
        session.Touch(Now);
        _sessions[session.Key] = session;
        call.Session = session;
        call.IssuedSessionKey = session.Key;
        return session.ToUserSession();
    }

    public Task LogoutAsync(ManagedObjectReference _this)
    {
        var call = Call;
        if (call.Session is Session session)
        {
            End(session);
        }

        return Task.CompletedTask;
    }

    public Task<bool> SessionIsActiveAsync(ManagedObjectReference _this, string sessionID, string userName) =>
        Task.FromResult(Find(sessionID) is { } session && session.UserName == userName);

    /// <summary>The live session with that key, refreshed as active; null when unknown or idle too long.</summary>
    public Session? Touch(string key)
    {
        var session = Find(key);
        session?.Touch(Now);
        return session;
    }

    /// <summary>Ends sessions idle for longer than the timeout.</summary>
    public int RemoveExpired()
    {
        var removed = 0;
        foreach (var session in _sessions.Values)
        {
            if (IsExpired(session))
            {
                End(session);
                removed++;
            }
        }

        return removed;
    }

    private Session? Find(string key)
    {
        if (!_sessions.TryGetValue(key, out var session))
        {
            return null;
        }

        if (IsExpired(session))
        {
            End(session);
            return null;
        }

        return session;
    }

    private bool IsExpired(Session session) => Now - session.LastActiveTime > _idleTimeout;

    private void End(Session session)
    {
        _sessions.TryRemove(session.Key, out _);
        session.Views.Clear();
        session.PendingResults.Clear();
    }

    private DateTime Now => _time.GetUtcNow().UtcDateTime;

    private static string NewKey()
    {
        // 128 random bits in the GUID-like shape vSphere clients expect to see.
        Span<byte> bytes = stackalloc byte[16];
        RandomNumberGenerator.Fill(bytes);
        return new Guid(bytes).ToString("D");
    }
}
