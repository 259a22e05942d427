using System.Collections.Immutable;
using System.Net;
using GuestOps.Cluster.HostAgents;
using Microsoft.Extensions.Logging.Abstractions;
using Moq;
using Orleans.Metadata;
using Orleans.Runtime.MembershipService.SiloMetadata;

namespace GuestOps.Tests.Cluster;

/// <summary>
/// A front end asks a host agent for its inventory only once its own cluster manifest lists that member with the host
/// agent grain: a member active in the membership a moment before its manifest arrived could not have the grain
/// placed, and the engine would log that refusal as an error.
/// </summary>
[TestClass]
public sealed class ClusterHostAgentManifestTests
{
    private static readonly SiloAddress SiloA = SiloAddress.New(new IPEndPoint(IPAddress.Loopback, 11111), 1);
    private static readonly SiloAddress SiloB = SiloAddress.New(new IPEndPoint(IPAddress.Loopback, 11112), 1);

    [TestMethod]
    public async Task AMemberWhoseManifestHasNotArrived_IsNotAskedYet()
    {
        var grains = new Mock<IGrainFactory>();
        grains.Setup(f => f.GetGrain<IHostAgentGrain>(It.IsAny<string>(), null)).Returns(Mock.Of<IHostAgentGrain>());
        var manifest = new ClusterManifest(new MajorMinorVersion(1, 1), ImmutableDictionary<SiloAddress, GrainManifest>.Empty
            .Add(SiloA, Manifest(GrainType.Create(HostAgentGrain.TypeName)))
            .Add(SiloB, Manifest()));
        var agent = new ClusterHostAgent(grains.Object, Membership(), Metadata(), null, NullLogger<ClusterHostAgent>.Instance, Mock.Of<IClusterManifestProvider>(p => p.Current == manifest));

        await agent.PollAsync(CancellationToken.None);

        grains.Verify(f => f.GetGrain<IHostAgentGrain>("esx-a", null), Times.AtLeastOnce(), "its manifest lists the host agent grain");
        grains.Verify(f => f.GetGrain<IHostAgentGrain>("esx-b", null), Times.Never(), "active, but its manifest has not arrived");
    }

    private static GrainManifest Manifest(params GrainType[] types) => new(
        types.ToImmutableDictionary(t => t, _ => new GrainProperties(ImmutableDictionary.Create<string, string>(StringComparer.Ordinal))),
        ImmutableDictionary<GrainInterfaceType, GrainInterfaceProperties>.Empty);

    private static IClusterMembershipService Membership()
    {
        var members = ImmutableDictionary<SiloAddress, ClusterMember>.Empty
            .Add(SiloA, new ClusterMember(SiloA, SiloStatus.Active, "a"))
            .Add(SiloB, new ClusterMember(SiloB, SiloStatus.Active, "b"));
        return Mock.Of<IClusterMembershipService>(m => m.CurrentSnapshot == new ClusterMembershipSnapshot(members, new MembershipVersion(1)));
    }

    private static ISiloMetadataCache Metadata()
    {
        var cache = new Mock<ISiloMetadataCache>();
        cache.Setup(c => c.GetSiloMetadata(SiloA)).Returns(HostAgent("esx-a"));
        cache.Setup(c => c.GetSiloMetadata(SiloB)).Returns(HostAgent("esx-b"));
        return cache.Object;
    }

    /// <summary>A host agent's silo metadata, as the engine fills it in (its setter is the engine's own).</summary>
    private static SiloMetadata HostAgent(string hostName)
    {
        var metadata = new SiloMetadata();
        typeof(SiloMetadata).GetMethod("AddMetadata", System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.NonPublic, [typeof(string), typeof(string)])!
            .Invoke(metadata, [MemberMetadata.HostNameKey, hostName]);
        return metadata;
    }
}
