using Microsoft.Extensions.Logging;

namespace GuestOps.Host.Sessions;

/// <summary>
/// vSphere Login brute-force protection, after ESXi's account lockout (<c>Security.AccountLockFailures</c>,
/// <c>Security.AccountUnlockTime</c>): after <see cref="FailureLimit"/> consecutive failed logins of one user name from one
/// client address, further logins of that name from that address are refused with <c>InvalidLogin</c> — the same
/// answer as a wrong password, without checking the password (no PBKDF2 work for the attacker either) — until
/// <see cref="LockoutTime"/> has passed since the last failure. A successful login clears the count. Keyed by name
/// and address, so an attacker elsewhere cannot lock an administrator out of their own machine. Memory is bounded:
/// at most <see cref="MaxTracked"/> records; expired ones are dropped first, then the oldest.
/// </summary>
public sealed partial class LoginLockout(TimeProvider time, int failureLimit, TimeSpan lockoutTime, ILogger<LoginLockout>? logger = null)
{
    /// <summary>Records kept at most (name, address pairs with failures).</summary>
    public const int MaxTracked = 10_000;

    private readonly Lock _lock = new();
    private readonly Dictionary<(string User, string Client), Entry> _entries = [];

    /// <summary>Consecutive failures that start a lockout; 0 turns the lockout off.</summary>
    public int FailureLimit { get; } = failureLimit;

    public TimeSpan LockoutTime { get; } = lockoutTime;

    /// <summary>Records currently kept (diagnostics and tests).</summary>
    public int Tracked
    {
        get
        {
            lock (_lock)
            {
                return _entries.Count;
            }
        }
    }

    /// <summary>Whether a login of <paramref name="user"/> from <paramref name="client"/> is refused now.</summary>
    public bool IsLockedOut(string user, string? client)
    {
        if (FailureLimit <= 0)
        {
            return false;
        }

        lock (_lock)
        {
            var key = Key(user, client);
            if (!_entries.TryGetValue(key, out var entry))
            {
                return false;
            }

            if (time.GetUtcNow() - entry.LastFailure >= LockoutTime)
            {
                _entries.Remove(key);
                return false;
            }

            return entry.Failures >= FailureLimit;
        }
    }

    public void RecordFailure(string user, string? client)
    {
        if (FailureLimit <= 0)
        {
            return;
        }

        int failures;
        lock (_lock)
        {
            var now = time.GetUtcNow();
            var key = Key(user, client);
            if (!_entries.TryGetValue(key, out var entry) || now - entry.LastFailure >= LockoutTime)
            {
                if (entry is null && _entries.Count >= MaxTracked)
                {
                    Prune(now);
                }

                entry = new Entry();
                _entries[key] = entry;
            }

            entry.Failures++;
            entry.LastFailure = now;
            failures = entry.Failures;
        }

        if (failures == FailureLimit && logger is not null)
        {
            LogLockedOut(logger, user, client ?? "?", failures, (int)LockoutTime.TotalSeconds);
        }
    }

    public void RecordSuccess(string user, string? client)
    {
        if (FailureLimit <= 0)
        {
            return;
        }

        lock (_lock)
        {
            _entries.Remove(Key(user, client));
        }
    }

    private static (string, string) Key(string user, string? client) => (user, client ?? "");

    private void Prune(DateTimeOffset now)
    {
        foreach (var (key, entry) in _entries)
        {
            if (now - entry.LastFailure >= LockoutTime)
            {
                _entries.Remove(key);
            }
        }

        if (_entries.Count >= MaxTracked)
        {
            // The oldest tenth goes at once, so a spray of names costs one sort per thousand attempts, not one each.
            var oldest = _entries.OrderBy(e => e.Value.LastFailure).Take(MaxTracked / 10).Select(e => e.Key).ToList();
            foreach (var key in oldest)
            {
                _entries.Remove(key);
            }
        }
    }

    private sealed class Entry
    {
        public int Failures;
        public DateTimeOffset LastFailure;
    }

    [LoggerMessage(EventId = 3400, Level = LogLevel.Warning, Message = "vSphere login of user '{User}' from {Client} locked out for {Seconds} s after {Failures} failed attempts")]
    private static partial void LogLockedOut(ILogger logger, string user, string client, int failures, int seconds);
}
