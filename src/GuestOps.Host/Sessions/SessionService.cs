using System.Collections.Concurrent;
using System.Security.Cryptography;

namespace GuestOps.Host.Sessions;

/// <summary>A logged-in vSphere session as the host agent keeps it: who, from where, since when, how active.</summary>
public sealed record SessionInfo(
    string Key,
    string UserName,
    string FullName,
    DateTime LoginTime,
    DateTime LastActiveTime,
    string? IpAddress,
    string? UserAgent,
    string Locale,
    long CallCount);

/// <summary>A Login: the user's name and password, the client it comes from, and the session it replaces (if any).</summary>
public sealed record LoginRequest(string UserName, string Password, string? ClientAddress, string? UserAgent, string Locale, string? ReplacedKey);

public enum LoginOutcome
{
    LoggedIn,

    /// <summary>Wrong user name or password, or the user's logins from this client are locked out.</summary>
    InvalidLogin,

    /// <summary>The password is right, but the user holds no permission on this server.</summary>
    NoPermission,
}

/// <summary>The answer to a Login: the new session when <see cref="Outcome"/> is <see cref="LoginOutcome.LoggedIn"/>.</summary>
public sealed record LoginResult(LoginOutcome Outcome, SessionInfo? Session);

/// <summary>The vSphere sessions of this server: log in and out, find a session by its key (refreshing it as active),
/// terminate sessions, end idle ones.</summary>
public interface ISessionService
{
    ValueTask<LoginResult> LoginAsync(LoginRequest request, CancellationToken cancellationToken = default);

    /// <summary>Ends the session; nothing when there is none of that key.</summary>
    ValueTask LogoutAsync(string key, CancellationToken cancellationToken = default);

    /// <summary>The live session with that key (with <paramref name="touch"/>, refreshed as active and counted as a
    /// call); null when unknown or idle too long.</summary>
    ValueTask<SessionInfo?> FindAsync(string key, bool touch, CancellationToken cancellationToken = default);

    /// <summary>Ends the sessions of those keys; returns the keys that were live.</summary>
    ValueTask<IReadOnlyList<string>> TerminateAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken = default);

    /// <summary>Ends sessions idle for longer than the idle timeout; returns their keys.</summary>
    ValueTask<IReadOnlyList<string>> RemoveExpiredAsync(CancellationToken cancellationToken = default);
}

/// <summary>Whether a user whose password is right may log in (on ESXi: holds some permission).</summary>
public interface ILoginPolicy
{
    ValueTask<bool> MayLogInAsync(string userName, CancellationToken cancellationToken = default);
}

/// <summary>Where live sessions are kept: this process's memory (<see cref="MemorySessionTable"/>), or a store shared by
/// the processes of a cluster. The <see cref="SessionService"/> decides who logs in; the table only keeps sessions.</summary>
public interface ISessionTable
{
    ValueTask AddAsync(SessionInfo session, CancellationToken cancellationToken = default);

    /// <summary>Ends the session; false when there was none of that key.</summary>
    ValueTask<bool> RemoveAsync(string key, CancellationToken cancellationToken = default);

    /// <summary>The session with that key (with <paramref name="touch"/>, active at <paramref name="now"/> and counted as a
    /// call); null when unknown, or idle for longer than <paramref name="idleTimeout"/> (then it ends).</summary>
    ValueTask<SessionInfo?> FindAsync(string key, bool touch, DateTime now, TimeSpan idleTimeout, CancellationToken cancellationToken = default);

    /// <summary>Keys of the live sessions idle for longer than <paramref name="idleTimeout"/> at <paramref name="now"/>.</summary>
    ValueTask<IReadOnlyList<string>> ExpiredAsync(DateTime now, TimeSpan idleTimeout, CancellationToken cancellationToken = default);
}

/// <summary>
/// The vSphere sessions: passwords are checked against the <see cref="UserStore"/>, behind the <see cref="LoginLockout"/>;
/// sessions are kept in an <see cref="ISessionTable"/> (default: this process's memory). A session idle for longer than
/// the idle timeout ends (lookups refuse it at once, and <see cref="RemoveExpiredAsync"/> drops it).
/// </summary>
public sealed class SessionService(UserStore users, LoginLockout lockout, ILoginPolicy policy, TimeProvider time, TimeSpan idleTimeout, ISessionTable? table = null) : ISessionService
{
    private readonly ISessionTable _sessions = table ?? new MemorySessionTable();
    private readonly SemaphoreSlim _hashing = new(Environment.ProcessorCount);

    public TimeSpan IdleTimeout { get; } = idleTimeout;

