using GuestOps.Host;

namespace GuestOps.Tests.Host;

/// <summary>
/// The versions of a host agent's VMs: an asker holding version V receives only the VMs added or changed since V and the
/// ids removed since V; an asker holding nothing, a version of another epoch (the host agent restarted) or a version
/// older than the removals remembered receives every VM.
/// </summary>
[TestClass]
public sealed class InventoryVersionsTests
{
    private static VmSnapshot Vm(string id, bool ready = false) => new(
        new VmConfiguration { Id = id, Name = id + "-name", Uuid = "u-" + id, InstanceUuid = "i-" + id },
        VmPowerState.PoweredOn,
        null,
        ready ? new GuestAgentState { Running = true, OperationsReady = true } : GuestAgentState.NotRunning);

    private static string[] Ids(IEnumerable<VmSnapshot> vms) => vms.Select(vm => vm.Configuration.Id).ToArray();

    [TestMethod]
    public void SinceAVersion_OnlyTheVmsChangedSinceCross()
    {
        var versions = new InventoryVersions();
        Assert.IsTrue(versions.Update([Vm("a"), Vm("b"), Vm("c")]));
        var first = versions.ChangesSince(0, 0);
        Assert.IsTrue(first.Full);
        CollectionAssert.AreEqual(new[] { "a", "b", "c" }, Ids(first.Changed));

        Assert.IsFalse(versions.Update([Vm("a"), Vm("b"), Vm("c")]), "equal snapshots are no change");
        var none = versions.ChangesSince(first.Epoch, first.Version);
        Assert.IsFalse(none.Full);
        Assert.IsEmpty(none.Changed);
        Assert.AreEqual(first.Version, none.Version);

        Assert.IsTrue(versions.Update([Vm("a"), Vm("b", ready: true), Vm("c")]));
        var second = versions.ChangesSince(first.Epoch, first.Version);
        Assert.IsFalse(second.Full);
        CollectionAssert.AreEqual(new[] { "b" }, Ids(second.Changed));
        Assert.IsTrue(second.Changed[0].Agent.OperationsReady);
        Assert.IsGreaterThan(first.Version, second.Version);

        versions.Update([Vm("a", ready: true), Vm("b", ready: true), Vm("c")]);
        CollectionAssert.AreEqual(new[] { "a", "b" }, Ids(versions.ChangesSince(first.Epoch, first.Version).Changed), "two versions behind: both changes");
        CollectionAssert.AreEqual(new[] { "a" }, Ids(versions.ChangesSince(first.Epoch, second.Version).Changed));
    }

    [TestMethod]
    public void ARemovedVm_CrossesAsItsId_AndAnAddedOneAsItsSnapshot()
    {
        var versions = new InventoryVersions();
        versions.Update([Vm("a"), Vm("b"), Vm("c")]);
        var held = versions.ChangesSince(0, 0);

        versions.Update([Vm("a"), Vm("c"), Vm("d")]);
        var delta = versions.ChangesSince(held.Epoch, held.Version);
        Assert.IsFalse(delta.Full);
        CollectionAssert.AreEqual(new[] { "b" }, delta.Removed);
        CollectionAssert.AreEqual(new[] { "d" }, Ids(delta.Changed));

        versions.Update([Vm("a"), Vm("c"), Vm("d"), Vm("b")]);
        var back = versions.ChangesSince(held.Epoch, delta.Version);
        Assert.IsEmpty(back.Removed, "a VM added again after the asker saw it removed");
        CollectionAssert.AreEqual(new[] { "b" }, Ids(back.Changed));
    }

    [TestMethod]
    public void AnotherEpoch_AFutureVersion_OrARemovalForgotten_CrossesEverything()
    {
        var before = new InventoryVersions();
        before.Update([Vm("a"), Vm("b")]);
        var held = before.ChangesSince(0, 0);

        // The host agent restarted: a new instance, the same VMs.
        var after = new InventoryVersions();
        after.Update([Vm("a"), Vm("c")]);
        Assert.AreNotEqual(held.Epoch, after.Epoch);
        var restarted = after.ChangesSince(held.Epoch, held.Version);
        Assert.IsTrue(restarted.Full, "a version of another epoch");
        CollectionAssert.AreEqual(new[] { "a", "c" }, Ids(restarted.Changed));
        Assert.IsTrue(after.ChangesSince(after.Epoch, after.Version + 1).Full, "a version this epoch never had");

        var versions = new InventoryVersions();
        var vms = Enumerable.Range(0, InventoryVersions.MaxRemovals + 2).Select(i => Vm($"vm-{i}")).ToList();
        versions.Update(vms);
        var old = versions.ChangesSince(0, 0);
        for (var i = 0; i <= InventoryVersions.MaxRemovals; i++)
        {
            vms.RemoveAt(0);
            versions.Update(vms);
        }

        var forgotten = versions.ChangesSince(old.Epoch, old.Version);
        Assert.IsTrue(forgotten.Full, "the first removal since that version is no longer remembered");
        CollectionAssert.AreEqual(new[] { $"vm-{InventoryVersions.MaxRemovals + 1}" }, Ids(forgotten.Changed));
        var recent = versions.ChangesSince(old.Epoch, old.Version + 1);
        Assert.IsFalse(recent.Full);
        Assert.HasCount(InventoryVersions.MaxRemovals, recent.Removed);
    }
}
