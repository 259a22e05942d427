using System.Net;
using System.Net.Sockets;
using GuestOps.Cluster;

namespace GuestOps.Tests.Cluster;

/// <summary>
/// A member keeps its silo and gateway ports in its state directory and takes them again at its next start while both
/// are free (so Orleans replaces its previous incarnation at once); otherwise, or when the file is unreadable, it takes
/// two new free ports and keeps those.
/// </summary>
[TestClass]
public sealed class MemberPortsTests
{
    private string _directory = "";

    private string PortsPath => Path.Combine(_directory, ClusterHosting.PortsFile);

    [TestInitialize]
    public void CreateDirectory() => _directory = Directory.CreateTempSubdirectory("guestops-ports-").FullName;

    [TestCleanup]
    public void DeleteDirectory() => Directory.Delete(_directory, recursive: true);

    [TestMethod]
    public void FirstStart_TakesTwoFreePorts_AndKeepsThem()
    {
        var ports = ClusterHosting.MemberPorts(IPAddress.Loopback, PortsPath);

        Assert.AreNotEqual(ports.Silo, ports.Gateway);
        Assert.AreEqual($"{ports.Silo} {ports.Gateway}", File.ReadAllText(PortsPath).Trim());
    }

    [TestMethod]
    public void NextStart_TakesTheKeptPorts_WhileBothAreFree()
    {
        var first = ClusterHosting.MemberPorts(IPAddress.Loopback, PortsPath);

        Assert.AreEqual(first, ClusterHosting.MemberPorts(IPAddress.Loopback, PortsPath));
    }

    [TestMethod]
    public void NextStart_WithAKeptPortInUse_TakesNewPorts_AndKeepsThose()
    {
        var first = ClusterHosting.MemberPorts(IPAddress.Loopback, PortsPath);
        using var holder = new TcpListener(IPAddress.Loopback, first.Gateway);
        holder.Start();

        var second = ClusterHosting.MemberPorts(IPAddress.Loopback, PortsPath);

        Assert.AreNotEqual(first.Gateway, second.Gateway);
        Assert.AreEqual($"{second.Silo} {second.Gateway}", File.ReadAllText(PortsPath).Trim());
    }

    [TestMethod]
    [DataRow("")]
    [DataRow("not ports")]
    [DataRow("70000 70001")]
    [DataRow("5000 5000")]
    public void AnUnreadableFile_IsReplacedByNewPorts(string content)
    {
        File.WriteAllText(PortsPath, content);

        var ports = ClusterHosting.MemberPorts(IPAddress.Loopback, PortsPath);

        Assert.AreEqual($"{ports.Silo} {ports.Gateway}", File.ReadAllText(PortsPath).Trim());
    }
}
