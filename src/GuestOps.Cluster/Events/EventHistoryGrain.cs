using GuestOps.Host.Events;

namespace GuestOps.Cluster.Events;

/// <summary>The cluster's one event history (key 0): every front end appends to it and reads it back.</summary>
[Alias("GuestOps.Cluster.Events.IEventHistoryGrain")]
public interface IEventHistoryGrain : IGrainWithIntegerKey
{
    [Alias("Append")]
    Task<EventRecord> AppendAsync(EventRecord e);

    [Alias("Query")]
    Task<IReadOnlyList<EventRecord>> QueryAsync();
}

/// <summary>How many events the cluster's history keeps (GuestOps:MaxEvents).</summary>
public sealed record EventHistoryOptions(int Capacity);

/// <summary>
/// The bounded <see cref="EventHistory"/> in the memory of one member of the cluster, kept active while that member
/// runs. Not stored: writing up to <see cref="EventHistory.DefaultCapacity"/> events on every append would cost more
/// than the audit trail is worth; when the member holding it ends, the history starts again empty elsewhere.
/// </summary>
[KeepAlive]
public sealed class EventHistoryGrain(EventHistoryOptions options) : Grain, IEventHistoryGrain
{
    private readonly EventHistory _history = new(options.Capacity);

    // EventHistory answers at once (in-memory): the grain's turn never leaves its scheduler.
    public Task<EventRecord> AppendAsync(EventRecord e) => _history.AppendAsync(e).AsTask();

    public Task<IReadOnlyList<EventRecord>> QueryAsync() => _history.QueryAsync().AsTask();
}

/// <summary>The front end's <see cref="IEventHistory"/> over the cluster's <see cref="IEventHistoryGrain"/>.</summary>
public sealed class ClusterEventHistory(IGrainFactory grains) : IEventHistory
{
    public async ValueTask<EventRecord> AppendAsync(EventRecord e, CancellationToken cancellationToken = default) =>
        await Grain.AppendAsync(e).WaitAsync(cancellationToken).ConfigureAwait(false);

    public async ValueTask<IReadOnlyList<EventRecord>> QueryAsync(CancellationToken cancellationToken = default) =>
        await Grain.QueryAsync().WaitAsync(cancellationToken).ConfigureAwait(false);

    private IEventHistoryGrain Grain => grains.GetGrain<IEventHistoryGrain>(0);
}
