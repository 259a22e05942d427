using GuestOps.Cluster.HostAgents;
using GuestOps.Host;
using GuestOps.Host.Inventory;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Runtime.MembershipService.SiloMetadata;

namespace GuestOps.Cluster;

/// <summary>
/// What a member of the cluster is, and the front end's view of every host agent. Each silo publishes its role and, on
/// a host agent (roles hostagent and all), its host name as silo metadata (<see cref="MemberMetadata"/>); the
/// host agent's grain (<see cref="IHostAgentGrain"/>) is placed on the silo of that name; every member's
/// <see cref="IHostAgent"/> is a <see cref="ClusterHostAgent"/> over all of them.
/// </summary>
public static class ClusterRoles
{
    /// <summary>Registers this member's role: its silo metadata, the host agents' placement, the grain's view of the
    /// local host agent (unless a front end) and <see cref="ClusterHostAgent"/> as <see cref="IHostAgent"/>.</summary>
    public static IHostApplicationBuilder AddGuestOpsRoles(this IHostApplicationBuilder builder, ClusterSettings settings)
    {
        var runsVms = settings.Role != ProcessRole.FrontEnd;
        var siloMetadata = new Dictionary<string, string>
        {
            [MemberMetadata.RoleKey] = settings.Role switch { ProcessRole.FrontEnd => "frontend", ProcessRole.HostAgent => "hostagent", _ => "all" },
        };
        if (runsVms)
        {
            siloMetadata[MemberMetadata.HostNameKey] = settings.HostName;
            builder.Services.AddSingleton(sp => new LocalHostAgent(settings.HostName, sp.GetRequiredService<HostAgent>()));
        }

        // A second UseOrleans configures the same silo as AddGuestOpsCluster's.
        builder.UseOrleans(silo =>
        {
            silo.UseSiloMetadata(siloMetadata);
            silo.AddPlacementDirector<HostAgentPlacementStrategy, HostAgentPlacementDirector>();
        });
        builder.Services.AddSingleton(sp => new ClusterHostAgent(
            sp.GetRequiredService<IGrainFactory>(),
            sp.GetRequiredService<IClusterMembershipService>(),
            sp.GetRequiredService<ISiloMetadataCache>(),
            sp.GetService<LocalHostAgent>(),
            sp.GetRequiredService<ILogger<ClusterHostAgent>>(),
            sp.GetRequiredService<IClusterManifestProvider>()));
        builder.Services.AddSingleton<IHostAgent>(sp => sp.GetRequiredService<ClusterHostAgent>());
        builder.Services.AddSingleton<IHostSystems>(sp => sp.GetRequiredService<ClusterHostAgent>());
        builder.Services.AddHostedService(sp => sp.GetRequiredService<ClusterHostAgent>());
        return builder;
    }
}
