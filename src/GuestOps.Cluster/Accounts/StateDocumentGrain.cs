using GuestOps.Cluster.Storage;

namespace GuestOps.Cluster.Accounts;

/// <summary>One shared document of the cluster (the users and groups, the roles and permissions), keyed by its name:
/// the one authority every member reads from and writes through.</summary>
[Alias("GuestOps.Cluster.Accounts.IStateDocumentGrain")]
public interface IStateDocumentGrain : IGrainWithStringKey
{
    /// <summary>The document. When the cluster has none (a new store, or one that lost its data), <paramref name="seed"/>
    /// becomes it, at a version above <paramref name="seedVersion"/> (the version the member knows it at).</summary>
    [Alias("Join")]
    Task<DocumentState> JoinAsync(string seed, long seedVersion);

    /// <summary>The document when its version is not <paramref name="knownVersion"/>, else null. A document whose
    /// content is null is one the cluster does not have (see <see cref="JoinAsync"/>).</summary>
    [Alias("ReadIfChanged")]
    Task<DocumentState?> ReadIfChangedAsync(long knownVersion);

    /// <summary>Stores <paramref name="content"/> when the document's version is still <paramref name="expectedVersion"/>.</summary>
    [Alias("TryReplace")]
    Task<ReplaceOutcome> TryReplaceAsync(long expectedVersion, string content);
}

/// <summary>A shared document as the store keeps it: its JSON and its version (null content: none yet).</summary>
[GenerateSerializer, Alias("GuestOps.Cluster.Accounts.DocumentState")]
public sealed class DocumentState
{
    [Id(0)]
    public long Version { get; set; }

    [Id(1)]
    public string? Content { get; set; }
}

/// <summary>Whether a replace was stored, and the document the store holds now.</summary>
[GenerateSerializer, Alias("GuestOps.Cluster.Accounts.ReplaceOutcome")]
public sealed class ReplaceOutcome
{
    [Id(0)]
    public bool Replaced { get; set; }

    [Id(1)]
    public DocumentState Current { get; set; } = new();
}

/// <summary>
/// A shared document in the cluster's grain storage (Redis or PostgreSQL), so it outlives every member. Its calls run
/// one at a time, so a replace checked against the version is a compare-and-swap. Each member asks it only for a
/// version it does not know (<see cref="ClusterDocument{T}"/>), so the document crosses only after a change.
/// </summary>
public sealed class StateDocumentGrain([PersistentState("document", ClusterStorage.Name)] IPersistentState<DocumentState> state) : Grain, IStateDocumentGrain
{
    public async Task<DocumentState> JoinAsync(string seed, long seedVersion)
    {
        if (state.State.Content is null)
        {
            state.State = new DocumentState { Version = Math.Max(state.State.Version, seedVersion) + 1, Content = seed };
            await state.WriteStateAsync();
        }

        return state.State;
    }

    public Task<DocumentState?> ReadIfChangedAsync(long knownVersion) =>
        Task.FromResult(state.State.Version == knownVersion && state.State.Content is not null ? null : state.State);

    public async Task<ReplaceOutcome> TryReplaceAsync(long expectedVersion, string content)
    {
        if (state.State.Content is null || state.State.Version != expectedVersion)
        {
            return new ReplaceOutcome { Replaced = false, Current = state.State };
        }

        state.State = new DocumentState { Version = expectedVersion + 1, Content = content };
        await state.WriteStateAsync();
        return new ReplaceOutcome { Replaced = true, Current = state.State };
    }
}
