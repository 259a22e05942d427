namespace GuestOps.Tools.Auth;

/// <summary>
/// Slows down repeated failed logins per user name: after n consecutive failures, attempts for that name are spaced
/// by <c>min(baseDelay * 2^(n-1), maxDelay)</c> — including concurrent ones, which queue behind each other. A success
/// clears the record. Waiting is asynchronous (no thread is held). Bounded memory: at most
/// <paramref name="maxTrackedUsers"/> names; stale records are dropped first.
/// </summary>
public sealed class LoginThrottle(TimeProvider time, TimeSpan baseDelay, TimeSpan maxDelay, int maxTrackedUsers = 4096)
{
    private readonly object _lock = new();
    private readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);

    public static LoginThrottle CreateDefault(TimeProvider time) => new(time, TimeSpan.FromMilliseconds(250), TimeSpan.FromSeconds(4));

    /// <summary>Consecutive failures recorded for <paramref name="user"/>.</summary>
    public int FailureCount(string user)
    {
        lock (_lock)
        {
            return _entries.TryGetValue(user, out var e) ? e.Failures : 0;
        }
    }

    /// <summary>Waits for this user's next attempt slot (returns at once for users without failures).</summary>
    public Task WaitAsync(string user, CancellationToken cancellationToken)
    {
        TimeSpan wait;
        lock (_lock)
        {
            if (!_entries.TryGetValue(user, out var e) || e.Failures == 0)
            {
                return Task.CompletedTask;
            }

            var now = time.GetUtcNow();
            var slot = e.NextAttempt > now ? e.NextAttempt : now;
            e.NextAttempt = slot + DelayFor(e.Failures); // reserve: concurrent attempts queue behind this one
            wait = slot - now;
        }

        return wait <= TimeSpan.Zero ? Task.CompletedTask : Task.Delay(wait, time, cancellationToken);
    }

    public void RecordFailure(string user)
    {
        lock (_lock)
        {
            var now = time.GetUtcNow();
            if (!_entries.TryGetValue(user, out var e))
            {
                if (_entries.Count >= maxTrackedUsers)
                {
                    Prune(now);
                }

                e = new Entry();
                _entries[user] = e;
            }

            e.Failures++;
            e.LastFailure = now;
            var next = now + DelayFor(e.Failures);
            if (next > e.NextAttempt)
            {
                e.NextAttempt = next;
            }
        }
    }

    public void RecordSuccess(string user)
    {
        lock (_lock)
        {
            _entries.Remove(user);
        }
    }

    private TimeSpan DelayFor(int failures)
    {
        var factor = Math.Pow(2, Math.Min(failures - 1, 20));
        var ms = Math.Min(baseDelay.TotalMilliseconds * factor, maxDelay.TotalMilliseconds);
        return TimeSpan.FromMilliseconds(ms);
    }

    private void Prune(DateTimeOffset now)
    {
        var stale = _entries.Where(kv => now - kv.Value.LastFailure > maxDelay * 4).Select(kv => kv.Key).ToList();
        foreach (var k in stale)
        {
            _entries.Remove(k);
        }

        if (_entries.Count >= maxTrackedUsers)
        {
            _entries.Clear(); // under a flood of distinct names, forget rather than grow
        }
    }

    private sealed class Entry
    {
        public int Failures { get; set; }

        public DateTimeOffset NextAttempt { get; set; }

        public DateTimeOffset LastFailure { get; set; }
    }
}
