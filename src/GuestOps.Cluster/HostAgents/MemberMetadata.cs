using Orleans.Runtime.MembershipService.SiloMetadata;

namespace GuestOps.Cluster.HostAgents;

/// <summary>What a member publishes about itself as Orleans silo metadata, which the engine's membership hands to every
/// member: its role, and on a host agent its host name (where <see cref="IHostAgentGrain"/> of that name is placed).</summary>
public static class MemberMetadata
{
    /// <summary>The member's role (<c>all</c>, <c>frontend</c>, <c>hostagent</c>).</summary>
    public const string RoleKey = "guestops.role";

    /// <summary>The host name of the member's host agent; absent on a front end.</summary>
    public const string HostNameKey = "guestops.host";

    /// <summary>The host name a member's silo metadata names; null for a front end (or metadata not known yet).</summary>
    public static string? HostNameOf(SiloMetadata metadata) => metadata.Metadata.GetValueOrDefault(HostNameKey);
}
