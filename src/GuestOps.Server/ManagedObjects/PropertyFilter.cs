using GuestOps.Vim;
using GuestOps.Vim.Contracts;

namespace GuestOps.Server.ManagedObjects;

/// <summary>
/// vmodl.query.PropertyCollector.Filter: the spec of one CreateFilter, owned by the session that made it (it dies with
/// the session). It remembers what the last update reported, so the next one carries only the differences.
/// </summary>
public sealed class PropertyFilter(string id, PropertyFilterSpec spec, bool partialUpdates, Session owner, PropertyReader reader)
    : ManagedObject(id, reader), IPropertyFilter
{
    private static readonly PropertyTable<PropertyFilter> Table = new PropertyTable<PropertyFilter>()
        .Add("spec", f => f.Spec)
        .Add("partialUpdates", f => f.PartialUpdates);

    public override PropertyTable Properties => Table;

    public PropertyFilterSpec Spec { get; } = spec;

    /// <summary>Whether a change of a nested property reports only the nested change; every path is compared as the
    /// spec names it, so both settings report the same changes.</summary>
    public bool PartialUpdates { get; } = partialUpdates;

    public Session Owner { get; } = owner;

    /// <summary>Each object's contents as the last update reported them; null before the first update (which reports
    /// every object as entering). Guarded by the owner's <see cref="SessionUpdates"/>.</summary>
    internal Dictionary<ManagedObjectReference, ObjectContent>? Reported { get; set; }

    public Task DestroyPropertyFilterAsync(ManagedObjectReference _this)
    {
        Owner.Filters.TryRemove(Ref.Value, out _);
        Owner.Updates.FiltersChanged();
        return Task.CompletedTask;
    }
}

/// <summary>
/// A session's side of WaitForUpdatesEx: the last version given out, what a truncated update left to send, and the
/// wait in progress (which CancelWaitForUpdates ends). Lock this object while reading or changing filters' reported
/// state.
/// </summary>
public sealed class SessionUpdates
{
    private CancellationTokenSource? _waiting;
    private TaskCompletionSource _filtersChanged = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The last version given out; 0 before the first update.</summary>
    internal long Version { get; set; }

    /// <summary>What a truncated update (maxObjectUpdates) left, sent before anything new.</summary>
    internal List<PropertyFilterUpdate>? Pending { get; set; }

    /// <summary>Completes when a filter is created or destroyed: a wait in progress looks again.</summary>
    internal Task NextFilterChange => Volatile.Read(ref _filtersChanged).Task;

    internal void FiltersChanged() =>
        Interlocked.Exchange(ref _filtersChanged, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();

    /// <summary>Starts a wait that ends with <paramref name="call"/>'s cancellation or CancelWaitForUpdates.</summary>
    internal CancellationTokenSource BeginWait(CancellationToken call)
    {
        var waiting = CancellationTokenSource.CreateLinkedTokenSource(call);
        Interlocked.Exchange(ref _waiting, waiting);
        return waiting;
    }

    internal void EndWait(CancellationTokenSource waiting) => Interlocked.CompareExchange(ref _waiting, null, waiting);

    /// <summary>CancelWaitForUpdates: the wait in progress, if any, fails with RequestCanceled.</summary>
    internal void CancelWait()
    {
        try
        {
            Volatile.Read(ref _waiting)?.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // the wait ended meanwhile
        }
    }
}
