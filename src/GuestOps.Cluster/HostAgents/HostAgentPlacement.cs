using Orleans.Placement;
using Orleans.Runtime.MembershipService.SiloMetadata;
using Orleans.Runtime.Placement;

namespace GuestOps.Cluster.HostAgents;

/// <summary>Places a grain keyed by a host name on the live silo of the host agent of that name (its silo metadata,
/// <see cref="MemberMetadata.HostNameKey"/>): the newest such silo when a restarted host agent's old one is not yet
/// declared dead. With none, the activation is refused: a host agent's grain never runs anywhere else.</summary>
public sealed class HostAgentPlacementStrategy : PlacementStrategy
{
    public static HostAgentPlacementStrategy Instance { get; } = new();
}

/// <summary>See <see cref="HostAgentPlacementStrategy"/>.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
public sealed class HostAgentPlacementAttribute() : PlacementAttribute(HostAgentPlacementStrategy.Instance);

/// <summary>Chooses the silo for <see cref="HostAgentPlacementStrategy"/>.</summary>
public sealed class HostAgentPlacementDirector(ISiloMetadataCache metadata) : IPlacementDirector
{
    public Task<SiloAddress> OnAddActivation(PlacementStrategy strategy, PlacementTarget target, IPlacementContext context)
    {
        var hostName = target.GrainIdentity.Key.ToString();
        var silo = context.GetCompatibleSilos(target)
            .Where(s => MemberMetadata.HostNameOf(metadata.GetSiloMetadata(s)) == hostName)
            .MaxBy(s => s.Generation);
        return silo is not null
            ? Task.FromResult(silo)
            : Task.FromException<SiloAddress>(new HostAgentNotConnectedException(hostName));
    }
}

/// <summary>No live member of the cluster is the host agent of this name.</summary>
[GenerateSerializer, Alias("GuestOps.HostAgentNotConnectedException")]
public sealed class HostAgentNotConnectedException : Exception
{
    public HostAgentNotConnectedException(string hostName)
        : base($"Host agent {hostName} is not a live member of the cluster.")
    {
    }
}
