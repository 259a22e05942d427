using System.Globalization;
using System.Text.Json;
using GuestOps.IntegrationTests.Infrastructure;

namespace GuestOps.IntegrationTests.Authorization;

/// <summary>
/// Acceptance of issue 6 with a real client (Debian's python3-pyvmomi, python/pyvmomi_authorization.py) against a
/// server with sandboxed guests: a user whose role holds only VirtualMachine.GuestOperations.Query lists files in the
/// guest, gets vim.fault.NoPermission (VirtualMachine.GuestOperations.Execute on the VM) from StartProgramInGuest, and
/// HasPrivilegeOnEntity agrees; both calls are in the audit trail QueryEvents returns, without the guest password.
/// </summary>
[TestClass]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class PyVmomiAuthorizationTests : IntegrationTest
{
    private const string User = "query-only";
    private const string UserPassword = "Query-Only-Pa55!";

    [TestMethod]
    [Timeout(180_000)]
    public async Task PyVmomi_QueryOnlyUserListsFilesButCannotStartPrograms_HasPrivilegeOnEntityAgrees_EventsRecorded()
    {
        await using var server = await GuestServer.StartAsync(["authz-vm"]);
        List<string> arguments =
        [
            "--host", "127.0.0.1", "--port", server.Server.Port.ToString(CultureInfo.InvariantCulture),
            "--root-password", server.Server.RootPassword!, "--user", User, "--user-password", UserPassword,
            "--guest-user", "demo", "--guest-password", GuestServer.GuestPassword, "--vm-name", "authz-vm", "--directory", "/",
        ];
        using var pyvmomi = await RunPyVmomiAsync("pyvmomi_authorization.py", arguments, TimeSpan.FromSeconds(120));
        var result = pyvmomi.Result;

        var roles = result.GetProperty("roleNames").EnumerateArray().Select(r => r.GetString()).ToList();
        CollectionAssert.IsSubsetOf(new[] { "Admin", "ReadOnly", "NoAccess" }, roles);
        Assert.IsTrue(result.GetProperty("userFindsVm").GetBoolean(), "the user sees the VM its permission is on");
        CollectionAssert.Contains(result.GetProperty("listed").EnumerateArray().Select(e => e.GetString()).ToList(), "tmp", "ListFilesInGuest / as a Query-only user");

        var start = result.GetProperty("start");
        Assert.IsTrue(start.GetProperty("raised").GetBoolean(), "StartProgramInGuest succeeded for a Query-only user");
        Assert.IsTrue(start.GetProperty("isNoPermission").GetBoolean(), $"StartProgramInGuest raised {start}, not vim.fault.NoPermission");
        Assert.AreEqual("VirtualMachine.GuestOperations.Execute", start.GetProperty("privilegeId").GetString());
        Assert.AreEqual(GuestServer.VmId(0), start.GetProperty("object").GetString());

        CollectionAssert.AreEqual(new[] { true, false }, result.GetProperty("hasPrivilege").EnumerateArray().Select(b => b.GetBoolean()).ToArray(),
            "HasPrivilegeOnEntity(vm, own session, [Query, Execute])");

        var events = result.GetProperty("events").EnumerateArray().ToList();
        var list = events.Single(e => e.GetProperty("arguments").GetProperty("operationName").GetString() == "ListFilesInGuest");
        Assert.AreEqual("com.vmware.vc.guestOperations.GuestOperation", list.GetProperty("eventTypeId").GetString());
        Assert.AreEqual(User, list.GetProperty("userName").GetString());
        Assert.AreEqual("authz-vm", list.GetProperty("vm").GetString());
        Assert.AreEqual("demo", list.GetProperty("arguments").GetProperty("guestUser").GetString());
        Assert.AreEqual("/", list.GetProperty("arguments").GetProperty("filePath").GetString());
        var denied = events.Single(e => e.GetProperty("arguments").GetProperty("operationName").GetString() == "StartProgramInGuest");
        Assert.AreEqual("com.guestops.guestOperations.GuestOperationDenied", denied.GetProperty("eventTypeId").GetString());
        Assert.AreEqual("NoPermission", denied.GetProperty("fault").GetString());
        Assert.AreEqual("/bin/true", denied.GetProperty("arguments").GetProperty("programPath").GetString());
        Assert.DoesNotContain(GuestServer.GuestPassword, result.GetProperty("events").GetRawText(), "no guest password in the audit trail");

        await AssertStillServingAsync(server.Server);
    }
}
