using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using GuestOps.Host.SharedState;

namespace GuestOps.Cluster.Accounts;

/// <summary>What <see cref="ClusterDocuments"/> does with each shared document, whatever its type.</summary>
internal interface IClusterDocument
{
    /// <summary>The grain's key.</summary>
    string Name { get; }

    /// <summary>Adopts the cluster's document, or seeds the cluster with this member's when it has none.</summary>
    Task JoinAsync(CancellationToken cancellationToken);

    /// <summary>Reads the cluster's document when its version changed; re-seeds it when the cluster lost it.</summary>
    ValueTask RefreshAsync(CancellationToken cancellationToken);
}

/// <summary>
/// A shared document of the cluster as one member sees it (<see cref="IStateDocument{T}"/>): <see cref="Current"/> is
/// a copy in this process, read without a grain call, kept fresh by <see cref="RefreshAsync"/>
/// (<see cref="ClusterDocuments.PollInterval"/>); a change goes through the document's grain, the one authority, and is
/// current here as soon as it is stored. The document crosses as JSON (<paramref name="json"/>), the form its single
/// process files have.
/// </summary>
/// <param name="seed">This member's document from its own state directory: the cluster's first document when it has none.</param>
public sealed class ClusterDocument<T>(IGrainFactory grains, string name, JsonTypeInfo<T> json, T seed) : IStateDocument<T>, IClusterDocument
    where T : class
{
    private readonly Lock _lock = new();
    private Versioned<T> _current = new(0, seed);

    public string Name => name;

    public Versioned<T> Current => Volatile.Read(ref _current);

    public async ValueTask<bool> TryReplaceAsync(long expectedVersion, T next, CancellationToken cancellationToken = default)
    {
        var outcome = await Grain.TryReplaceAsync(expectedVersion, JsonSerializer.Serialize(next, json)).WaitAsync(cancellationToken).ConfigureAwait(false);
        if (outcome.Current.Content is null)
        {
            // The cluster lost the document: seed it again with this member's, then the change is tried again.
            await JoinAsync(cancellationToken).ConfigureAwait(false);
            return false;
        }

        Accept(outcome.Current, outcome.Replaced ? next : null);
        return outcome.Replaced;
    }

    public async Task JoinAsync(CancellationToken cancellationToken)
    {
        var known = Current;
        Accept(await Grain.JoinAsync(JsonSerializer.Serialize(known.Value, json), known.Version).WaitAsync(cancellationToken).ConfigureAwait(false), null);
    }

    public async ValueTask RefreshAsync(CancellationToken cancellationToken)
    {
        switch (await Grain.ReadIfChangedAsync(Current.Version).WaitAsync(cancellationToken).ConfigureAwait(false))
        {
            case null:
                return;
            case { Content: null }:
                await JoinAsync(cancellationToken).ConfigureAwait(false);
                return;
            case var state:
                Accept(state, null);
                return;
        }
    }

    private IStateDocumentGrain Grain => grains.GetGrain<IStateDocumentGrain>(name);

    /// <summary>Makes the store's document current here unless a newer one already is (answers may cross).</summary>
    private void Accept(DocumentState state, T? value)
    {
        if (state.Content is null || state.Version <= Current.Version)
        {
            return;
        }

        value ??= JsonSerializer.Deserialize(state.Content, json) ?? throw new JsonException($"The cluster's document '{name}' is empty.");
        lock (_lock)
        {
            if (state.Version > _current.Version)
            {
                Volatile.Write(ref _current, new Versioned<T>(state.Version, value));
            }
        }
    }
}
