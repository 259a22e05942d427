using System.Text.Json;
using GuestOps.IntegrationTests.Infrastructure;

namespace GuestOps.IntegrationTests;

/// <summary>
/// Acceptance of issue 2 with a real client: Debian's python3-pyvmomi, run with /usr/bin/python3 against the real
/// server on a loopback port (python/pyvmomi_acceptance.py does the pyVmomi part and prints JSON). Missing Python or
/// pyVmomi is a failure, not a skip: CI installs python3-pyvmomi.
/// </summary>
[TestClass]
public sealed class PyVmomiAcceptanceTests : IntegrationTest
{

    [TestMethod]
    [Timeout(120_000)]
    public async Task PyVmomi_ConnectsFindsEveryVmReadsPropertiesAndLogsOut()
    {
        var server = await SharedServer.GetAsync();
        var arguments = Arguments(server, SharedServer.VirtualMachineNames);

        using var pyvmomi = await RunPyVmomiAsync("pyvmomi_acceptance.py", arguments, TimeSpan.FromSeconds(90));
        AssertAcceptance(pyvmomi, SharedServer.VirtualMachineNames);
        await AssertStillServingAsync(server);
    }

    /// <summary>The pyvmomi_acceptance.py arguments for a server and its VMs.</summary>
    internal static List<string> Arguments(ServerProcess server, IEnumerable<string> vmNames)
    {
        List<string> arguments = ["--host", "127.0.0.1", "--port", server.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--user", "root", "--password", server.RootPassword!];
        foreach (var name in vmNames)
        {
            arguments.Add("--vm-name");
            arguments.Add(name);
        }

        return arguments;
    }

    /// <summary>What pyvmomi_acceptance.py must report, whatever the provider.</summary>
    internal static void AssertAcceptance(PyVmomiRun pyvmomi, IReadOnlyList<string> vmNames)
    {
        var result = pyvmomi.Result;
        Assert.IsTrue(pyvmomi.ResponseCount >= 10, $"pyVmomi should have received many SOAP responses, got {pyvmomi.ResponseCount}.");

        Assert.AreEqual("HostAgent", result.GetProperty("about").GetProperty("apiType").GetString());
        Assert.AreEqual("root", result.GetProperty("currentSessionUser").GetString(), "currentSession.userName after SmartConnect");

        var viewMoids = result.GetProperty("viewMoids").EnumerateArray().Select(e => e.GetString()!).ToList();
        Assert.AreEqual(vmNames.Count, viewMoids.Count, $"VMs in the ContainerView: {string.Join(", ", viewMoids)}");
        Assert.AreEqual(viewMoids.Count, viewMoids.Distinct().Count(), "the ContainerView lists a VM twice");

        var vms = result.GetProperty("vms").EnumerateArray().ToList();
        Assert.AreEqual(vmNames.Count, vms.Count);
        var uuids = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var vm in vms)
        {
            var name = vm.GetProperty("name").GetString()!;
            Assert.IsTrue(vm.GetProperty("found").GetBoolean(), $"pyVmomi did not find {name} by name in the ContainerView.");
            var moid = vm.GetProperty("moid").GetString()!;
            Assert.AreEqual(name, vm.GetProperty("readName").GetString(), $"{moid}.name");
            var powerState = vm.GetProperty("powerState").GetString();
            Assert.IsTrue(powerState is "poweredOn" or "poweredOff" or "suspended", $"{name}: runtime.powerState '{powerState}'");
            Assert.AreEqual("bool", vm.GetProperty("guestOperationsReadyType").GetString(), $"{name}: guest.guestOperationsReady must be a boolean, got {vm.GetProperty("guestOperationsReady")}");
            Assert.AreEqual(moid, vm.GetProperty("byInventoryPath").GetString(), $"FindByInventoryPath('ha-datacenter/vm/{name}')");
            var uuid = vm.GetProperty("uuid").GetString()!;
            Assert.IsTrue(Guid.TryParse(uuid, out _), $"{name}: config.uuid '{uuid}' is not a UUID");
            Assert.IsTrue(uuids.Add(uuid), $"{name}: config.uuid {uuid} is not unique");
            Assert.AreEqual(moid, vm.GetProperty("byUuid").GetString(), $"FindByUuid(None, '{uuid}', True)");
        }

        var fileManager = result.GetProperty("fileManager");
        Assert.AreEqual("GuestFileManager", fileManager.GetProperty("wsdlType").GetString());
        Assert.AreEqual("guestOperationsFileManager", fileManager.GetProperty("moid").GetString());

        var afterLogout = result.GetProperty("afterLogout");
        Assert.IsTrue(afterLogout.GetProperty("raised").GetBoolean(), "A call after Logout succeeded.");
        Assert.IsTrue(afterLogout.GetProperty("isNotAuthenticated").GetBoolean(), $"A call after Logout raised {afterLogout}, not vim.fault.NotAuthenticated.");

        var wrongPassword = result.GetProperty("wrongPassword");
        Assert.IsTrue(wrongPassword.GetProperty("raised").GetBoolean(), "SmartConnect with a wrong password succeeded.");
        Assert.IsTrue(wrongPassword.GetProperty("isInvalidLogin").GetBoolean(), $"A wrong password raised {wrongPassword}, not vim.fault.InvalidLogin.");
    }
}
