using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace GuestOps.Cluster.Accounts;

/// <summary>
/// This member's copies of the cluster's shared documents (<see cref="ClusterDocument{T}"/>: its users and groups, roles
/// and permissions, external VMs' enrollment records). Before the member serves, it adopts each, or seeds the cluster
/// with its own where the cluster has none (the first member of a new store); then it reads each again every
/// <see cref="PollInterval"/> when its version changed. A change made at one member is therefore seen at every other
/// within about <see cref="PollInterval"/> plus one grain call while the store answers; at the member that made it, at
/// once.
/// </summary>
public sealed partial class ClusterDocuments : BackgroundService
{
    /// <summary>How often each member asks for changes.</summary>
    public static TimeSpan PollInterval { get; } = TimeSpan.FromMilliseconds(500);

    /// <summary>How long one ask may take before it counts as failed.</summary>
    public static TimeSpan PollTimeout { get; } = TimeSpan.FromSeconds(2);

    private readonly IReadOnlyList<IClusterDocument> _documents;
    private readonly ILogger<ClusterDocuments> _logger;
    private readonly HashSet<string> _failing = new(StringComparer.Ordinal);

    internal ClusterDocuments(IEnumerable<IClusterDocument> documents, ILogger<ClusterDocuments> logger)
    {
        _documents = [.. documents];
        _logger = logger;
    }

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

    [LoggerMessage(EventId = 6010, Level = LogLevel.Warning, Message = "Reading the cluster's {Document} document failed; this member keeps its copy until the store answers")]
    private static partial void LogRefreshFailed(ILogger logger, string document, Exception exception);

    [LoggerMessage(EventId = 6011, Level = LogLevel.Information, Message = "The cluster's {Document} document is read again")]
    private static partial void LogRefreshed(ILogger logger, string document);
}

internal static class ClusterDocumentsHosting
{
    /// <summary>Adds <paramref name="document"/> to the documents <see cref="ClusterDocuments"/> keeps (registered once,
    /// as a hosted service, at the first call).</summary>
    public static IServiceCollection AddClusterDocument(this IServiceCollection services, Func<IServiceProvider, IClusterDocument> document)
    {
        services.AddSingleton(document);
        services.TryAddSingleton(sp => new ClusterDocuments(sp.GetServices<IClusterDocument>(), sp.GetRequiredService<ILogger<ClusterDocuments>>()));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, ClusterDocuments>(sp => sp.GetRequiredService<ClusterDocuments>()));
        return services;
    }
}
