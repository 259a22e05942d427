using System.Diagnostics;
using GuestOps.Host.Events;
using GuestOps.Server.ManagedObjects;
using GuestOps.Vim;

namespace GuestOps.Tests.Server;

/// <summary>Events cross to the host agent as records and come back as the same vim25 events, faults included.</summary>
[TestClass]
public sealed class VimEventsTests
{
    [TestMethod]
    public void FaultsComeBackWhole()
    {
        var vm = new ManagedObjectReference("VirtualMachine", "vm-1");
        var clock = Stopwatch.StartNew();
        var noPermission = VimEvents.Fault(VimEvents.Fault(
            new NoPermission
            {
                @object = vm,
                privilegeId = Privileges.GuestOperationsExecute,
                missingPrivileges = [new NoPermissionEntityPrivileges { entity = vm, privilegeIds = [Privileges.GuestOperationsExecute, Privileges.InteractGuestControl] }],
            },
            "Permission to perform this operation was denied."));
        Console.WriteLine($"first round trip: {clock.ElapsedMilliseconds} ms");

        var fault = (NoPermission)noPermission.fault!;
        Assert.AreEqual("Permission to perform this operation was denied.", noPermission.localizedMessage);
        Assert.AreEqual(vm, fault.@object);
        Assert.AreEqual(Privileges.GuestOperationsExecute, fault.privilegeId);
        CollectionAssert.AreEqual(new[] { Privileges.GuestOperationsExecute, Privileges.InteractGuestControl }, fault.missingPrivileges!.Single().privilegeIds);
        Assert.AreEqual(vm, fault.missingPrivileges!.Single().entity);

        var notFound = VimEvents.Fault(new FileNotFound { file = "/tmp/x" }, "File /tmp/x was not found");
        Assert.AreEqual(nameof(FileNotFound), notFound.Type);
        Assert.AreEqual("/tmp/x", ((FileNotFound)VimEvents.Fault(notFound).fault!).file);
    }

    [TestMethod]
    public void RecordBecomesEventEx()
    {
        var record = new EventRecord(
            7, new DateTime(2026, 11, 25, 12, 0, 0, DateTimeKind.Utc), "root", "com.vmware.vc.guestOperations.GuestOperation", "warning", "Guest operation failed.",
            new EventEntity("Datacenter", "datacenter-2", "ha-datacenter"), new EventEntity("VirtualMachine", "vm-1", "alpha"),
            [new EventKeyValue("operationName", "ListFilesInGuest")], VimEvents.Fault(new InvalidGuestLogin(), "Failed to authenticate."));
        var e = VimEvents.ToVim(record);
        Assert.AreEqual((7, 7, "root", "warning", "Guest operation failed."), (e.key, e.chainId, e.userName, e.severity, e.fullFormattedMessage));
        Assert.AreEqual((new ManagedObjectReference("VirtualMachine", "vm-1"), "alpha"), (e.vm!.vm, e.vm.name));
        Assert.AreEqual(("vm-1", "VirtualMachine", "alpha"), (e.objectId, e.objectType, e.objectName));
        Assert.AreEqual((new ManagedObjectReference("Datacenter", "datacenter-2"), "ha-datacenter"), (e.datacenter!.datacenter, e.datacenter.name));
        Assert.AreEqual(("operationName", (object)"ListFilesInGuest"), (e.arguments!.Single().key, e.arguments!.Single().value));
        Assert.IsInstanceOfType<InvalidGuestLogin>(e.fault!.fault);
        Assert.AreEqual("Failed to authenticate.", e.fault.localizedMessage);
    }
}
