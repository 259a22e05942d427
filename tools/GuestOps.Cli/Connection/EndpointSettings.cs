using GuestOps.Cli.Commands;

namespace GuestOps.Cli.Connection;

/// <summary>
/// Where and as whom to connect, from flags, then GUESTOPS_* and GOVC_* variables, then the URL's user info (govc's
/// rules: <c>host</c>, <c>host:port</c> or a full URL; scheme https and path /sdk when left out).
/// </summary>
public sealed record EndpointSettings(Uri SdkUri, string? UserName, string? Password, bool Insecure, string? Thumbprint, bool PersistSession, string SessionDirectory)
{
    /// <summary>The endpoint URL without user info, the key of the session cache.</summary>
    public string DisplayUrl => SdkUri.GetLeftPart(UriPartial.Path);

    public static EndpointSettings Resolve(GlobalOptionValues flags, CliEnvironment environment)
    {
        var url = flags.Url ?? environment.Get("GUESTOPS_URL", "GOVC_URL")
            ?? throw new CliException("No endpoint: give --url (or -u), or set GUESTOPS_URL or GOVC_URL, e.g. https://root@127.0.0.1:8443/sdk.", 2);
        var uri = ParseUrl(url);
        string? userFromUrl = null, passwordFromUrl = null;
        if (uri.UserInfo.Length > 0)
        {
            var parts = uri.UserInfo.Split(':', 2);
            userFromUrl = Uri.UnescapeDataString(parts[0]);
            passwordFromUrl = parts.Length > 1 ? Uri.UnescapeDataString(parts[1]) : null;
            uri = new UriBuilder(uri) { UserName = "", Password = "" }.Uri;
        }

        return new EndpointSettings(
            uri,
            flags.UserName ?? environment.Get("GUESTOPS_USERNAME", "GOVC_USERNAME") ?? userFromUrl,
            flags.Password ?? environment.Get("GUESTOPS_PASSWORD", "GOVC_PASSWORD") ?? passwordFromUrl,
            flags.Insecure || (environment.Flag("GUESTOPS_INSECURE", "GOVC_INSECURE") ?? false),
            flags.Thumbprint ?? environment.Get("GUESTOPS_THUMBPRINT"),
            environment.Flag("GUESTOPS_PERSIST_SESSION", "GOVC_PERSIST_SESSION") ?? true,
            environment.Get("GUESTOPS_SESSION_DIR") ?? Path.Combine(environment.Home, ".guestops", "sessions"));
    }

    public static Uri ParseUrl(string url)
    {
        var text = url.Trim();
        if (!text.Contains("://", StringComparison.Ordinal))
        {
            text = "https://" + text;
        }

        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || uri.Scheme is not ("https" or "http") || uri.Host.Length == 0)
        {
            throw new CliException($"Not an endpoint URL: {url} (expected host, host:port or https://host[:port]/sdk).", 2);
        }

        if (uri.AbsolutePath is "" or "/")
        {
            uri = new UriBuilder(uri) { Path = "/sdk" }.Uri;
        }

        return uri;
    }
}
