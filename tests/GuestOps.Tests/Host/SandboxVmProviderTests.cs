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
}
