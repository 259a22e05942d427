using System.Collections.Concurrent;
using GuestOps.Host.Sessions;
using GuestOps.Soap;
using GuestOps.Vim;

namespace GuestOps.Server.ManagedObjects;

/// <summary>A vSphere session as this front end sees it: the host agent's <see cref="SessionInfo"/> as of the last
/// call, and the per-session objects the session created here.</summary>
public sealed class Session(SessionInfo info) : IVimSession
{
    private SessionInfo _info = info;

    public string Key { get; } = info.Key;

    public string UserName { get; } = info.UserName;

    /// <summary>The session as the host agent last answered for it.</summary>
    public SessionInfo Info
    {
        get => Volatile.Read(ref _info);
        set => Volatile.Write(ref _info, value);
    }

    /// <summary>Views created by this session (they die with it).</summary>
    public ConcurrentDictionary<string, ContainerView> Views { get; } = new(StringComparer.Ordinal);

    /// <summary>PropertyCollector filters created by this session (they die with it).</summary>
    public ConcurrentDictionary<string, PropertyFilter> Filters { get; } = new(StringComparer.Ordinal);

    /// <summary>WaitForUpdatesEx's version and wait in progress for this session.</summary>
    public SessionUpdates Updates { get; } = new();

    /// <summary>Continuation state of RetrievePropertiesEx calls that hit <c>maxObjects</c>: the page size and what is left.</summary>
    public ConcurrentDictionary<string, (int PageSize, ObjectContent[] Remaining)> PendingResults { get; } = new(StringComparer.Ordinal);

    public UserSession ToUserSession()
    {
        var info = Info;
        return new UserSession
        {
            key = info.Key,
            userName = info.UserName,
            fullName = info.FullName,
            loginTime = info.LoginTime,
            lastActiveTime = info.LastActiveTime,
            locale = info.Locale,
            messageLocale = info.Locale,
            extensionSession = false,
            ipAddress = info.IpAddress,
            userAgent = info.UserAgent,
            callCount = info.CallCount,
        };
    }
}
