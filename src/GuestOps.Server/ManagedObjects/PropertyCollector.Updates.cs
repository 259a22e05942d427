using System.Collections.Concurrent;
using System.Reflection;
using GuestOps.Soap;
using GuestOps.Vim;

namespace GuestOps.Server.ManagedObjects;

/// <summary>
/// Incremental updates: CreateFilter, WaitForUpdatesEx, CheckForUpdates, WaitForUpdates and CancelWaitForUpdates.
/// A wait compares each filter's objects now with what the session's last update reported, and reports the
/// differences: an object entering (every property), changing (the changed properties) or leaving. While nothing
/// changes, a wait only awaits the inventory's change notification (<see cref="Inventory.NextChange"/>), looking at the
/// inventory's state every <see cref="RecheckInterval"/> (<see cref="NotifiedRecheckInterval"/>) in case a change is not
/// notified: the filters are read again only when a VM snapshot or a host agent changed.
/// </summary>
public sealed partial class PropertyCollector
{
    /// <summary>How often a wait looks whether the inventory changed, when the host agent does not notify its changes
    /// (an <see cref="GuestOps.Host.IHostAgent"/> without <see cref="GuestOps.Host.IInventoryChanges"/>; the
    /// single process's host agent and a cluster's front end both notify).</summary>
    public static TimeSpan RecheckInterval { get; } = TimeSpan.FromMilliseconds(250);

    /// <summary>How often a wait looks anyway when the host agent notifies its changes (the single process's host agent
    /// signals a worker connecting or going away; a cluster's front end, its poll of the other host agents and its own
    /// host agent's signal).</summary>
    public static TimeSpan NotifiedRecheckInterval { get; } = TimeSpan.FromSeconds(2);

    /// <summary>Public readable properties of data objects, for comparing values that are not the same instance.</summary>
    private readonly ConcurrentDictionary<Type, PropertyInfo[]> _dataProperties = new();

    public Task<ManagedObjectReference> CreateFilterAsync(ManagedObjectReference _this, PropertyFilterSpec spec, bool partialUpdates)
    {
        var call = Call;
        var session = RequireSession(call);
        // A spec naming an unknown property or object faults here, as in RetrievePropertiesEx.
        foreach (var _ in Collect(call, [spec]))
        {
        }

        var filter = new PropertyFilter($"session[{session.Key}]{Guid.NewGuid():D}", spec, partialUpdates, session, Reader);
        session.Filters[filter.Ref.Value] = filter;
        session.Updates.FiltersChanged();
        return Task.FromResult(filter.Ref);
    }

    public Task<UpdateSet?> WaitForUpdatesExAsync(ManagedObjectReference _this, string? version, WaitOptions? options)
    {
        var wait = options?.maxWaitSeconds switch
        {
            null => Timeout.InfiniteTimeSpan,
            <= 0 => TimeSpan.Zero,
            { } seconds => TimeSpan.FromSeconds(seconds),
        };
        return WaitAsync(Call, version, wait, options?.maxObjectUpdates is > 0 and { } max ? max : int.MaxValue);
    }

    public Task<UpdateSet?> CheckForUpdatesAsync(ManagedObjectReference _this, string? version) =>
        WaitAsync(Call, version, TimeSpan.Zero, int.MaxValue);

    public async Task<UpdateSet> WaitForUpdatesAsync(ManagedObjectReference _this, string? version) =>
        await WaitAsync(Call, version, Timeout.InfiniteTimeSpan, int.MaxValue)
        ?? throw new InvalidOperationException("A wait without a time limit returned no update.");

    public Task CancelWaitForUpdatesAsync(ManagedObjectReference _this)
    {
        RequireSession(Call).Updates.CancelWait();
        return Task.CompletedTask;
    }

