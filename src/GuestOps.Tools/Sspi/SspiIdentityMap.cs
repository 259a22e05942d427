using GuestOps.Tools.Identity;

namespace GuestOps.Tools.Sspi;

/// <summary>
/// Maps the identity a Negotiate exchange authenticated to a guest account (docs/architecture.md, "SSPI"):
/// <c>DOMAIN\user</c> when DOMAIN is one of the accepted domains (ignoring case), <c>user@REALM</c> when REALM is one of
/// them (exactly), and a bare <c>user</c> (NTLM without a domain) all become <c>user</c>; the account must exist in the
/// guest under that name or, failing that, its lower-case form (Windows names ignore case, Linux ones do not). Anything
/// else — another domain or realm, a service principal (<c>a/b@R</c>), an empty name — maps to no account.
/// </summary>
public sealed class SspiIdentityMap(IReadOnlyList<string> domains, IUserDirectory users)
{
    private const int MaxNameLength = 256;

    /// <summary>The guest account for <paramref name="identity"/>, or null.</summary>
    public GuestUser? Map(string? identity)
    {
        var name = AccountName(identity);
        if (name is null)
        {
            return null;
        }

        return users.FindByName(name) ?? (name.ToLowerInvariant() is var lower && lower != name ? users.FindByName(lower) : null);
    }

    /// <summary>The account name <paramref name="identity"/> stands for under the rules, without looking it up.</summary>
    public string? AccountName(string? identity)
    {
        if (string.IsNullOrEmpty(identity) || identity.Length > MaxNameLength || identity.Contains('\0') || identity.Contains('/'))
        {
            return null;
        }

        string user;
        var backslash = identity.IndexOf('\\', StringComparison.Ordinal);
        var at = identity.LastIndexOf('@');
        if (backslash >= 0)
        {
            var domain = identity[..backslash];
            user = identity[(backslash + 1)..];
            if (domain.Length > 0 && !domains.Any(d => string.Equals(d, domain, StringComparison.OrdinalIgnoreCase)))
            {
                return null;
            }
        }
        else if (at >= 0)
        {
            var realm = identity[(at + 1)..];
            user = identity[..at];
            if (!domains.Any(d => string.Equals(d, realm, StringComparison.Ordinal)))
            {
                return null;
            }
        }
        else
        {
            user = identity;
        }

        return user.Length == 0 || user.Contains('\\') || user.Contains('@') || user.Contains(':') ? null : user;
    }
}
