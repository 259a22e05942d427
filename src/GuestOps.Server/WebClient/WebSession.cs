namespace GuestOps.Server.WebClient;

/// <summary>
/// The web client's session cookie: the key of a vSphere session that SessionManager.Login issued (the same sessions,
/// idle timeout and lockout as SOAP). HttpOnly, SameSite=Strict, limited to <c>/ui</c>, and Secure over HTTPS.
/// </summary>
public static class WebSession
{
    public const string CookieName = "guestops_ui_session";

    public const string PathBase = "/ui";

    public static string? Key(HttpContext context) =>
        context.Request.Cookies.TryGetValue(CookieName, out var key) && !string.IsNullOrEmpty(key) ? key : null;

    public static void Issue(HttpContext context, string key) =>
        context.Response.Cookies.Append(CookieName, key, Options(context));

    public static void Clear(HttpContext context) =>
        context.Response.Cookies.Delete(CookieName, Options(context));

    private static CookieOptions Options(HttpContext context) => new()
    {
        HttpOnly = true,
        Secure = context.Request.IsHttps,
        SameSite = SameSiteMode.Strict,
        Path = PathBase,
        IsEssential = true,
    };
}
