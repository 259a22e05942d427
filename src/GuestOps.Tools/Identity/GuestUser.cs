namespace GuestOps.Tools.Identity;

/// <summary>A resolved guest account: what the worker needs to act as it.</summary>
public sealed record GuestUser(string Name, uint Uid, uint Gid, IReadOnlyList<uint> Groups, string Home)
{
    /// <summary>The login shell (passwd <c>pw_shell</c>); <c>/bin/sh</c> when the entry has none.</summary>
    public string Shell { get; init; } = "/bin/sh";

    public override string ToString() => $"{Name}({Uid})";
}

/// <summary>Looks up guest accounts (NSS: files, LDAP, SSSD... whatever the guest is configured with).</summary>
public interface IUserDirectory
{
    /// <summary>The account, or null if there is none with that name.</summary>
    GuestUser? FindByName(string name);

    /// <summary>The account with that uid, or null.</summary>
    GuestUser? FindByUid(uint uid);
}