    public async ValueTask<LoginResult> LoginAsync(LoginRequest request, CancellationToken cancellationToken = default)
    {
        // PBKDF2 is deliberately slow (tens of ms): it runs on a thread of its own, at most one per core at a time, never
        // on the thread pool, whose few threads also run every VM's channel read loop. Dozens of concurrent logins on the
        // pool starve those loops long enough for the host to take live workers for dead ones (missed heartbeats).
        await _hashing.WaitAsync(cancellationToken).ConfigureAwait(false);
        LocalUser? user;
        try
        {
            user = await Task.Factory.StartNew(() => Verify(request), cancellationToken, TaskCreationOptions.LongRunning, TaskScheduler.Default).ConfigureAwait(false);
        }
        finally
        {
            _hashing.Release();
        }

        if (user is null)
        {
            return new LoginResult(LoginOutcome.InvalidLogin, null);
        }

        if (!await policy.MayLogInAsync(user.Name, cancellationToken).ConfigureAwait(false))
        {
            return new LoginResult(LoginOutcome.NoPermission, null);
        }

        if (request.ReplacedKey is { } replaced)
        {
            await _sessions.RemoveAsync(replaced, cancellationToken).ConfigureAwait(false);
        }

        var now = Now;
        var session = new SessionInfo(NewKey(), user.Name, user.FullName, now, now, request.ClientAddress, request.UserAgent, request.Locale, 1);
        await _sessions.AddAsync(session, cancellationToken).ConfigureAwait(false);
        return new LoginResult(LoginOutcome.LoggedIn, session);
    }

    public async ValueTask LogoutAsync(string key, CancellationToken cancellationToken = default) =>
        await _sessions.RemoveAsync(key, cancellationToken).ConfigureAwait(false);

    public ValueTask<SessionInfo?> FindAsync(string key, bool touch, CancellationToken cancellationToken = default) =>
        _sessions.FindAsync(key, touch, Now, IdleTimeout, cancellationToken);

    public async ValueTask<IReadOnlyList<string>> TerminateAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken = default)
    {
        var ended = new List<string>(keys.Count);
        foreach (var key in keys)
        {
            if (await _sessions.RemoveAsync(key, cancellationToken).ConfigureAwait(false))
            {
                ended.Add(key);
            }
        }

        return ended;
    }

    public async ValueTask<IReadOnlyList<string>> RemoveExpiredAsync(CancellationToken cancellationToken = default) =>
        await TerminateAsync(await _sessions.ExpiredAsync(Now, IdleTimeout, cancellationToken).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);

    /// <summary>The user when the password is right and its logins from this client are not locked out.</summary>
    private LocalUser? Verify(LoginRequest request)
    {
        var user = lockout.IsLockedOut(request.UserName, request.ClientAddress) ? null : users.Verify(request.UserName, request.Password);
        if (user is null)
        {
            // A locked-out login gets the same answer as a wrong password: nothing tells the caller it was locked.
            lockout.RecordFailure(request.UserName, request.ClientAddress);
        }
        else
        {
            lockout.RecordSuccess(request.UserName, request.ClientAddress);
        }

        return user;
    }

    private DateTime Now => time.GetUtcNow().UtcDateTime;

    private static string NewKey()
    {
        // 128 random bits in the GUID-like shape vSphere clients expect to see.
        Span<byte> bytes = stackalloc byte[16];
        RandomNumberGenerator.Fill(bytes);
        return new Guid(bytes).ToString("D");
    }
}

/// <summary>The sessions in this process's memory.</summary>
public sealed class MemorySessionTable : ISessionTable
{
    private readonly ConcurrentDictionary<string, Entry> _sessions = new(StringComparer.Ordinal);

    public ValueTask AddAsync(SessionInfo session, CancellationToken cancellationToken = default)
    {
        _sessions[session.Key] = new Entry(session);
        return ValueTask.CompletedTask;
    }

    public ValueTask<bool> RemoveAsync(string key, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(_sessions.TryRemove(key, out _));

    public ValueTask<SessionInfo?> FindAsync(string key, bool touch, DateTime now, TimeSpan idleTimeout, CancellationToken cancellationToken = default)
    {
        if (!_sessions.TryGetValue(key, out var entry))
        {
            return ValueTask.FromResult<SessionInfo?>(null);
        }

        if (IsExpired(entry.Info, now, idleTimeout))
        {
            _sessions.TryRemove(key, out _);
            return ValueTask.FromResult<SessionInfo?>(null);
        }

        return ValueTask.FromResult<SessionInfo?>(touch ? entry.Touch(now) : entry.Info);
    }

    public ValueTask<IReadOnlyList<string>> ExpiredAsync(DateTime now, TimeSpan idleTimeout, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult<IReadOnlyList<string>>(_sessions.Values.Where(e => IsExpired(e.Info, now, idleTimeout)).Select(e => e.Info.Key).ToArray());

    /// <summary>Whether a session last active at <see cref="SessionInfo.LastActiveTime"/> has been idle too long.</summary>
    public static bool IsExpired(SessionInfo session, DateTime now, TimeSpan idleTimeout) => now - session.LastActiveTime > idleTimeout;

    /// <summary>A session's current state; replaced as a whole on every touch.</summary>
    private sealed class Entry(SessionInfo info)
    {
        private SessionInfo _info = info;

        public SessionInfo Info => Volatile.Read(ref _info);

        public SessionInfo Touch(DateTime now)
        {
            while (true)
            {
                var current = Info;
                var next = current with { LastActiveTime = now, CallCount = current.CallCount + 1 };
                if (ReferenceEquals(Interlocked.CompareExchange(ref _info, next, current), current))
                {
                    return next;
                }
            }
        }
    }
}
