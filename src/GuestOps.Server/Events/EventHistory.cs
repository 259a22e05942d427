using GuestOps.Vim;

namespace GuestOps.Server.Events;

/// <summary>
/// The events this server keeps, newest last, in memory and bounded: when full, the oldest go first (vSphere keeps
/// events in a database with a retention period; a host agent keeps a bounded recent history).
/// </summary>
public sealed class EventHistory(int capacity = EventHistory.DefaultCapacity)
{
    public const int DefaultCapacity = 10_000;

    private readonly Lock _lock = new();
    private readonly Queue<Event> _events = new();
    private int _nextKey = 1;

    public int Capacity { get; } = capacity > 0 ? capacity : throw new ArgumentOutOfRangeException(nameof(capacity));

    /// <summary>Gives the event its key and chain id, and keeps it.</summary>
    public void Add(Event e)
    {
        lock (_lock)
        {
            e.key = _nextKey++;
            e.chainId = e.key;
            _events.Enqueue(e);
            while (_events.Count > Capacity)
            {
                _events.Dequeue();
            }
        }
    }

    public Event? Latest
    {
        get
        {
            lock (_lock)
            {
                return _events.Count == 0 ? null : _events.Last();
            }
        }
    }

    /// <summary>Every kept event, oldest first.</summary>
    public Event[] All()
    {
        lock (_lock)
        {
            return _events.ToArray();
        }
    }
}
