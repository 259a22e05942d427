using System.Globalization;
using System.Text.Json;
using GuestOps.IntegrationTests.Infrastructure;

namespace GuestOps.IntegrationTests;

/// <summary>
/// Guest-operation faults through the real server and a real client (Debian's python3-pyvmomi,
/// python/pyvmomi_guest_faults.py), each checked against the wire reference (vim25-guest-operations.md 3.2, 5.1, 6) for
/// its type and detail fields as pyVmomi deserialized them: InvalidPowerState for a VM configured powered off
/// (GuestOps:VirtualMachines:N:PowerState = poweredOff, runtime.powerState poweredOff; requestedState poweredOn,
/// existingState poweredOff); GuestOperationsUnavailable for auth.interactiveSession = true on a headless guest
/// (guest.interactiveGuestOperationsReady false); FileLocked for a directory the guest's kernel holds busy (the mount
/// point /proc, deleted as guest root: EBUSY, the Linux counterpart of a Windows sharing violation); TooManyGuestLogons once the guest holds its limit of unfinished SSPI
/// logons (64); GuestComponentsOutOfDate for a VM whose guest agent speaks a protocol older than the host's
/// (python/old_guest_tools.py run by the process provider in place of guestops-tools). Fault types and fields are
/// asserted, never message text.
/// </summary>
[TestClass]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class PyVmomiGuestFaultTests : IntegrationTest
{
    /// <summary>SspiOptions.MaxPendingExchanges of the worker: unfinished SSPI logons a guest holds at most.</summary>
    private const int MaxPendingLogons = 64;

    [TestMethod]
    [Timeout(180_000)]
    public async Task PyVmomi_PoweredOffVm_InvalidPowerState_InteractiveSession_Refused_FileLocked_TooManyGuestLogons()
    {
        await using var server = await GuestServer.StartAsync(
            vmNames: ["fault-vm-on", "fault-vm-off"],
            arguments: ["--GuestOps:VirtualMachines:1:PowerState=poweredOff"],
            readyVmIds: ["vm-1"]);
        using var pyvmomi = await RunPyVmomiAsync("pyvmomi_guest_faults.py",
        [
            "--port", server.Server.Port.ToString(CultureInfo.InvariantCulture), "--password", server.Server.RootPassword!,
            "--guest-password", GuestServer.GuestPassword, "--vm-name", "fault-vm-on", "--off-vm-name", "fault-vm-off",
            "--locked-path", "/proc", "--logons", (MaxPendingLogons + 6).ToString(CultureInfo.InvariantCulture),
        ], TimeSpan.FromSeconds(150));
        var facts = pyvmomi.Result.GetProperty("facts");
        TestContext.WriteLine(facts.ToString());

        Assert.AreEqual("ok", Fault(facts, "validated"), "the powered-on VM answers");
        Assert.IsTrue(facts.GetProperty("ready").GetProperty("guestOperationsReady").GetBoolean());

        // A powered-off VM: InvalidPowerState with requestedState poweredOn, existingState poweredOff.
        Assert.AreEqual("poweredOff", facts.GetProperty("off").GetProperty("powerState").GetString(), "runtime.powerState of the powered-off VM");
        Assert.IsFalse(facts.GetProperty("off").GetProperty("guestOperationsReady").GetBoolean());
        foreach (var call in new[] { "offList", "offStart", "offValidate" })
        {
            var fault = facts.GetProperty(call);
            Assert.AreEqual("InvalidPowerState", fault.GetProperty("wsdlName").GetString(), $"{call}: {fault}");
            Assert.AreEqual("poweredOn", fault.GetProperty("requestedState").GetString(), $"{call}: requestedState");
            Assert.AreEqual("poweredOff", fault.GetProperty("existingState").GetString(), $"{call}: existingState");
        }

        // interactiveSession=true: the guest has no desktop session, and says so before running anything.
        Assert.IsFalse(facts.GetProperty("ready").GetProperty("interactiveGuestOperationsReady").GetBoolean(), "guest.interactiveGuestOperationsReady of a headless guest");
        Assert.AreEqual("GuestOperationsUnavailable", Fault(facts, "interactiveStart"), "StartProgramInGuest with interactiveSession=true");
        Assert.AreEqual("GuestOperationsUnavailable", Fault(facts, "interactiveList"), "ListFilesInGuest with interactiveSession=true");

        // A directory in use by the system: FileLocked ("file in use"), with the path in its file field.
        var locked = facts.GetProperty("locked");
        Assert.AreEqual("FileLocked", locked.GetProperty("wsdlName").GetString(), locked.ToString());
        Assert.AreEqual("/proc", locked.GetProperty("file").GetString(), "FileLocked.file");

        // SSPI logons begun and never finished: a challenge each, up to the guest's limit; then
        // TooManyGuestLogons. Name-and-password calls hold no logon session and still work.
        Assert.AreEqual(MaxPendingLogons, facts.GetProperty("challenges").GetInt32(), "first legs answered with GuestAuthenticationChallenge before the limit");
        Assert.AreEqual("TooManyGuestLogons", facts.GetProperty("logonRefused").GetProperty("wsdlName").GetString(), facts.GetProperty("logonRefused").ToString());
        Assert.AreEqual("ok", Fault(facts, "validatedAfterLogons"));
        await AssertStillServingAsync(server.Server);
    }

    [TestMethod]
    [Timeout(120_000)]
    public async Task PyVmomi_GuestAgentTooOld_GuestComponentsOutOfDate()
    {
        // The process provider starts GuestOps:WorkerPath for every VM: here a guest agent of protocol version 0.
        var work = Directory.CreateTempSubdirectory("guestops-old-tools-");
        try
        {
            var oldTools = Path.Combine(work.FullName, "old-guest-tools");
            File.Copy(Path.Combine(AppContext.BaseDirectory, "python", "old_guest_tools.py"), oldTools);
            File.SetUnixFileMode(oldTools, (UnixFileMode)0b111_101_101);
            await using var server = await ServerProcess.StartAsync(new ServerOptions
            {
                VirtualMachineNames = ["old-tools-vm"],
                Environment = new Dictionary<string, string>
                {
                    ["GUESTOPS_PROVIDER"] = "process",
                    ["GuestOps__WorkerPath"] = oldTools,
                    ["GUESTOPS_DEMO_GUEST_PASSWORD"] = GuestServer.GuestPassword,
                },
            });

            // The host logs the out-of-date agent once it has connected.
            var clock = System.Diagnostics.Stopwatch.StartNew();
            while (!server.AllOutput.Contains("guest agent is out of date", StringComparison.Ordinal) && clock.Elapsed < TimeSpan.FromSeconds(30))
            {
                await Task.Delay(100);
            }

            StringAssert.Contains(server.AllOutput, "guest agent is out of date", "the host saw the old agent's Hello");
            using var pyvmomi = await RunPyVmomiAsync("pyvmomi_guest_faults.py",
            [
                "--port", server.Port.ToString(CultureInfo.InvariantCulture), "--password", server.RootPassword!,
                "--guest-password", GuestServer.GuestPassword, "--vm-name", "old-tools-vm", "--old-agent-vm-name", "old-tools-vm",
            ], TimeSpan.FromSeconds(90));
            var facts = pyvmomi.Result.GetProperty("facts");
            TestContext.WriteLine(facts.ToString());
            Assert.IsFalse(facts.GetProperty("old").GetProperty("guestOperationsReady").GetBoolean(), "an out-of-date agent is not ready for guest operations");
            Assert.AreEqual("GuestComponentsOutOfDate", Fault(facts, "oldValidate"), "ValidateCredentialsInGuest");
            Assert.AreEqual("GuestComponentsOutOfDate", Fault(facts, "oldList"), "ListFilesInGuest");
            await AssertStillServingAsync(server);
        }
        finally
        {
            work.Delete(recursive: true);
        }
    }

    private static string? Fault(JsonElement facts, string name) => facts.GetProperty(name).GetProperty("wsdlName").GetString();
}
