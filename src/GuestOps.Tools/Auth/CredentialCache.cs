using System.Buffers;
using System.Security.Cryptography;
using System.Text;

namespace GuestOps.Tools.Auth;

/// <summary>
/// Remembers recently verified name/password pairs for a short time so slow password hashes (or a remote directory)
/// are not paid on every call. Keys are HMAC-SHA256(per-process random key, user NUL password): neither the password
/// nor an offline-crackable plain hash of it is kept; the key never leaves the process. Bounded size; entries expire
/// after <paramref name="ttl"/>. A changed or revoked password keeps working for at most the TTL — hence short, and off
/// unless configured. The account resolved when the pair was verified (uid, groups, home) is kept with it, so a cache
/// hit costs no user-database lookup either; changes to the account are likewise seen within the TTL.
/// </summary>
public sealed class CredentialCache(TimeSpan ttl, TimeProvider time, int maxEntries = 1024)
{
    private readonly object _lock = new();
    private readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly byte[] _key = RandomNumberGenerator.GetBytes(32);

    public TimeSpan Ttl { get; } = ttl;

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

    /// <summary>The account verified with this name and password within the TTL, or false.</summary>
    public bool TryGet(string user, string password, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out Identity.GuestUser? account)
    {
        var key = Key(user, password);
        lock (_lock)
        {
            account = null;
            if (!_entries.TryGetValue(key, out var e))
            {
                return false;
            }

            if (e.Expires <= time.GetUtcNow())
            {
                _entries.Remove(key);
                return false;
            }

            account = e.Account;
            return true;
        }
    }

    public void Add(string user, string password, Identity.GuestUser account)
    {
        var key = Key(user, password);
        lock (_lock)
        {
            var now = time.GetUtcNow();
            if (_entries.Count >= maxEntries && !_entries.ContainsKey(key))
            {
                foreach (var stale in _entries.Where(kv => kv.Value.Expires <= now).Select(kv => kv.Key).ToList())
                {
                    _entries.Remove(stale);
                }

                if (_entries.Count >= maxEntries)
                {
                    return; // full of live entries: just don't cache
                }
            }

            _entries[key] = new Entry(user, account, now + Ttl);
        }
    }

    private string Key(string user, string password)
    {
        var length = Encoding.UTF8.GetByteCount(user) + 1 + Encoding.UTF8.GetByteCount(password);
        var buffer = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            var n = Encoding.UTF8.GetBytes(user, buffer);
            buffer[n++] = 0;
            n += Encoding.UTF8.GetBytes(password, buffer.AsSpan(n));
            Span<byte> mac = stackalloc byte[32];
            HMACSHA256.HashData(_key, buffer.AsSpan(0, n), mac);
            return Convert.ToBase64String(mac);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(buffer.AsSpan(0, length));
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private sealed record Entry(string User, Identity.GuestUser Account, DateTimeOffset Expires);
}
