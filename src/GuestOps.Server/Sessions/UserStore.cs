using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace GuestOps.Server.Sessions;

/// <summary>A local vSphere user of this server. The password is kept only as a salted PBKDF2 hash.</summary>
public sealed record LocalUser(string Name, string FullName, string Salt, string Hash, int Iterations);

/// <summary>
/// The server's local users, persisted as <c>users.json</c> under the state directory. Passwords are verified with
/// PBKDF2-HMAC-SHA512 and a constant-time comparison; they are never logged or stored.
/// </summary>
public sealed class UserStore
{
    public const int Iterations = 210_000;

    private readonly string _path;
    private readonly Lock _lock = new();
    private Dictionary<string, LocalUser> _users;

    public UserStore(string stateDirectory)
    {
        _path = Path.Combine(stateDirectory, "users.json");
        _users = File.Exists(_path)
            ? (JsonSerializer.Deserialize(File.ReadAllText(_path), UserStoreJson.Default.LocalUserArray) ?? [])
                .ToDictionary(u => u.Name, StringComparer.Ordinal)
            : new Dictionary<string, LocalUser>(StringComparer.Ordinal);
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
        var salt = RandomNumberGenerator.GetBytes(16);
        var hash = Rfc2898DeriveBytes.Pbkdf2(password, salt, Iterations, HashAlgorithmName.SHA512, 32);
        var user = new LocalUser(name, fullName, Convert.ToBase64String(salt), Convert.ToBase64String(hash), Iterations);
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

    private void Save()
    {
        var temp = _path + ".tmp";
        File.WriteAllText(temp, JsonSerializer.Serialize(_users.Values.ToArray(), UserStoreJson.Default.LocalUserArray));
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(temp, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }

        File.Move(temp, _path, overwrite: true);
    }
}

[JsonSerializable(typeof(LocalUser[]))]
[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
internal sealed partial class UserStoreJson : JsonSerializerContext;
