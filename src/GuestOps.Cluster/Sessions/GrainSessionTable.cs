using System.Collections.Concurrent;
using GuestOps.Host.Sessions;

namespace GuestOps.Cluster.Sessions;

/// <summary>
/// The sessions of the cluster, one <see cref="ISessionGrain"/> each, so a session started at one front end is found
/// at every other. A session this process has seen (started or found here) is answered from its copy here for
/// <see cref="RecheckAfter"/>; after that the next lookup asks the grain again, passing on the calls counted here in
/// between. So a front end makes at most one grain call per session and <see cref="RecheckAfter"/>, and a session ended
/// at another front end (Logout, TerminateSession, idle expiry) is refused here at most <see cref="RecheckAfter"/>
/// after it ended; one ended here is refused here at once. The grain's last-active time lags this process's by at most
/// <see cref="RecheckAfter"/>, far below any idle timeout. Expired sessions are looked for among those seen here: the
/// cluster keeps no list of all sessions, and a lookup anywhere refuses and ends an expired one anyway.
/// </summary>
public sealed class GrainSessionTable(IGrainFactory grains) : ISessionTable
{
    /// <summary>How long a copy of a session is answered without asking its grain.</summary>
    public static readonly TimeSpan RecheckAfter = TimeSpan.FromSeconds(1);

    private readonly ConcurrentDictionary<string, Entry> _seen = new(StringComparer.Ordinal);

    public async ValueTask AddAsync(SessionInfo session, CancellationToken cancellationToken = default)
    {
        await Grain(session.Key).StartAsync(session).WaitAsync(cancellationToken).ConfigureAwait(false);
        _seen[session.Key] = new Entry(session, session.LastActiveTime);
    }

    public async ValueTask<bool> RemoveAsync(string key, CancellationToken cancellationToken = default)
    {
        _seen.TryRemove(key, out _);
        return await Grain(key).EndAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<SessionInfo?> FindAsync(string key, bool touch, DateTime now, TimeSpan idleTimeout, CancellationToken cancellationToken = default)
    {
        if (_seen.TryGetValue(key, out var entry) && entry.TryAnswer(touch, now, idleTimeout) is { } copy)
        {
            return copy;
        }

        var calls = (entry?.TakeUncounted() ?? 0) + (touch ? 1 : 0);
        var session = await Grain(key).FindAsync(calls, now, idleTimeout).WaitAsync(cancellationToken).ConfigureAwait(false);
        if (session is null)
        {
            _seen.TryRemove(key, out _);
        }
        else if (entry is not null && _seen.TryGetValue(key, out var current) && ReferenceEquals(current, entry))
        {
            entry.Checked(session, now);
        }
        else
        {
            _seen[key] = new Entry(session, now);
        }

        return session;
    }

    public async ValueTask<IReadOnlyList<string>> ExpiredAsync(DateTime now, TimeSpan idleTimeout, CancellationToken cancellationToken = default)
    {
        var expired = new List<string>();
        foreach (var key in _seen.Keys)
        {
            switch (await Grain(key).IsExpiredAsync(now, idleTimeout).WaitAsync(cancellationToken).ConfigureAwait(false))
            {
                case true:
                    expired.Add(key);
                    break;
                case null: // ended at another front end
                    _seen.TryRemove(key, out _);
                    break;
            }
        }

        return expired;
    }

    private ISessionGrain Grain(string key) => grains.GetGrain<ISessionGrain>(key);

    /// <summary>This process's copy of a session: as its grain last answered, plus the calls made here since.</summary>
    private sealed class Entry(SessionInfo info, DateTime checkedAt)
    {
        private readonly Lock _lock = new();
        private SessionInfo _info = info;
        private DateTime _checkedAt = checkedAt;
        private long _uncounted;

        /// <summary>The copy (with <paramref name="touch"/>, touched here and counted for the grain's next call) when it
        /// was checked less than <see cref="RecheckAfter"/> before <paramref name="now"/> and is not idle too long;
        /// else null: ask the grain.</summary>
        public SessionInfo? TryAnswer(bool touch, DateTime now, TimeSpan idleTimeout)
        {
            lock (_lock)
            {
                if (now < _checkedAt || now - _checkedAt >= RecheckAfter || MemorySessionTable.IsExpired(_info, now, idleTimeout))
                {
                    return null;
                }

                if (touch)
                {
                    _info = _info with { LastActiveTime = now > _info.LastActiveTime ? now : _info.LastActiveTime, CallCount = _info.CallCount + 1 };
                    _uncounted++;
                }

                return _info;
            }
        }

        /// <summary>The calls answered here that the grain has not counted yet; from now on the caller passes them on.</summary>
        public long TakeUncounted()
        {
            lock (_lock)
            {
                var uncounted = _uncounted;
                _uncounted = 0;
                return uncounted;
            }
        }

        public void Checked(SessionInfo session, DateTime now)
        {
            lock (_lock)
            {
                _info = session with { CallCount = session.CallCount + _uncounted };
                _checkedAt = now;
            }
        }
    }
}
