using System.Collections.Frozen;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using GuestOps.Host.Enrollment;
using GuestOps.Host.SharedState;

namespace GuestOps.Host.Sessions;

/// <summary>A local vSphere user of this server. The password is kept only as a salted PBKDF2 hash.</summary>
public sealed record LocalUser(string Name, string FullName, string Salt, string Hash, int Iterations);

/// <summary>A local group of users (a principal of permissions, as on ESXi).</summary>
public sealed record LocalGroup(string Name, string Description, string[] Members);

/// <summary>The users and groups of a server: one document (<see cref="IStateDocument{T}"/>).</summary>
public sealed record UsersAndGroups(LocalUser[] Users, LocalGroup[] Groups);

/// <summary>
/// The server's local users and groups (<see cref="UsersAndGroups"/>): in a single process persisted as
/// <c>users.json</c> and <c>groups.json</c> under the state directory; in a cluster in the engine. Passwords are
/// verified with PBKDF2-HMAC-SHA512 and a constant-time comparison; they are never logged or stored.
/// </summary>
public sealed class UserStore
{
    public const int Iterations = 210_000;

    private readonly IStateDocument<UsersAndGroups> _document;
    private readonly DocumentView<UsersAndGroups, Index> _index;

    /// <summary>The users and groups of a state directory, in its files.</summary>
    public UserStore(string stateDirectory)
        : this(Files(stateDirectory))
    {
    }

    public UserStore(IStateDocument<UsersAndGroups> document)
    {
        _document = document;
        _index = new DocumentView<UsersAndGroups, Index>(document, source => new Index(source.Value));
    }

    /// <summary>The JSON form of the document, as the engine keeps it.</summary>
    public static JsonTypeInfo<UsersAndGroups> DocumentJson => UserStoreJson.Default.UsersAndGroups;

    /// <summary>Where the users and groups are kept.</summary>
    public IStateDocument<UsersAndGroups> Document => _document;

    /// <summary>Changes with every change of users or groups (for caches of what a user may do).</summary>
    public long Version => _document.Current.Version;

    public IReadOnlyList<LocalUser> Users => _document.Current.Value.Users;

    public IReadOnlyList<LocalGroup> Groups => _document.Current.Value.Groups;

    public bool IsEmpty => _document.Current.Value.Users.Length == 0;

    public LocalUser? Find(string name) => Indexed().Users.GetValueOrDefault(name);

    public LocalGroup? FindGroup(string name) => Indexed().Groups.GetValueOrDefault(name);

    /// <summary>The groups <paramref name="user"/> belongs to.</summary>
    public IReadOnlyList<string> GroupsOf(string user) =>
        Indexed().Groups.Values.Where(g => g.Members.Contains(user, StringComparer.Ordinal)).Select(g => g.Name).ToArray();

    /// <summary>Creates a user; false when one of that name exists.</summary>
    public ValueTask<bool> CreateAsync(string name, string fullName, string password, CancellationToken cancellationToken = default)
    {
        var user = Hashed(name, fullName, password);
        return _document.ChangeAsync(d => d.Users.Any(u => u.Name == name) ? (d, false) : (d with { Users = [.. d.Users, user] }, true), cancellationToken);
    }

    /// <summary>Creates a user when there is none yet (the first user of a server); false when there are users.</summary>
    public ValueTask<bool> CreateFirstAsync(string name, string fullName, string password, CancellationToken cancellationToken = default)
    {
        var user = Hashed(name, fullName, password);
        return _document.ChangeAsync(d => d.Users.Length > 0 ? (d, false) : (d with { Users = [user] }, true), cancellationToken);
    }

    /// <summary>Changes a user's description and, when given, password. False when there is no such user.</summary>
    public ValueTask<bool> UpdateAsync(string name, string? fullName, string? password, CancellationToken cancellationToken = default)
    {
        var hashed = password is null ? null : Hashed(name, "", password);
        return _document.ChangeAsync(
            d =>
            {
                if (d.Users.FirstOrDefault(u => u.Name == name) is not { } user)
                {
                    return (d, false);
                }

                var updated = (hashed ?? user) with { FullName = fullName ?? user.FullName };
                return (d with { Users = d.Users.Select(u => u.Name == name ? updated : u).ToArray() }, true);
            },
            cancellationToken);
    }

    /// <summary>Removes a user and its group memberships. False when there is no such user.</summary>
    public ValueTask<bool> RemoveAsync(string name, CancellationToken cancellationToken = default) =>
        _document.ChangeAsync(
            d => d.Users.All(u => u.Name != name)
                ? (d, false)
                : (new UsersAndGroups(
                    d.Users.Where(u => u.Name != name).ToArray(),
                    d.Groups.Select(g => g with { Members = g.Members.Where(m => m != name).ToArray() }).ToArray()), true),
            cancellationToken);

