using GuestOps.Host.Authorization;
using GuestOps.Host.Sessions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace GuestOps.Cluster.Accounts;

/// <summary>
/// The users and groups, and the roles and permissions, of the whole cluster: two shared documents
/// (<see cref="ClusterDocument{T}"/>) in the cluster's grain storage. At start this member adopts them, or seeds the
/// cluster with its own state directory's when the cluster has none (the first member of a new store); then it reads
/// each again every <see cref="PollInterval"/> when its version changed. A change made at one member is therefore seen
/// at every other within about <see cref="PollInterval"/> plus one grain call while the store answers; at the member
/// that made it, at once. Privilege checks read the member's copy and make no grain call.
/// </summary>
public sealed partial class ClusterAccounts : BackgroundService
{
    /// <summary>How often each member asks for changes.</summary>
    public static TimeSpan PollInterval { get; } = TimeSpan.FromMilliseconds(500);

    /// <summary>How long one ask may take before it counts as failed.</summary>
    public static TimeSpan PollTimeout { get; } = TimeSpan.FromSeconds(2);

    private readonly IReadOnlyList<IClusterDocument> _documents;
    private readonly ILogger<ClusterAccounts> _logger;
    private readonly HashSet<string> _failing = new(StringComparer.Ordinal);

    /// <param name="seedUsers">This member's users and groups (its state directory), for a cluster that has none.</param>
    /// <param name="seedAuthorization">This member's roles and permissions, likewise.</param>
    public ClusterAccounts(IGrainFactory grains, UsersAndGroups seedUsers, AuthorizationFile seedAuthorization, ILogger<ClusterAccounts> logger)
    {
        Users = new ClusterDocument<UsersAndGroups>(grains, UsersDocument, UserStore.DocumentJson, seedUsers);
        Authorization = new ClusterDocument<AuthorizationFile>(grains, AuthorizationDocument, AuthorizationStore.DocumentJson, seedAuthorization);
        _documents = [Users, Authorization];
        _logger = logger;
    }

    /// <summary>The grain key of the users and groups document.</summary>
    public const string UsersDocument = "users";

    /// <summary>The grain key of the roles and permissions document.</summary>
    public const string AuthorizationDocument = "authorization";

    public ClusterDocument<UsersAndGroups> Users { get; }

    public ClusterDocument<AuthorizationFile> Authorization { get; }

    /// <summary>Joins the documents before any call is served (the silo has started: it is registered first).</summary>
    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        await JoinAsync(cancellationToken).ConfigureAwait(false);
        await base.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Adopts the cluster's documents, or seeds the cluster with this member's where it has none.</summary>
    internal async Task JoinAsync(CancellationToken cancellationToken)
    {
        foreach (var document in _documents)
        {
            await document.JoinAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(PollInterval);
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
        {
            await RefreshAsync(stoppingToken).ConfigureAwait(false);
        }
    }

    /// <summary>Reads each document whose version changed; a failure keeps the copy this member has.</summary>
    internal async Task RefreshAsync(CancellationToken cancellationToken)
    {
        foreach (var document in _documents)
        {
            try
            {
                await document.RefreshAsync(cancellationToken).AsTask().WaitAsync(PollTimeout, cancellationToken).ConfigureAwait(false);
                if (_failing.Remove(document.Name))
                {
                    LogRefreshed(_logger, document.Name);
                }
            }
            catch (Exception e) when (!cancellationToken.IsCancellationRequested)
            {
                if (_failing.Add(document.Name))
                {
                    LogRefreshFailed(_logger, document.Name, e);
                }
            }
        }
    }

    [LoggerMessage(EventId = 6010, Level = LogLevel.Warning, Message = "Reading the cluster's {Document} failed; this member keeps its copy until the store answers")]
    private static partial void LogRefreshFailed(ILogger logger, string document, Exception exception);

    [LoggerMessage(EventId = 6011, Level = LogLevel.Information, Message = "The cluster's {Document} are read again")]
    private static partial void LogRefreshed(ILogger logger, string document);
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
            seedAuthorization.Document.Current.Value,
            sp.GetRequiredService<ILogger<ClusterAccounts>>()));
        builder.Services.AddSingleton(sp => new UserStore(sp.GetRequiredService<ClusterAccounts>().Users));
        builder.Services.AddSingleton(sp => new AuthorizationStore(sp.GetRequiredService<ClusterAccounts>().Authorization));
        builder.Services.AddHostedService(sp => sp.GetRequiredService<ClusterAccounts>());
        return builder;
    }
}
