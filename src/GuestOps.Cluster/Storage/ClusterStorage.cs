namespace GuestOps.Cluster.Storage;

/// <summary>The grain storage provider that keeps the cluster's persistent grain state in the membership store.</summary>
public static class ClusterStorage
{
    public const string Name = "guestops";
}
