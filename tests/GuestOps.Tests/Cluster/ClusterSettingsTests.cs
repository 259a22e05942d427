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
    [DataRow("frontend", null, null, null, "GuestOps:Role (GUESTOPS_ROLE) 'frontend' needs GuestOps:Cluster (GUESTOPS_CLUSTER), the cluster's membership store, e.g. redis://127.0.0.1:6379.")]
    [DataRow("hostagent", " ", null, null, "GuestOps:Role (GUESTOPS_ROLE) 'hostagent' needs GuestOps:Cluster (GUESTOPS_CLUSTER), the cluster's membership store, e.g. redis://127.0.0.1:6379.")]
    [DataRow(null, "127.0.0.1:6379", null, null, "GuestOps:Cluster (GUESTOPS_CLUSTER) '127.0.0.1:6379' is neither redis://HOST:PORT nor a PostgreSQL connection string (Host=...;Database=...).")]
    [DataRow(null, "redis://127.0.0.1:6379/2", null, null, "GuestOps:Cluster (GUESTOPS_CLUSTER) 'redis://127.0.0.1:6379/2' is not of the form redis://HOST:PORT.")]
    [DataRow(null, "redis://:99999", null, null, "GuestOps:Cluster (GUESTOPS_CLUSTER) 'redis://:99999' is not of the form redis://HOST:PORT.")]
    [DataRow(null, "Host=127.0.0.1;Database=guestops;Username=guestops", null, null, "GuestOps:Cluster (GUESTOPS_CLUSTER): a PostgreSQL membership store is not supported yet; use redis://HOST:PORT.")]
    [DataRow(null, null, " ", null, "GuestOps:HostName (GUESTOPS_HOST_NAME) ' ' must be 1 to 80 printable characters.")]
    [DataRow(null, null, null, "a,,b", "GuestOps:DemoVms (GUESTOPS_DEMO_VMS) 'a,,b': '' is not a VM name (1 to 80 printable characters, names separated by commas).")]
    [DataRow(null, null, null, "", "GuestOps:DemoVms (GUESTOPS_DEMO_VMS) '': '' is not a VM name (1 to 80 printable characters, names separated by commas).")]
    [DataRow(null, null, null, "a,b,a", "GuestOps:DemoVms (GUESTOPS_DEMO_VMS) 'a,b,a' names VM 'a' twice.")]
    public void BadValues_AreRefusedWithOneLineNamingTheSetting(string? role, string? cluster, string? hostName, string? demoVms, string message)
    {
        var e = Assert.ThrowsExactly<ClusterSettingsException>(() => ClusterSettings.Parse(role, cluster, hostName, demoVms));
        Assert.AreEqual(message, e.Message);
        Assert.DoesNotContain("\n", e.Message);
    }
}
