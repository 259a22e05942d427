using GuestOps.Host.Events;
using Microsoft.Extensions.Logging;

namespace GuestOps.Cluster.Events;

/// <summary>The cluster's one event history (key 0): every front end appends to it and reads it back.</summary>
[Alias("GuestOps.Cluster.Events.IEventHistoryGrain")]
public interface IEventHistoryGrain : IGrainWithIntegerKey
{
    /// <summary>Keeps the events in their order, each given the next key.</summary>
    [Alias("AppendBatch")]
    Task AppendAsync(IReadOnlyList<EventRecord> events);

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
    public Task AppendAsync(IReadOnlyList<EventRecord> events)
    {
        foreach (var e in events)
        {
            _ = _history.AppendAsync(e);
        }

        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<EventRecord>> QueryAsync() => _history.QueryAsync().AsTask();
}

/// <summary>
/// The front end's <see cref="IEventHistory"/> over the cluster's <see cref="IEventHistoryGrain"/>, with no grain call
/// on the path of the call it records: an appended event waits here and goes to the grain in a batch, every
/// <see cref="FlushEvery"/> or at once when <see cref="BatchSize"/> are waiting, in the order appended. Its key is given
/// when its batch lands (an appended event is returned with key 0). A query sends what waits here first, so a front end
/// reads its own events back at once and another front end's within about <see cref="FlushEvery"/>. What waits is sent
/// when the member stops (before its silo leaves the cluster); at most the history's capacity waits while the grain
/// cannot be reached (the oldest go first, as in the history itself).
/// </summary>
public sealed partial class ClusterEventHistory(IGrainFactory grains, EventHistoryOptions options, ILogger<ClusterEventHistory> logger) : IEventHistory, ILifecycleParticipant<ISiloLifecycle>
{
    public static readonly TimeSpan FlushEvery = TimeSpan.FromMilliseconds(100);

    public const int BatchSize = 256;

    private readonly Lock _lock = new();
    private readonly SemaphoreSlim _sending = new(1, 1);
    private readonly SemaphoreSlim _full = new(0, 1);
    private List<EventRecord> _waiting = [];
    private CancellationTokenSource? _stopping;
    private Task? _loop;

    public ValueTask<EventRecord> AppendAsync(EventRecord e, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            _waiting.Add(e);
            if (_waiting.Count > options.Capacity)
            {
                _waiting.RemoveAt(0);
            }

            if (_waiting.Count == BatchSize && _full.CurrentCount == 0)
            {
                _full.Release();
            }
        }

        return ValueTask.FromResult(e);
    }

    public async ValueTask<IReadOnlyList<EventRecord>> QueryAsync(CancellationToken cancellationToken = default)
    {
        await FlushAsync(cancellationToken).ConfigureAwait(false);
        return await Grain.QueryAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Sends the events waiting here to the grain, in order; on failure they wait for the next flush.</summary>
    public async Task FlushAsync(CancellationToken cancellationToken = default)
    {
        await _sending.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            List<EventRecord> batch;
            lock (_lock)
            {
                if (_waiting.Count == 0)
                {
                    return;
                }

                batch = _waiting;
                _waiting = [];
            }

            try
            {
                await Grain.AppendAsync(batch).WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                lock (_lock)
                {
                    batch.AddRange(_waiting);
                    _waiting = batch.Count > options.Capacity ? batch[^options.Capacity..] : batch;
                }

                throw;
            }
        }
        finally
        {
            _sending.Release();
        }
    }

    void ILifecycleParticipant<ISiloLifecycle>.Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(ClusterEventHistory), ServiceLifecycleStage.Active, StartAsync, StopAsync);

    private Task StartAsync(CancellationToken cancellationToken)
    {
        _stopping = new CancellationTokenSource();
        _loop = SendLoopAsync(_stopping.Token);
        return Task.CompletedTask;
    }

    private async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_stopping is not null)
        {
            await _stopping.CancelAsync().ConfigureAwait(false);
            await _loop!.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        try
        {
            await FlushAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            LogFlushFailed(logger, e);
        }
    }

    private async Task SendLoopAsync(CancellationToken stopping)
    {
        while (!stopping.IsCancellationRequested)
        {
            try
            {
                await _full.WaitAsync(FlushEvery, stopping).ConfigureAwait(false);
                await FlushAsync(stopping).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                LogFlushFailed(logger, e);
                await Task.Delay(FlushEvery, stopping).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }
    }

    private IEventHistoryGrain Grain => grains.GetGrain<IEventHistoryGrain>(0);

    [LoggerMessage(EventId = 6020, Level = LogLevel.Warning, Message = "Sending audit events to the cluster's event history failed; they wait for the next try")]
    private static partial void LogFlushFailed(ILogger logger, Exception exception);
}
