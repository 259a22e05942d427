using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using GuestOps.Host.Enrollment;

namespace GuestOps.Host.Sessions;

/// <summary>A local vSphere user of this server. The password is kept only as a salted PBKDF2 hash.</summary>
public sealed record LocalUser(string Name, string FullName, string Salt, string Hash, int Iterations);

/// <summary>A local group of users (a principal of permissions, as on ESXi).</summary>
public sealed record LocalGroup(string Name, string Description, string[] Members);

/// <summary>
/// The server's local users and groups, persisted as <c>users.json</c> and <c>groups.json</c> under the state
/// directory. Passwords are verified with PBKDF2-HMAC-SHA512 and a constant-time comparison; they are never logged
/// or stored.
/// </summary>
public sealed class UserStore
{
    public const int Iterations = 210_000;

    private readonly string _path;
    private readonly string _groupsPath;
    private readonly Lock _lock = new();
    private Dictionary<string, LocalUser> _users;
    private Dictionary<string, LocalGroup> _groups;
    private long _version;

    public UserStore(string stateDirectory)
    {
        _path = Path.Combine(stateDirectory, "users.json");
        _groupsPath = Path.Combine(stateDirectory, "groups.json");
        _users = File.Exists(_path)
            ? (JsonSerializer.Deserialize(File.ReadAllText(_path), UserStoreJson.Default.LocalUserArray) ?? [])
                .ToDictionary(u => u.Name, StringComparer.Ordinal)
            : new Dictionary<string, LocalUser>(StringComparer.Ordinal);
        _groups = File.Exists(_groupsPath)
            ? (JsonSerializer.Deserialize(File.ReadAllText(_groupsPath), UserStoreJson.Default.LocalGroupArray) ?? [])
                .ToDictionary(g => g.Name, StringComparer.Ordinal)
            : new Dictionary<string, LocalGroup>(StringComparer.Ordinal);
    }

    /// <summary>Changes with every change of users or groups (for caches of what a user may do).</summary>
    public long Version => Interlocked.Read(ref _version);

    public IReadOnlyList<LocalUser> Users
    {
        get
        {
            lock (_lock)
            {
                return _users.Values.ToArray();
            }
        }
    }

    public IReadOnlyList<LocalGroup> Groups
    {
        get
        {
            lock (_lock)
            {
                return _groups.Values.ToArray();
            }
        }
    }

    public LocalGroup? FindGroup(string name)
    {
        lock (_lock)
        {
            return _groups.GetValueOrDefault(name);
        }
    }

    /// <summary>The groups <paramref name="user"/> belongs to.</summary>
    public IReadOnlyList<string> GroupsOf(string user)
    {
        lock (_lock)
        {
            return _groups.Values.Where(g => g.Members.Contains(user, StringComparer.Ordinal)).Select(g => g.Name).ToArray();
        }
    }

    /// <summary>Creates a user; false when one of that name exists.</summary>
    public bool Create(string name, string fullName, string password)
    {
        var user = Hashed(name, fullName, password);
        lock (_lock)
        {
            if (_users.ContainsKey(name))
            {
                return false;
            }

            _users = new Dictionary<string, LocalUser>(_users, StringComparer.Ordinal) { [name] = user };
            Save();
            return true;
        }
    }

    /// <summary>Changes a user's description and, when given, password. False when there is no such user.</summary>
    public bool Update(string name, string? fullName, string? password)
    {
        lock (_lock)
        {
            if (!_users.TryGetValue(name, out var user))
            {
                return false;
            }

            var updated = password is null ? user : Hashed(name, user.FullName, password);
            updated = updated with { FullName = fullName ?? user.FullName };
            _users = new Dictionary<string, LocalUser>(_users, StringComparer.Ordinal) { [name] = updated };
            Save();
            return true;
        }
    }