    /// <summary>Creates a group; false when it exists.</summary>
    public ValueTask<bool> CreateGroupAsync(string name, string description, CancellationToken cancellationToken = default) =>
        _document.ChangeAsync(
            d => d.Groups.Any(g => g.Name == name) ? (d, false) : (d with { Groups = [.. d.Groups, new LocalGroup(name, description, [])] }, true),
            cancellationToken);

    public ValueTask<bool> RemoveGroupAsync(string name, CancellationToken cancellationToken = default) =>
        _document.ChangeAsync(
            d => d.Groups.All(g => g.Name != name) ? (d, false) : (d with { Groups = d.Groups.Where(g => g.Name != name).ToArray() }, true),
            cancellationToken);

    /// <summary>Adds or removes a member. The caller checks that both exist.</summary>
    public ValueTask<bool> SetMembershipAsync(string group, string user, bool member, CancellationToken cancellationToken = default) =>
        _document.ChangeAsync(
            d =>
            {
                if (d.Groups.FirstOrDefault(g => g.Name == group) is not { } existing || existing.Members.Contains(user, StringComparer.Ordinal) == member)
                {
                    return (d, false);
                }

                var changed = existing with { Members = member ? [.. existing.Members, user] : existing.Members.Where(m => m != user).ToArray() };
                return (d with { Groups = d.Groups.Select(g => g.Name == group ? changed : g).ToArray() }, true);
            },
            cancellationToken);

    /// <summary>Creates or replaces a user and persists the store.</summary>
    public async ValueTask SetAsync(string name, string fullName, string password, CancellationToken cancellationToken = default)
    {
        var user = Hashed(name, fullName, password);
        await _document.ChangeAsync(
            d => (d with { Users = d.Users.Any(u => u.Name == name) ? d.Users.Select(u => u.Name == name ? user : u).ToArray() : [.. d.Users, user] }, true),
            cancellationToken).ConfigureAwait(false);
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

    /// <summary>The users and groups of <c>users.json</c> and <c>groups.json</c>; a change writes the file of what it changed.</summary>
    private static LocalDocument<UsersAndGroups> Files(string stateDirectory)
    {
        var usersPath = Path.Combine(stateDirectory, "users.json");
        var groupsPath = Path.Combine(stateDirectory, "groups.json");
        var users = File.Exists(usersPath)
            ? (JsonSerializer.Deserialize(File.ReadAllText(usersPath), UserStoreJson.Default.LocalUserArray) ?? [])
                .ToDictionary(u => u.Name, StringComparer.Ordinal).Values.ToArray()
            : [];
        var groups = File.Exists(groupsPath)
            ? (JsonSerializer.Deserialize(File.ReadAllText(groupsPath), UserStoreJson.Default.LocalGroupArray) ?? [])
                .ToDictionary(g => g.Name, StringComparer.Ordinal).Values.ToArray()
            : [];
        return new LocalDocument<UsersAndGroups>(new UsersAndGroups(users, groups), (before, after) =>
        {
            if (!ReferenceEquals(before.Users, after.Users))
            {
                StateFiles.WriteAtomically(usersPath, JsonSerializer.Serialize(after.Users, UserStoreJson.Default.LocalUserArray));
            }

            if (!ReferenceEquals(before.Groups, after.Groups))
            {
                StateFiles.WriteAtomically(groupsPath, JsonSerializer.Serialize(after.Groups, UserStoreJson.Default.LocalGroupArray));
            }
        });
    }

    private Index Indexed() => _index.Current;

    /// <summary>The users and groups of one version of the document, by name (the first of a name wins).</summary>
    private sealed class Index(UsersAndGroups source)
    {
        public FrozenDictionary<string, LocalUser> Users { get; } = source.Users.DistinctBy(u => u.Name, StringComparer.Ordinal).ToFrozenDictionary(u => u.Name, StringComparer.Ordinal);

        public FrozenDictionary<string, LocalGroup> Groups { get; } = source.Groups.DistinctBy(g => g.Name, StringComparer.Ordinal).ToFrozenDictionary(g => g.Name, StringComparer.Ordinal);
    }
}

[JsonSerializable(typeof(LocalUser[]))]
[JsonSerializable(typeof(LocalGroup[]))]
[JsonSerializable(typeof(UsersAndGroups))]
[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
internal sealed partial class UserStoreJson : JsonSerializerContext;