    private async Task<UpdateSet?> WaitAsync(VimCall call, string? version, TimeSpan wait, int maxObjectUpdates)
    {
        var session = RequireSession(call);
        var updates = session.Updates;
        lock (updates)
        {
            if (string.IsNullOrEmpty(version))
            {
                // From the start: every filter's objects enter again.
                foreach (var filter in session.Filters.Values)
                {
                    filter.Reported = null;
                }

                updates.Pending = null;
            }
            else if (version != updates.Version.ToString(System.Globalization.CultureInfo.InvariantCulture))
            {
                throw new VimFaultException(new InvalidCollectorVersion(), $"The version '{version}' is not this collector's current version.");
            }
        }

        using var waiting = updates.BeginWait(call.CancellationToken);
        try
        {
            var deadline = wait == Timeout.InfiniteTimeSpan ? (long?)null : Environment.TickCount64 + (long)wait.TotalMilliseconds;
            InventoryState? seen = null;
            while (true)
            {
                // Read the notifications before looking, so a change while looking wakes the next wait.
                var inventoryChange = inventory.NextChange;
                var filterChange = updates.NextFilterChange;
                var now = inventory.State();
                if (seen is null || !now.SameAs(seen) || session.Filters.Values.Any(f => f.Reported is null))
                {
                    seen = now;
                    if (Next(call, session, maxObjectUpdates) is { } set)
                    {
                        return set;
                    }
                }

                var left = deadline is { } d ? d - Environment.TickCount64 : long.MaxValue;
                if (left <= 0)
                {
                    return null;
                }

                var interval = inventoryChange is null ? RecheckInterval : NotifiedRecheckInterval;
                var recheck = Task.Delay(TimeSpan.FromMilliseconds(Math.Min(left, (long)interval.TotalMilliseconds)), waiting.Token);
                await Task.WhenAny(recheck, filterChange, inventoryChange ?? recheck).ConfigureAwait(false);
                if (waiting.IsCancellationRequested)
                {
                    call.CancellationToken.ThrowIfCancellationRequested();
                    throw new VimFaultException(new RequestCanceled(), "The wait was canceled (CancelWaitForUpdates).");
                }
            }
        }
        finally
        {
            updates.EndWait(waiting);
        }
    }

    /// <summary>The next update of the session's filters, truncated to <paramref name="maxObjectUpdates"/>; null when
    /// nothing changed.</summary>
    private UpdateSet? Next(VimCall call, Session session, int maxObjectUpdates)
    {
        var updates = session.Updates;
        lock (updates)
        {
            var filterSet = updates.Pending;
            updates.Pending = null;
            if (filterSet is null)
            {
                filterSet = [];
                foreach (var filter in session.Filters.Values)
                {
                    if (Changes(call, filter) is { } update)
                    {
                        filterSet.Add(update);
                    }
                }
            }

            if (filterSet.Count == 0)
            {
                return null;
            }

            var (sent, rest) = Truncate(filterSet, maxObjectUpdates);
            updates.Pending = rest;
            updates.Version++;
            return new UpdateSet
            {
                version = updates.Version.ToString(System.Globalization.CultureInfo.InvariantCulture),
                filterSet = sent.ToArray(),
                truncated = rest is null ? null : true,
            };
        }
    }

    /// <summary>The first <paramref name="max"/> object updates, and what is left (null: nothing).</summary>
    private static (List<PropertyFilterUpdate> Sent, List<PropertyFilterUpdate>? Left) Truncate(List<PropertyFilterUpdate> filterSet, int max)
    {
        var sent = new List<PropertyFilterUpdate>();
        for (var i = 0; i < filterSet.Count; i++)
        {
            var update = filterSet[i];
            var objects = update.objectSet ?? [];
            if (objects.Length <= max)
            {
                sent.Add(update);
                max -= objects.Length;
                continue;
            }

            var rest = new List<PropertyFilterUpdate> { new() { filter = update.filter, objectSet = objects[max..] } };
            rest.AddRange(filterSet.Skip(i + 1));
            if (max > 0)
            {
                sent.Add(new PropertyFilterUpdate { filter = update.filter, objectSet = objects[..max], missingSet = update.missingSet });
            }

            return (sent, rest);
        }

        return (sent, null);
    }

