using GuestOps.Host.Providers;

namespace GuestOps.Tests.Host;

[TestClass]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class SandboxVmProviderTests
{
    [TestMethod]
    public void MoreVmsThanIdSlots_IsNamedAsAnIsolationLimit()
    {
        var provider = new SandboxVmProvider();
        Assert.IsTrue(provider.UsesUserNamespace, "needs root ranges in /etc/subuid and /etc/subgid and uidmap (.ci/run sets them up)");
        var slots = provider.IdSlots;
        Assert.IsGreaterThanOrEqualTo(1, slots);
        Assert.IsNull(provider.IsolationLimit(slots), "one slot per VM: nothing shared");
        Assert.AreEqual(provider.HostIdOffset(0), provider.HostIdOffset(slots), "the VM after the last slot reuses the first slot");
        var limit = ((IVmProvider)provider).IsolationLimit(slots + 1);
        Assert.IsNotNull(limit);
        StringAssert.Contains(limit, $"VM i and VM i+{slots} share host uids and gids");
        Assert.IsNull(((IVmProvider)new ProcessVmProvider()).IsolationLimit(1000), "the process provider claims no isolation to begin with");
    }

    [TestMethod]
    public void RootsRange_IsCutIntoWholeSlots_OnePartPerHostAgent()
    {
        var directory = Directory.CreateTempSubdirectory("guestops-subuid-").FullName;
        try
        {
            string File(string name, string text)
            {
                var path = Path.Combine(directory, name);
                System.IO.File.WriteAllText(path, text);
                return path;
            }

            var ids = File("subid", "demo:100000:65536\nroot:1000000:6553600\n");
            var uidmap = File("newuidmap", "");

            CollectionAssert.AreEqual(new[] { "1000000:3276800", "4276800:3276800" }, SandboxVmProvider.SplitGuestIdRange(2, ids, ids, uidmap)!.ToArray(), "50 slots each, one after the other");
            CollectionAssert.AreEqual(new[] { "1000000:2162688", "3162688:2162688", "5325376:2162688" }, SandboxVmProvider.SplitGuestIdRange(3, ids, ids, uidmap)!.ToArray(), "33 whole slots each");
            Assert.IsNull(SandboxVmProvider.SplitGuestIdRange(101, ids, ids, uidmap), "fewer slots than host agents");
            Assert.IsNull(SandboxVmProvider.SplitGuestIdRange(2, ids, File("subgid", "root:2000000:6553600\n"), uidmap), "one START:COUNT cannot name two different ranges");
            Assert.IsNull(SandboxVmProvider.SplitGuestIdRange(2, ids, ids, Path.Combine(directory, "absent")), "no uidmap, no user namespace");
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
