using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using GuestOps.IntegrationTests.Infrastructure;

namespace GuestOps.IntegrationTests;

/// <summary>
/// PropertyCollector updates through the real server and pyVmomi (python/pyvmomi_updates.py): CreateFilter on a
/// ContainerView of every VM; WaitForUpdatesEx from version "" enters every VM with name, runtime.powerState and
/// guest properties; a wait with nothing changing returns None after maxWaitSeconds; once the script is waiting, this
/// test kills the worker sandbox of one VM (again every few seconds: the host agent restarts it within a fraction of a
/// second, and a down time shorter than the server's look at the inventory is not a change) and the script's next
/// WaitForUpdatesEx returns that VM's modify with guest.guestOperationsReady false; a version never given out is
/// InvalidCollectorVersion; after DestroyPropertyFilter the filter is gone (destroying it again:
/// ManagedObjectNotFound) and a wait has nothing to report.
/// </summary>
[TestClass]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class PyVmomiUpdatesTests : IntegrationTest
{
    [TestMethod]
    [Timeout(240_000, CooperativeCancellation = true)]
    public async Task PyVmomi_WaitForUpdatesEx_EntersEveryVm_ThenAWorkersLossAsModify_TimeoutNone_DestroyedFilterGone()
    {
        // Names of this run only, short enough to be the worker's SSPI domain (15 characters) on its command line,
        // which is how its sandbox is found.
        var run = Guid.NewGuid().ToString("N")[..8];
        var target = $"u{run}b";
        await using var server = await GuestServer.StartAsync(vmNames: [$"u{run}a", target], readyVmIds: ["vm-1", "vm-2"]);
        var signalDirectory = Directory.CreateTempSubdirectory("guestops-updates-");
        var signal = Path.Combine(signalDirectory.FullName, "waiting");
        using var stop = new CancellationTokenSource();
        var kills = KillWhileWaitingAsync(target, signal, stop.Token);
        PyVmomiRun pyvmomi;
        try
        {
            pyvmomi = await RunPyVmomiAsync("pyvmomi_updates.py",
            [
                "--port", server.Server.Port.ToString(CultureInfo.InvariantCulture), "--password", server.Server.RootPassword!,
                "--vm-name", target, "--signal-file", signal,
            ], TimeSpan.FromSeconds(150));
        }
        finally
        {
            await stop.CancelAsync();
            signalDirectory.Delete(recursive: true);
        }

        var killed = await kills;
        using var finished = pyvmomi;
        var facts = pyvmomi.Result.GetProperty("facts");
        TestContext.WriteLine(facts.ToString());
        TestContext.WriteLine($"worker sandboxes of vm-2 killed {killed} time(s)");

        var filter = facts.GetProperty("filters").EnumerateArray().Single().GetString()!;
        var enter = facts.GetProperty("enter");
        CollectionAssert.AreEquivalent(new[] { "vm-1", "vm-2" }, enter.EnumerateObject().Select(p => p.Name).ToArray());
        foreach (var vm in enter.EnumerateObject())
        {
            Assert.AreEqual("enter", vm.Value.GetProperty("kind").GetString(), vm.ToString());
            var props = vm.Value.GetProperty("props");
            Assert.AreEqual("poweredOn", props.GetProperty("runtime.powerState").GetString(), vm.ToString());
            Assert.AreEqual("True", props.GetProperty("guest.guestOperationsReady").GetString(), vm.ToString());
            Assert.AreEqual("guestToolsRunning", props.GetProperty("guest.toolsRunningStatus").GetString(), vm.ToString());
        }

        Assert.AreEqual("vm-2", facts.GetProperty("target").GetString());
        Assert.AreEqual(JsonValueKind.Null, facts.GetProperty("idleWait").ValueKind, "nothing changed: WaitForUpdatesEx returns None after maxWaitSeconds");
        Assert.IsGreaterThanOrEqualTo(0.9, facts.GetProperty("idleWaitSeconds").GetDouble(), "the wait lasted maxWaitSeconds");
        Assert.AreEqual(JsonValueKind.Null, facts.GetProperty("checkForUpdates").ValueKind);

        var modifies = facts.GetProperty("modifies").EnumerateArray().ToList();
        var lost = modifies.FirstOrDefault(m => m.GetProperty("props").TryGetProperty("guest.guestOperationsReady", out var ready) && ready.GetString() == "False");
        Assert.AreNotEqual(JsonValueKind.Undefined, lost.ValueKind, $"no update with vm-2 not ready: {facts.GetProperty("modifies")}");
        Assert.AreEqual("vm-2", lost.GetProperty("obj").GetString());
        Assert.AreEqual("modify", lost.GetProperty("kind").GetString());
        Assert.AreEqual(filter, lost.GetProperty("filter").GetString());
        CollectionAssert.AreEqual(new[] { "assign" }, lost.GetProperty("ops").EnumerateArray().Select(o => o.GetString()).ToArray());
        Assert.IsFalse(lost.GetProperty("props").TryGetProperty("name", out _), "only changed properties travel");
        Assert.IsTrue(modifies.All(m => m.GetProperty("obj").GetString() == "vm-2"), "only the VM whose worker was killed changed");

        Assert.AreEqual("InvalidCollectorVersion", facts.GetProperty("unknownVersion").GetProperty("wsdlName").GetString());
        Assert.AreEqual("ManagedObjectNotFound", facts.GetProperty("destroyedAgain").GetProperty("wsdlName").GetString());
        Assert.AreEqual(0, facts.GetProperty("filtersAfterDestroy").GetArrayLength());
        Assert.AreEqual(JsonValueKind.Null, facts.GetProperty("waitWithoutFilters").ValueKind);
        await AssertStillServingAsync(server.Server);
    }

    /// <summary>Once <paramref name="signal"/> exists, kills the worker sandbox of VM <paramref name="vmName"/> every 3 s
    /// until stopped; how many times it did.</summary>
    private static async Task<int> KillWhileWaitingAsync(string vmName, string signal, CancellationToken stop)
    {
        var kills = 0;
        try
        {
            while (!File.Exists(signal))
            {
                await Task.Delay(50, stop);
            }

            while (!stop.IsCancellationRequested)
            {
                foreach (var pid in SandboxPids(vmName))
                {
                    try
                    {
                        using var process = Process.GetProcessById(pid);
                        process.Kill(entireProcessTree: true);
                        kills++;
                    }
                    catch (Exception e) when (e is ArgumentException or InvalidOperationException)
                    {
                    }
                }

                await Task.Delay(3000, stop);
            }
        }
        catch (OperationCanceledException)
        {
        }

        return kills;
    }

    /// <summary>The sandbox (bwrap) of the VM: the worker's command line in it names the VM as its SSPI domain.</summary>
    private static List<int> SandboxPids(string vmName)
    {
        var domain = "\0--sspi-domain\0" + vmName.ToUpperInvariant() + "\0";
        var result = new List<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) || pid == Environment.ProcessId)
            {
                continue;
            }

            try
            {
                var comm = File.ReadAllText($"/proc/{pid}/comm").Trim();
                if (comm == "bwrap" && File.ReadAllText($"/proc/{pid}/cmdline").Contains(domain, StringComparison.Ordinal))
                {
                    result.Add(pid);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
            }
        }

        return result;
    }
}
