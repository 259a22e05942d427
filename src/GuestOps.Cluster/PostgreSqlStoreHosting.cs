using GuestOps.Cluster.Storage;

namespace GuestOps.Cluster;

/// <summary>A PostgreSQL database as the silo's membership table and grain storage, through Orleans' ADO.NET
/// providers (invariant Npgsql) on the tables <see cref="PostgreSqlSchema"/> makes.</summary>
internal static class PostgreSqlStoreHosting
{
    /// <summary>The ADO.NET invariant name Orleans loads Npgsql's provider factory by.</summary>
    public const string Invariant = "Npgsql";

    public static ISiloBuilder UsePostgreSqlStore(this ISiloBuilder silo, PostgreSqlStore store)
    {
        silo.UseAdoNetClustering(o =>
        {
            o.Invariant = Invariant;
            o.ConnectionString = store.ConnectionString;
        });
        silo.AddAdoNetGrainStorage(ClusterStorage.Name, o =>
        {
            o.Invariant = Invariant;
            o.ConnectionString = store.ConnectionString;
            o.DeleteStateOnClear = true;
        });
        return silo;
    }
}
