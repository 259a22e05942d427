using System.Collections.Concurrent;
using GuestOps.Server.ManagedObjects;
using GuestOps.Soap;
using GuestOps.Vim;

namespace GuestOps.Server.Sessions;

/// <summary>A logged-in vSphere session: who, since when, and the per-session objects it created.</summary>
public sealed class Session(string key, LocalUser user, DateTime loginTime, string? ipAddress, string? userAgent, string locale) : IVimSession
{
    private long _callCount;
    private long _lastActiveTicks = loginTime.Ticks;

    public string Key { get; } = key;

    public string UserName => User.Name;

    public LocalUser User { get; } = user;

    public DateTime LoginTime { get; } = loginTime;

    public DateTime LastActiveTime => new(Interlocked.Read(ref _lastActiveTicks), DateTimeKind.Utc);

    public long CallCount => Interlocked.Read(ref _callCount);

    /// <summary>Views created by this session (they die with it).</summary>
    public ConcurrentDictionary<string, ContainerView> Views { get; } = new(StringComparer.Ordinal);

    /// <summary>Continuation state of RetrievePropertiesEx calls that hit <c>maxObjects</c>: the page size and what is left.</summary>
    public ConcurrentDictionary<string, (int PageSize, ObjectContent[] Remaining)> PendingResults { get; } = new(StringComparer.Ordinal);

    public void Touch(DateTime now)
    {
        Interlocked.Exchange(ref _lastActiveTicks, now.Ticks);
        Interlocked.Increment(ref _callCount);
    }

    public UserSession ToUserSession() => new()
    {
        key = Key,
        userName = User.Name,
        fullName = User.FullName,
        loginTime = LoginTime,
        lastActiveTime = LastActiveTime,
        locale = locale,
        messageLocale = locale,
        extensionSession = false,
        ipAddress = ipAddress,
        userAgent = userAgent,
        callCount = CallCount,
    };
}
