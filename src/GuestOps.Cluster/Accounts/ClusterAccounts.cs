using GuestOps.Host.Authorization;
using GuestOps.Host.Sessions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace GuestOps.Cluster.Accounts;

/// <summary>
/// The users and groups, and the roles and permissions, of the whole cluster: two shared documents
/// (<see cref="ClusterDocument{T}"/>) in the cluster's grain storage, kept by <see cref="ClusterDocuments"/>: at start
/// this member adopts them, or seeds the cluster with its own state directory's when the cluster has none (the first
/// member of a new store). Privilege checks read the member's copy and make no grain call.
/// </summary>
/// <param name="seedUsers">This member's users and groups (its state directory), for a cluster that has none.</param>
/// <param name="seedAuthorization">This member's roles and permissions, likewise.</param>
public sealed class ClusterAccounts(IGrainFactory grains, UsersAndGroups seedUsers, AuthorizationFile seedAuthorization)
{
    /// <summary>The grain key of the users and groups document.</summary>
    public const string UsersDocument = "users";

    /// <summary>The grain key of the roles and permissions document.</summary>
    public const string AuthorizationDocument = "authorization";

    public ClusterDocument<UsersAndGroups> Users { get; } = new(grains, UsersDocument, UserStore.DocumentJson, seedUsers);

    public ClusterDocument<AuthorizationFile> Authorization { get; } = new(grains, AuthorizationDocument, AuthorizationStore.DocumentJson, seedAuthorization);
}

public static class ClusterAccountsHosting
{
    /// <summary>Registers the cluster's users, groups, roles and permissions (<see cref="ClusterAccounts"/>) in place of
    /// the state directory's: a <see cref="UserStore"/> and an <see cref="AuthorizationStore"/> over the shared
    /// documents, seeded from <paramref name="seedUsers"/> and <paramref name="seedAuthorization"/>. Call after
    /// <see cref="ClusterHosting.AddGuestOpsCluster"/>.</summary>
    public static IHostApplicationBuilder AddGuestOpsAccounts(this IHostApplicationBuilder builder, UserStore seedUsers, AuthorizationStore seedAuthorization)
    {
        builder.Services.AddSingleton(sp => new ClusterAccounts(
            sp.GetRequiredService<IGrainFactory>(),
            seedUsers.Document.Current.Value,
            seedAuthorization.Document.Current.Value));
        builder.Services.AddSingleton(sp => new UserStore(sp.GetRequiredService<ClusterAccounts>().Users));
        builder.Services.AddSingleton(sp => new AuthorizationStore(sp.GetRequiredService<ClusterAccounts>().Authorization));
        builder.Services.AddClusterDocument(sp => sp.GetRequiredService<ClusterAccounts>().Users);
        builder.Services.AddClusterDocument(sp => sp.GetRequiredService<ClusterAccounts>().Authorization);
        return builder;
    }
}
