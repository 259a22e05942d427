namespace GuestOps.Server.Http;

/// <summary>
/// The <c>vmware_soap_session</c> cookie. Clients echo whole Set-Cookie values back (<c>...; Path=/; HttpOnly</c>),
/// so the pair is found by name, quotes are stripped and attribute tokens are ignored.
/// </summary>
public static class SessionCookie
{
    public const string Name = "vmware_soap_session";

    public static string? Find(IEnumerable<string?> cookieHeaders)
    {
        foreach (var header in cookieHeaders)
        {
            foreach (var part in (header ?? "").Split(';'))
            {
                var pair = part.AsSpan().Trim();
                if (pair.StartsWith(Name, StringComparison.Ordinal) && pair.Length > Name.Length && pair[Name.Length] == '=')
                {
                    var value = pair[(Name.Length + 1)..].Trim().Trim('"');
                    if (!value.IsEmpty)
                    {
                        return value.ToString();
                    }
                }
            }
        }

        return null;
    }

    public static string SetCookieValue(string key, bool secure) =>
        $"{Name}=\"{key}\"; Path=/; HttpOnly" + (secure ? "; Secure" : "");
}
