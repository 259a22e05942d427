using System.Collections.Concurrent;
using GuestOps.Host.Sessions;

namespace GuestOps.Cluster.Sessions;

/// <summary>
/// The sessions of the cluster, one <see cref="ISessionGrain"/> each, so a session started at one front end is found
/// at every other. Expired sessions are looked for among those this process has seen (started or found here): the
/// cluster keeps no list of all sessions, and a lookup anywhere refuses and ends an expired one anyway.
/// </summary>
public sealed class GrainSessionTable(IGrainFactory grains) : ISessionTable
{
    private readonly ConcurrentDictionary<string, byte> _seen = new(StringComparer.Ordinal);

    public async ValueTask AddAsync(SessionInfo session, CancellationToken cancellationToken = default)
    {
        await Grain(session.Key).StartAsync(session).WaitAsync(cancellationToken).ConfigureAwait(false);
        _seen[session.Key] = 0;
    }

    public async ValueTask<bool> RemoveAsync(string key, CancellationToken cancellationToken = default)
    {
        _seen.TryRemove(key, out _);
        return await Grain(key).EndAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<SessionInfo?> FindAsync(string key, bool touch, DateTime now, TimeSpan idleTimeout, CancellationToken cancellationToken = default)
    {
        var session = await Grain(key).FindAsync(touch, now, idleTimeout).WaitAsync(cancellationToken).ConfigureAwait(false);
        if (session is null)
        {
            _seen.TryRemove(key, out _);
        }
        else
        {
            _seen[key] = 0;
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
}
