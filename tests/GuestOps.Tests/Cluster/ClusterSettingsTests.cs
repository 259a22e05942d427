using GuestOps.Cluster;

namespace GuestOps.Tests.Cluster;

/// <summary>GUESTOPS_ROLE, GUESTOPS_CLUSTER, GUESTOPS_HOST_NAME and GUESTOPS_DEMO_VMS read and checked: unset is the
/// single process as today; a bad value is refused with one line naming the setting.</summary>
[TestClass]
public sealed class ClusterSettingsTests
{
    [TestMethod]
    public void Unset_IsTheSingleProcess()
    {
        var settings = ClusterSettings.Parse(null, null, null, null);
        Assert.AreEqual(ProcessRole.All, settings.Role);
        Assert.IsNull(settings.Store);
        Assert.IsFalse(settings.Clustered);
        Assert.AreEqual(Environment.MachineName, settings.HostName);
        Assert.IsNull(settings.DemoVms, "no GUESTOPS_DEMO_VMS: the configured VMs stay");
    }

    [TestMethod]
    [DataRow("redis://127.0.0.1:6390", "127.0.0.1", 6390)]
    [DataRow("redis://cache.example:7000/", "cache.example", 7000)]
    [DataRow(" REDIS://localhost ", "localhost", 6379)]
    public void RedisStore_IsRead(string cluster, string host, int port)
    {
        var settings = ClusterSettings.Parse("all", cluster, "esx-1", null);
        Assert.AreEqual(new RedisStore(host, port), settings.Store);
        Assert.IsTrue(settings.Clustered);
        Assert.AreEqual("esx-1", settings.HostName);
    }

    [TestMethod]
    [DataRow("Host=127.0.0.1;Database=guestops;Username=guestops", "127.0.0.1", "database 'guestops' at 127.0.0.1:5432")]
    [DataRow(" host=db.example; port=6543; database=cluster; username=go; password=secret ", "db.example", "database 'cluster' at db.example:6543")]
    [DataRow("Server=db1:5433,db2;Database=guestops;Timeout=3", "db1", "database 'guestops' at db1:5433,db2:5432")]
    [DataRow("Host=/var/run/postgresql;Database=guestops", "localhost", "database 'guestops' at /var/run/postgresql:5432")]
    public void PostgreSqlStore_IsRead(string cluster, string host, string description)
    {
        var settings = ClusterSettings.Parse("all", cluster, null, null);
        var store = Assert.IsInstanceOfType<PostgreSqlStore>(settings.Store);
        Assert.IsTrue(settings.Clustered);
        Assert.AreEqual(host, store.Host, "the host a member advertises from");
        Assert.AreEqual(description, store.Description);
        var read = new Npgsql.NpgsqlConnectionStringBuilder(store.ConnectionString);
        var given = new Npgsql.NpgsqlConnectionStringBuilder(cluster.Trim());
        Assert.IsTrue(read.EquivalentTo(given), "Npgsql reads the same connection");
        Assert.DoesNotContain("secret", store.ToString(), "never the password in a message or a log");
    }

    [TestMethod]
    [DataRow("frontend", ProcessRole.FrontEnd)]
    [DataRow(" HostAgent ", ProcessRole.HostAgent)]
    [DataRow("all", ProcessRole.All)]
    public void Roles_AreReadInACluster(string role, ProcessRole expected)
    {
        var settings = ClusterSettings.Parse(role, "redis://127.0.0.1:6379", "esx-2", null);
        Assert.AreEqual(expected, settings.Role);
        Assert.IsTrue(settings.Clustered);
    }

    [TestMethod]
    public void DemoVms_AreReadInOrder()
    {
        var settings = ClusterSettings.Parse(null, null, null, " a, b ,c");
        CollectionAssert.AreEqual(new[] { "a", "b", "c" }, settings.DemoVms!.ToArray());
    }

    [TestMethod]
    [DataRow("primary", null, null, null, "GuestOps:Role (GUESTOPS_ROLE) 'primary' is not one of all, frontend, hostagent.")]
    [DataRow("frontend", null, null, null, "GuestOps:Role (GUESTOPS_ROLE) 'frontend' needs GuestOps:Cluster (GUESTOPS_CLUSTER), the cluster's membership store, e.g. redis://127.0.0.1:6379 or a PostgreSQL connection string Host=127.0.0.1;Database=guestops;Username=guestops;Password=...")]
    [DataRow("hostagent", " ", null, null, "GuestOps:Role (GUESTOPS_ROLE) 'hostagent' needs GuestOps:Cluster (GUESTOPS_CLUSTER), the cluster's membership store, e.g. redis://127.0.0.1:6379 or a PostgreSQL connection string Host=127.0.0.1;Database=guestops;Username=guestops;Password=...")]
    [DataRow(null, "127.0.0.1:6379", null, null, "GuestOps:Cluster (GUESTOPS_CLUSTER) '127.0.0.1:6379' is neither redis://HOST:PORT nor a PostgreSQL connection string (Host=...;Database=...).")]
    [DataRow(null, "redis://127.0.0.1:6379/2", null, null, "GuestOps:Cluster (GUESTOPS_CLUSTER) 'redis://127.0.0.1:6379/2' is not of the form redis://HOST:PORT.")]
    [DataRow(null, "redis://:99999", null, null, "GuestOps:Cluster (GUESTOPS_CLUSTER) 'redis://:99999' is not of the form redis://HOST:PORT.")]
    [DataRow(null, "Host=127.0.0.1;Username=guestops", null, null, "GuestOps:Cluster (GUESTOPS_CLUSTER): the PostgreSQL connection string names no Database; the cluster's tables need a database, e.g. Host=127.0.0.1;Database=guestops.")]
    [DataRow(null, "Host=127.0.0.1;Database=guestops;Pasword=secret", null, null, "GuestOps:Cluster (GUESTOPS_CLUSTER) is not a PostgreSQL connection string that Npgsql accepts: 'pasword' is not one of its keywords")]
    [DataRow(null, "Host=127.0.0.1;Database=guestops;Port=many", null, null, "GuestOps:Cluster (GUESTOPS_CLUSTER) is not a PostgreSQL connection string that Npgsql accepts: port: The input string 'many' was not in a correct format.")]
    [DataRow(null, null, " ", null, "GuestOps:HostName (GUESTOPS_HOST_NAME) ' ' must be 1 to 80 printable characters.")]
    [DataRow(null, null, null, "a,,b", "GuestOps:DemoVms (GUESTOPS_DEMO_VMS) 'a,,b': '' is not a VM name (1 to 80 printable characters, names separated by commas).")]
    [DataRow(null, null, null, "", "GuestOps:DemoVms (GUESTOPS_DEMO_VMS) '': '' is not a VM name (1 to 80 printable characters, names separated by commas).")]
    [DataRow(null, null, null, "a,b,a", "GuestOps:DemoVms (GUESTOPS_DEMO_VMS) 'a,b,a' names VM 'a' twice.")]
    public void BadValues_AreRefusedWithOneLineNamingTheSetting(string? role, string? cluster, string? hostName, string? demoVms, string message)
    {
        var e = Assert.ThrowsExactly<ClusterSettingsException>(() => ClusterSettings.Parse(role, cluster, hostName, demoVms));
        Assert.AreEqual(message, e.Message);
        Assert.DoesNotContain("\n", e.Message);
        Assert.DoesNotContain("secret", e.Message, "a refused connection string is not repeated: it may hold a password");
    }
}