    /// <summary>Removes a user and its group memberships. False when there is no such user.</summary>
    public bool Remove(string name)
    {
        lock (_lock)
        {
            if (!_users.ContainsKey(name))
            {
                return false;
            }

            var users = new Dictionary<string, LocalUser>(_users, StringComparer.Ordinal);
            users.Remove(name);
            _users = users;
            _groups = _groups.Values
                .Select(g => g with { Members = g.Members.Where(m => m != name).ToArray() })
                .ToDictionary(g => g.Name, StringComparer.Ordinal);
            Save();
            SaveGroups();
            return true;
        }
    }

    /// <summary>Creates a group; false when it exists.</summary>
    public bool CreateGroup(string name, string description)
    {
        lock (_lock)
        {
            if (_groups.ContainsKey(name))
            {
                return false;
            }

            _groups = new Dictionary<string, LocalGroup>(_groups, StringComparer.Ordinal) { [name] = new LocalGroup(name, description, []) };
            SaveGroups();
            return true;
        }
    }

    public bool RemoveGroup(string name)
    {
        lock (_lock)
        {
            if (!_groups.ContainsKey(name))
            {
                return false;
            }

            var groups = new Dictionary<string, LocalGroup>(_groups, StringComparer.Ordinal);
            groups.Remove(name);
            _groups = groups;
            SaveGroups();
            return true;
        }
    }

    /// <summary>Adds or removes a member. The caller checks that both exist.</summary>
    public bool SetMembership(string group, string user, bool member)
    {
        lock (_lock)
        {
            if (!_groups.TryGetValue(group, out var existing) || existing.Members.Contains(user, StringComparer.Ordinal) == member)
            {
                return false;
            }

            var members = member ? existing.Members.Append(user).ToArray() : existing.Members.Where(m => m != user).ToArray();
            _groups = new Dictionary<string, LocalGroup>(_groups, StringComparer.Ordinal) { [group] = existing with { Members = members } };
            SaveGroups();
            return true;
        }
    }

    public bool IsEmpty
    {
        get
        {
            lock (_lock)
            {
                return _users.Count == 0;
            }
        }
    }

    public LocalUser? Find(string name)
    {
        lock (_lock)
        {
            return _users.GetValueOrDefault(name);
        }
    }

    /// <summary>Creates or replaces a user and persists the store.</summary>
    public void Set(string name, string fullName, string password)
    {
        var user = Hashed(name, fullName, password);
        lock (_lock)
        {
            _users = new Dictionary<string, LocalUser>(_users, StringComparer.Ordinal) { [name] = user };
            Save();
        }
    }

    /// <summary>The user when the password is right, else null. Costs the same time for unknown users.</summary>
    public LocalUser? Verify(string name, string password)
    {
        var user = Find(name);
        var salt = user is null ? new byte[16] : Convert.FromBase64String(user.Salt);
        var expected = user is null ? new byte[32] : Convert.FromBase64String(user.Hash);
        var actual = Rfc2898DeriveBytes.Pbkdf2(password, salt, user?.Iterations ?? Iterations, HashAlgorithmName.SHA512, expected.Length);
        return CryptographicOperations.FixedTimeEquals(actual, expected) && user is not null ? user : null;
    }

    private static LocalUser Hashed(string name, string fullName, string password)
    {
        var salt = RandomNumberGenerator.GetBytes(16);
        var hash = Rfc2898DeriveBytes.Pbkdf2(password, salt, Iterations, HashAlgorithmName.SHA512, 32);
        return new LocalUser(name, fullName, Convert.ToBase64String(salt), Convert.ToBase64String(hash), Iterations);
    }

    private void Save()
    {
        StateFiles.WriteAtomically(_path, JsonSerializer.Serialize(_users.Values.ToArray(), UserStoreJson.Default.LocalUserArray));
        Interlocked.Increment(ref _version);
    }

    private void SaveGroups()
    {
        StateFiles.WriteAtomically(_groupsPath, JsonSerializer.Serialize(_groups.Values.ToArray(), UserStoreJson.Default.LocalGroupArray));
        Interlocked.Increment(ref _version);
    }
}

[JsonSerializable(typeof(LocalUser[]))]
[JsonSerializable(typeof(LocalGroup[]))]
[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
internal sealed partial class UserStoreJson : JsonSerializerContext;
