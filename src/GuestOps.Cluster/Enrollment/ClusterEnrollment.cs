using GuestOps.Cluster.Accounts;
using GuestOps.Host.Enrollment;
using GuestOps.Host.SharedState;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace GuestOps.Cluster.Enrollment;

/// <summary>
/// External VMs' enrollment for the whole cluster: one CA and one set of enrollment records (token hashes, issued
/// certificates, revocations) as the shared document <c>enrollment</c> (<see cref="ClusterDocument{T}"/>) in the
/// cluster's grain storage, so a worker enrolled at one host agent is admitted at every host agent configured with its
/// VM, and a certificate revoked or replaced at one is refused at each. At start this member adopts the cluster's, or
/// seeds the cluster with its state directory's CA and records when the cluster has none (the first host agent of a
/// new store); then it reads it again every <see cref="ClusterAccounts.PollInterval"/> when its version changed. Each
/// worker listener checks its connected workers against this member's copy every 2 s.
/// </summary>
public sealed partial class ClusterEnrollment(ClusterDocument<EnrollmentDocument> document, ILogger<ClusterEnrollment> logger) : BackgroundService
{
    /// <summary>The grain key of the enrollment document.</summary>
    public const string DocumentName = "enrollment";

    private bool _failing;

    public ClusterDocument<EnrollmentDocument> Document => document;

    /// <summary>Joins the document before the member serves (the silo has started: it is registered first).</summary>
    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        await document.JoinAsync(cancellationToken).ConfigureAwait(false);
        await base.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(ClusterAccounts.PollInterval);
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
        {
            try
            {
                await document.RefreshAsync(stoppingToken).AsTask().WaitAsync(ClusterAccounts.PollTimeout, stoppingToken).ConfigureAwait(false);
                if (_failing)
                {
                    _failing = false;
                    LogRefreshed(logger);
                }
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                if (!_failing)
                {
                    _failing = true;
                    LogRefreshFailed(logger, e);
                }
            }
        }
    }

    [LoggerMessage(EventId = 6030, Level = LogLevel.Warning, Message = "Reading the cluster's enrollment records failed; this member keeps its copy until the store answers")]
    private static partial void LogRefreshFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 6031, Level = LogLevel.Information, Message = "The cluster's enrollment records are read again")]
    private static partial void LogRefreshed(ILogger logger);
}

public static class ClusterEnrollmentHosting
{
    /// <summary>Registers the cluster's enrollment document (<see cref="ClusterEnrollment"/>) as this member's
    /// <see cref="IStateDocument{T}"/> of <see cref="EnrollmentDocument"/>, seeded from
    /// <paramref name="enrollmentDirectory"/> (its CA created there when absent) for a cluster that has none. Call after
    /// <see cref="ClusterHosting.AddGuestOpsCluster"/>, on a member that runs external VMs' worker listener.</summary>
    public static IHostApplicationBuilder AddGuestOpsEnrollment(this IHostApplicationBuilder builder, string enrollmentDirectory)
    {
        builder.Services.AddSingleton(sp => new ClusterEnrollment(
            new ClusterDocument<EnrollmentDocument>(sp.GetRequiredService<IGrainFactory>(), ClusterEnrollment.DocumentName, EnrollmentStore.DocumentJson, EnrollmentStore.SeedDocument(enrollmentDirectory)),
            sp.GetRequiredService<ILogger<ClusterEnrollment>>()));
        builder.Services.AddSingleton<IStateDocument<EnrollmentDocument>>(sp => sp.GetRequiredService<ClusterEnrollment>().Document);
        builder.Services.AddHostedService(sp => sp.GetRequiredService<ClusterEnrollment>());
        return builder;
    }
}
