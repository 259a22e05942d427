using GuestOps.Cluster.Storage;
using Orleans.Placement;
using GuestOps.Host.Sessions;

namespace GuestOps.Cluster.Sessions;

/// <summary>One vSphere session of the cluster, keyed by its session key: every front end reaches the same one.</summary>
[Alias("GuestOps.Cluster.Sessions.ISessionGrain")]
public interface ISessionGrain : IGrainWithStringKey
{
    [Alias("Start")]
    Task StartAsync(SessionInfo session);

    /// <summary>As <see cref="ISessionTable.FindAsync"/>, touched when <paramref name="calls"/> is above 0 (the calls a
    /// front end answered since it last asked, this one included), each counted.</summary>
    [Alias("Find")]
    Task<SessionInfo?> FindAsync(long calls, DateTime now, TimeSpan idleTimeout);

    /// <summary>Whether the session has been idle for longer than <paramref name="idleTimeout"/>; null when there is none.</summary>
    [Alias("IsExpired")]
    Task<bool?> IsExpiredAsync(DateTime now, TimeSpan idleTimeout);

    /// <summary>Ends the session; false when there was none.</summary>
    [Alias("End")]
    Task<bool> EndAsync();
}

/// <summary>The stored form of a session grain: the session, or null when there is none (never started, or ended).</summary>
[GenerateSerializer, Alias("GuestOps.Cluster.Sessions.SessionState")]
public sealed class SessionState
{
    [Id(0)]
    public SessionInfo? Session { get; set; }
}

/// <summary>
/// A session in the cluster's grain storage, so it outlives the process that created it and any process its grain
/// lives in. Each call reads the activation's memory; the store is written when the session starts and ends, and when a
/// touch finds the stored last-active time older than <see cref="StaleAfter"/> (a quarter of the idle timeout, at most a
/// minute): a session reloaded after its grain moved is then at most that much older than it was, never expired early.
/// </summary>
/// <remarks>Activated at the member whose front end first calls it (the one that logged the user in), so the calls of a
/// client that stays at one front end stay in that process.</remarks>
[PreferLocalPlacement]
public sealed class SessionGrain([PersistentState("session", ClusterStorage.Name)] IPersistentState<SessionState> state) : Grain, ISessionGrain
{
    /// <summary>The last-active time the store holds.</summary>
    private DateTime _storedLastActive;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _storedLastActive = state.State.Session?.LastActiveTime ?? default;
        return Task.CompletedTask;
    }

    public async Task StartAsync(SessionInfo session)
    {
        state.State.Session = session;
        await WriteAsync();
    }

    public async Task<SessionInfo?> FindAsync(long calls, DateTime now, TimeSpan idleTimeout)
    {
        if (state.State.Session is not { } session)
        {
            return null;
        }

        if (MemorySessionTable.IsExpired(session, now, idleTimeout))
        {
            await EndAsync();
            return null;
        }

        if (calls <= 0)
        {
            return session;
        }

        session = session with { LastActiveTime = now > session.LastActiveTime ? now : session.LastActiveTime, CallCount = session.CallCount + calls };
        state.State.Session = session;
        if (session.LastActiveTime - _storedLastActive > StaleAfter(idleTimeout))
        {
            await WriteAsync();
        }

        return session;
    }

    public Task<bool?> IsExpiredAsync(DateTime now, TimeSpan idleTimeout) =>
        Task.FromResult(state.State.Session is { } session ? MemorySessionTable.IsExpired(session, now, idleTimeout) : (bool?)null);

    public async Task<bool> EndAsync()
    {
        if (state.State.Session is null)
        {
            return false;
        }

        await state.ClearStateAsync();
        state.State.Session = null;
        DeactivateOnIdle();
        return true;
    }

    private async Task WriteAsync()
    {
        await state.WriteStateAsync();
        _storedLastActive = state.State.Session?.LastActiveTime ?? default;
    }

    /// <summary>How old the stored last-active time may grow before a touch writes it.</summary>
    internal static TimeSpan StaleAfter(TimeSpan idleTimeout) => TimeSpan.FromTicks(Math.Min(idleTimeout.Ticks / 4, TimeSpan.TicksPerMinute));
}
