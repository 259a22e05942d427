using GuestOps.Cluster.Accounts;
using GuestOps.Host.Enrollment;
using GuestOps.Host.SharedState;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace GuestOps.Cluster.Enrollment;

/// <summary>
/// External VMs' enrollment for the whole cluster: one CA and one set of enrollment records (token hashes, issued
/// certificates, revocations) as the shared document <see cref="DocumentName"/> (<see cref="ClusterDocument{T}"/>,
/// kept by <see cref="ClusterDocuments"/>) in the cluster's grain storage, so a worker enrolled at one host agent is
/// admitted at every host agent configured with its VM, and a certificate revoked or replaced at one is refused at
/// each. Each worker listener checks its connected workers against this member's copy every 2 s.
/// </summary>
public static class ClusterEnrollment
{
    /// <summary>The grain key of the enrollment document.</summary>
    public const string DocumentName = "enrollment";

    /// <summary>Registers the cluster's enrollment document as this member's <see cref="IStateDocument{T}"/> of
    /// <see cref="EnrollmentDocument"/>, seeded from <paramref name="enrollmentDirectory"/> (its CA created there when
    /// absent) for a cluster that has none. Call after <see cref="ClusterHosting.AddGuestOpsCluster"/>, on a member that
    /// runs external VMs' worker listener.</summary>
    public static IHostApplicationBuilder AddGuestOpsEnrollment(this IHostApplicationBuilder builder, string enrollmentDirectory)
    {
        builder.Services.AddSingleton(sp => new ClusterDocument<EnrollmentDocument>(
            sp.GetRequiredService<IGrainFactory>(), DocumentName, EnrollmentStore.DocumentJson, EnrollmentStore.SeedDocument(enrollmentDirectory)));
        builder.Services.AddSingleton<IStateDocument<EnrollmentDocument>>(sp => sp.GetRequiredService<ClusterDocument<EnrollmentDocument>>());
        builder.Services.AddClusterDocument(sp => sp.GetRequiredService<ClusterDocument<EnrollmentDocument>>());
        return builder;
    }
}
