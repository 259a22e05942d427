namespace GuestOps.IntegrationTests.Infrastructure;

/// <summary>A throwaway server that is a test cluster's membership and grain store.</summary>
public interface IClusterStoreServer : IAsyncDisposable
{
    /// <summary>GUESTOPS_CLUSTER naming this server.</summary>
    string ClusterSetting { get; }
}
