using System.Security.Cryptography;
using System.Text;

namespace GuestOps.Tools.Auth;

/// <summary>
/// The tickets this worker issued (vim25 TicketedSessionAuthentication). A ticket is 256 random bits, base64; only its
/// SHA-256 is kept, mapped to the guest account it stands for. It lives in this process alone, so it is bound to this
/// guest (another VM's worker never knows it) and dies with the worker. It expires when unused for
/// <paramref name="idleTimeout"/>, and ends when released. At most <paramref name="maxTickets"/> live at once.
/// </summary>
public sealed class TicketStore(TimeProvider time, TimeSpan idleTimeout, int maxTickets)
{
    private readonly object _lock = new();
    private readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);

    public TimeSpan IdleTimeout { get; } = idleTimeout;

    /// <summary>Live tickets (expired ones not yet pruned included).</summary>
    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _entries.Count;
            }
        }
    }

    /// <summary>A new ticket for <paramref name="userName"/>; null when <paramref name="maxTickets"/> live tickets exist.</summary>
    public string? Issue(string userName)
    {
        var ticket = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        lock (_lock)
        {
            var now = time.GetUtcNow();
            if (_entries.Count >= maxTickets)
            {
                Prune(now);
                if (_entries.Count >= maxTickets)
                {
                    return null;
                }
            }

            _entries[Key(ticket)] = new Entry(userName) { LastUse = now };
        }

        return ticket;
    }

    /// <summary>The account a live ticket stands for (and marks it used), or null.</summary>
    public string? Find(string ticket)
    {
        if (KeyOf(ticket) is not { } key)
        {
            return null;
        }

        lock (_lock)
        {
            if (!_entries.TryGetValue(key, out var entry))
            {
                return null;
            }

            var now = time.GetUtcNow();
            if (now - entry.LastUse >= IdleTimeout)
            {
                _entries.Remove(key);
                return null;
            }

            entry.LastUse = now;
            return entry.UserName;
        }
    }

    /// <summary>Ends a ticket; false when it was not live.</summary>
    public bool Revoke(string ticket)
    {
        if (KeyOf(ticket) is not { } key)
        {
            return false;
        }

        lock (_lock)
        {
            if (!_entries.Remove(key, out var entry))
            {
                return false;
            }

            return time.GetUtcNow() - entry.LastUse < IdleTimeout;
        }
    }

    private void Prune(DateTimeOffset now)
    {
        foreach (var key in _entries.Where(kv => now - kv.Value.LastUse >= IdleTimeout).Select(kv => kv.Key).ToList())
        {
            _entries.Remove(key);
        }
    }

    /// <summary>The stored key of a ticket; null for one no ticket can be (empty, or longer than any issued).</summary>
    private static string? KeyOf(string ticket) => string.IsNullOrEmpty(ticket) || ticket.Length > 1024 ? null : Key(ticket);

    private static string Key(string ticket) => Convert.ToBase64String(SHA256.HashData(Encoding.UTF8.GetBytes(ticket)));

    private sealed class Entry(string userName)
    {
        public string UserName { get; } = userName;

        public DateTimeOffset LastUse { get; set; }
    }
}
