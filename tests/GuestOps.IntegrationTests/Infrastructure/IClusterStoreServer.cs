namespace GuestOps.IntegrationTests.Infrastructure;

/// <summary>A throwaway server that is a test cluster's membership and grain store.</summary>
public interface IClusterStoreServer : IAsyncDisposable
{
    /// <summary>GUESTOPS_CLUSTER naming this server.</summary>
    string ClusterSetting { get; }

    /// <summary>Stops the server as its service manager would and starts it again on the same port, with whatever data
    /// it kept; returns once it answers.</summary>
    Task RestartAsync();
}
