namespace GuestOps.Host.Events;

/// <summary>An inventory entity an event names: its managed object type, id and name when the event happened.</summary>
public sealed record EventEntity(string Type, string Id, string Name);

/// <summary>One argument of an event (<c>EventEx.arguments</c>, vim25 KeyAnyValue): a name and its text.</summary>
public sealed record EventKeyValue(string Key, string Value);

/// <summary>The fault of a failed operation an event records: its vSphere type name, its standard text, and its
/// whole form as the front end serialized it (opaque here: the host agent does not read faults).</summary>
public sealed record EventFault(string Type, string LocalizedMessage, string Detail);

/// <summary>An event as the history keeps it. <see cref="Key"/> is given by the history when the event is appended
/// (0 before).</summary>
public sealed record EventRecord(
    int Key,
    DateTime CreatedTime,
    string UserName,
    string TypeId,
    string Severity,
    string Message,
    EventEntity? Datacenter,
    EventEntity? Vm,
    IReadOnlyList<EventKeyValue> Arguments,
    EventFault? Fault);

/// <summary>The events of this server: append one, read them back oldest first.</summary>
public interface IEventHistory
{
    /// <summary>Gives the event the next key and keeps it; returns it as kept (with key 0 from a history that sends events
    /// on in batches: the key is given where they land).</summary>
    ValueTask<EventRecord> AppendAsync(EventRecord e, CancellationToken cancellationToken = default);

    /// <summary>Every kept event, oldest first.</summary>
    ValueTask<IReadOnlyList<EventRecord>> QueryAsync(CancellationToken cancellationToken = default);
}

/// <summary>
/// The events this server keeps, newest last, in memory and bounded: when full, the oldest go first (vSphere keeps
/// events in a database with a retention period; a host agent keeps a bounded recent history).
/// </summary>
public sealed class EventHistory(int capacity = EventHistory.DefaultCapacity) : IEventHistory
{
    public const int DefaultCapacity = 10_000;

    private readonly Lock _lock = new();
    private readonly Queue<EventRecord> _events = new();
    private EventRecord[]? _snapshot = [];
    private int _nextKey = 1;

    public int Capacity { get; } = capacity > 0 ? capacity : throw new ArgumentOutOfRangeException(nameof(capacity));

    public ValueTask<EventRecord> AppendAsync(EventRecord e, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            var kept = e with { Key = _nextKey++ };
            _events.Enqueue(kept);
            while (_events.Count > Capacity)
            {
                _events.Dequeue();
            }

            _snapshot = null;
            return ValueTask.FromResult(kept);
        }
    }

    public ValueTask<IReadOnlyList<EventRecord>> QueryAsync(CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            // Readers poll (the web client every second): the array is built once per change, not once per read.
            return ValueTask.FromResult<IReadOnlyList<EventRecord>>(_snapshot ??= _events.ToArray());
        }
    }
}