    /// <summary>What changed in <paramref name="filter"/>'s objects since its last update (and remembers them as
    /// reported); null when nothing did.</summary>
    private PropertyFilterUpdate? Changes(VimCall call, PropertyFilter filter)
    {
        List<ObjectContent> now;
        try
        {
            now = Collect(call, [filter.Spec]).ToList();
        }
        catch (VimFaultException e) when (e.Fault is ManagedObjectNotFound)
        {
            now = []; // the object the filter starts from is gone (a destroyed view): everything leaves
        }

        var before = filter.Reported;
        var after = new Dictionary<ManagedObjectReference, ObjectContent>(now.Count);
        var objectSet = new List<ObjectUpdate>();
        foreach (var content in now)
        {
            if (!after.TryAdd(content.obj, content))
            {
                continue;
            }

            if (before is null || !before.TryGetValue(content.obj, out var was))
            {
                objectSet.Add(new ObjectUpdate
                {
                    kind = ObjectUpdateKind.Enter,
                    obj = content.obj,
                    changeSet = content.propSet?.Select(p => new PropertyChange { name = p.name, op = PropertyChangeOp.Assign, val = p.val }).ToArray(),
                    missingSet = content.missingSet,
                });
            }
            else if (Changed(was, content) is { } changeSet)
            {
                objectSet.Add(new ObjectUpdate { kind = ObjectUpdateKind.Modify, obj = content.obj, changeSet = changeSet });
            }
        }

        foreach (var obj in before?.Keys ?? Enumerable.Empty<ManagedObjectReference>())
        {
            if (!after.ContainsKey(obj))
            {
                objectSet.Add(new ObjectUpdate { kind = ObjectUpdateKind.Leave, obj = obj });
            }
        }

        filter.Reported = after;
        return objectSet.Count == 0 ? null : new PropertyFilterUpdate { filter = filter.Ref, objectSet = objectSet.ToArray() };
    }

    /// <summary>The properties whose value differs; a property no longer set is assigned no value.</summary>
    private PropertyChange[]? Changed(ObjectContent was, ObjectContent now)
    {
        List<PropertyChange>? changes = null;
        var before = was.propSet ?? [];
        var after = now.propSet ?? [];
        foreach (var property in after)
        {
            var old = Array.Find(before, p => p.name == property.name);
            if (old is null || !SameValue(old.val, property.val))
            {
                (changes ??= []).Add(new PropertyChange { name = property.name, op = PropertyChangeOp.Assign, val = property.val });
            }
        }

        foreach (var property in before)
        {
            if (Array.Find(after, p => p.name == property.name) is null)
            {
                (changes ??= []).Add(new PropertyChange { name = property.name, op = PropertyChangeOp.Assign });
            }
        }

        return changes?.ToArray();
    }

    /// <summary>Whether two property values are equal as the wire shows them: the same instance (an unchanged VM's cached
    /// data objects), equal scalars and references, or data objects and arrays equal member by member.</summary>
    private bool SameValue(object? a, object? b)
    {
        if (ReferenceEquals(a, b))
        {
            return true;
        }

        if (a is null || b is null || a.GetType() != b.GetType())
        {
            return false;
        }

        if (a is string || a is ManagedObjectReference || a.GetType().IsPrimitive || a.GetType().IsEnum || a is DateTime || a is decimal)
        {
            return a.Equals(b);
        }

        if (a is Array left)
        {
            var right = (Array)b;
            if (left.Length != right.Length)
            {
                return false;
            }

            for (var i = 0; i < left.Length; i++)
            {
                if (!SameValue(left.GetValue(i), right.GetValue(i)))
                {
                    return false;
                }
            }

            return true;
        }

        var properties = _dataProperties.GetOrAdd(a.GetType(), static type => type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.CanRead && p.GetIndexParameters().Length == 0)
            .ToArray());
        foreach (var property in properties)
        {
            if (!SameValue(property.GetValue(a), property.GetValue(b)))
            {
                return false;
            }
        }

        return true;
    }
}
