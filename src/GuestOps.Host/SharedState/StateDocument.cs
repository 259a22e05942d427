namespace GuestOps.Host.SharedState;

/// <summary>A document and the version it has in its store.</summary>
public sealed record Versioned<T>(long Version, T Value)
    where T : class;

/// <summary>
/// One document of state that outlives a process and that the members of a cluster share: the users and groups, the
/// roles and permissions. Readers take <see cref="Current"/>, which costs no I/O. A change replaces the whole document,
/// and only while its version is still the one the change was computed from, so every change is checked against the
/// latest document wherever it is made (<see cref="StateDocument.ChangeAsync"/>). A single process keeps the document
/// in files of its state directory (<see cref="LocalDocument{T}"/>); a cluster keeps it in the engine, and each member
/// reads it through a copy it keeps fresh.
/// </summary>
public interface IStateDocument<T>
    where T : class
{
    /// <summary>The latest document this process knows.</summary>
    Versioned<T> Current { get; }

    /// <summary>Replaces the document with <paramref name="next"/> when its version is still
    /// <paramref name="expectedVersion"/> and returns true, <see cref="Current"/> then being <paramref name="next"/>;
    /// else returns false, <see cref="Current"/> then being the newer document.</summary>
    ValueTask<bool> TryReplaceAsync(long expectedVersion, T next, CancellationToken cancellationToken = default);

    /// <summary>Makes <see cref="Current"/> the store's latest document now, for a decision that must not rest on a copy
    /// that may lag (a cluster member's); a document of this process alone is always the latest.</summary>
    ValueTask RefreshAsync(CancellationToken cancellationToken = default) => ValueTask.CompletedTask;
}

public static class StateDocument
{
    /// <summary>Applies <paramref name="change"/> to the latest document and stores what it returns, again on the newer
    /// document when another change came first. A change that returns the document it was given stores nothing. A change
    /// that throws (refuses) on this process's copy is refused only when the store has nothing newer: else it is
    /// applied again to the store's latest document (<see cref="IStateDocument{T}.RefreshAsync"/>), so a member whose
    /// copy lags does not refuse what another member made possible a moment ago.</summary>
    public static async ValueTask<TResult> ChangeAsync<T, TResult>(this IStateDocument<T> document, Func<T, (T Next, TResult Result)> change, CancellationToken cancellationToken = default)
        where T : class
    {
        while (true)
        {
            var current = document.Current;
            (T Next, TResult Result) changed;
            try
            {
                changed = change(current.Value);
            }
            catch
            {
                await document.RefreshAsync(cancellationToken).ConfigureAwait(false);
                if (document.Current.Version == current.Version)
                {
                    throw;
                }

                continue;
            }

            if (ReferenceEquals(changed.Next, current.Value) || await document.TryReplaceAsync(current.Version, changed.Next, cancellationToken).ConfigureAwait(false))
            {
                return changed.Result;
            }
        }
    }
}

/// <summary>A document of this process alone: <paramref name="save"/> (the previous document, the next) persists each
/// change before it becomes current; without it the document lives in memory only.</summary>
public sealed class LocalDocument<T>(T initial, Action<T, T>? save = null) : IStateDocument<T>
    where T : class
{
    private readonly Lock _lock = new();
    private Versioned<T> _current = new(0, initial);

    public Versioned<T> Current => Volatile.Read(ref _current);

    public ValueTask<bool> TryReplaceAsync(long expectedVersion, T next, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            if (_current.Version != expectedVersion)
            {
                return ValueTask.FromResult(false);
            }

            save?.Invoke(_current.Value, next);
            Volatile.Write(ref _current, new Versioned<T>(expectedVersion + 1, next));
            return ValueTask.FromResult(true);
        }
    }
}

/// <summary>What readers use of a document (an index, a snapshot), made from <paramref name="document"/>'s current
/// version by <paramref name="make"/> and made again only when that version changes.</summary>
public sealed class DocumentView<T, TView>(IStateDocument<T> document, Func<Versioned<T>, TView> make)
    where T : class
{
    private Made _made = new(document.Current, make(document.Current));

    public TView Current
    {
        get
        {
            var source = document.Current;
            var made = Volatile.Read(ref _made);
            if (!ReferenceEquals(made.Source, source))
            {
                made = new Made(source, make(source));
                Volatile.Write(ref _made, made);
            }

            return made.View;
        }
    }

    private sealed record Made(Versioned<T> Source, TView View);
}
