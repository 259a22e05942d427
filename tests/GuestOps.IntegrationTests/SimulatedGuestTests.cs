using System.Globalization;
using System.Text.RegularExpressions;
using GuestOps.IntegrationTests.Infrastructure;

namespace GuestOps.IntegrationTests;

/// <summary>
/// What a user of the simulated (sandboxed) VMs relies on across restarts and between VMs (issue 15): the guest
/// accounts' generated password is kept in the state directory, a change of the host id mapping is repaired at start
/// so guest users keep their homes, every VM reports an address of its own, and nothing in a guest shows host paths.
/// </summary>
[TestClass]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed partial class SimulatedGuestTests : IntegrationTest
{
    [TestMethod]
    [Timeout(240_000, CooperativeCancellation = true)]
    public async Task GeneratedGuestPassword_IsPrintedOnce_KeptIn0600File_SameAfterRestart_TheVariableOverrides()
    {
        var state = NewStateDirectory("guestops-it-guestpw-");
        try
        {
            var options = new ServerOptions { StateDirectory = state, VirtualMachineNames = ["pw-vm-1"] };
            string password;
            await using (var first = await ServerProcess.StartAsync(options))
            {
                var printed = GuestPasswordLine().Matches(first.StandardOutput);
                Assert.AreEqual(1, printed.Count, $"the generated guest password is printed on the first start{Environment.NewLine}{first.AllOutput}");
                password = printed[0].Groups[1].Value;
                var file = Path.Combine(state, "guest-password");
                Assert.AreEqual(password, File.ReadAllText(file).Trim());
                Assert.AreEqual(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file), "the kept password is 0600");
                await AssertGuestLoginAsync(first, "demo", password, ok: true);
            }

            await using (var second = await ServerProcess.StartAsync(options))
            {
                Assert.AreEqual(0, GuestPasswordLine().Matches(second.StandardOutput).Count, $"a restart does not print it again{Environment.NewLine}{second.AllOutput}");
                Assert.IsFalse(second.StandardOutput.Contains(password, StringComparison.Ordinal), "nor repeat it");
                await AssertGuestLoginAsync(second, "demo", password, ok: true);
                await AssertGuestLoginAsync(second, "root", password, ok: true);
            }

            var overridden = new ServerOptions { StateDirectory = state, VirtualMachineNames = ["pw-vm-1"], Environment = new Dictionary<string, string> { ["GUESTOPS_DEMO_GUEST_PASSWORD"] = "Override-Pa55!" } };
            await using (var third = await ServerProcess.StartAsync(overridden))
            {
                await AssertGuestLoginAsync(third, "demo", "Override-Pa55!", ok: true);
                await AssertGuestLoginAsync(third, "demo", password, ok: false);
            }
        }
        finally
        {
            Directory.Delete(state, recursive: true);
        }
    }

    [TestMethod]
    [Timeout(300_000, CooperativeCancellation = true)]
    public async Task IdMappingChange_IsRepairedAtStart_GuestUsersKeepTheirHomesAndFiles()
    {
        Assert.IsTrue(File.Exists("/usr/bin/newuidmap") && File.ReadAllText("/etc/subuid").Contains("root:", StringComparison.Ordinal),
            "needs uidmap and root ranges in /etc/subuid and /etc/subgid (.ci/run sets them up)");
        var state = NewStateDirectory("guestops-it-idmap-");
        try
        {
            var files = new List<string>();
            var rootFiles = new List<string>();
            // Without a user namespace, then the default range, then another range inside root's subordinate ids.
            foreach (var range in new[] { "none", "auto", "2000000:65536" })
            {
                var options = new ServerOptions
                {
                    StateDirectory = state,
                    VirtualMachineNames = ["idmap-vm-1"],
                    Arguments = [$"--GuestOps:GuestIdRange={range}"],
                    Environment = new Dictionary<string, string> { ["GUESTOPS_DEMO_GUEST_PASSWORD"] = GuestServer.GuestPassword },
                };
                await using var server = await ServerProcess.StartAsync(options);
                await using var client = await ConnectAsync(server);
                await client.WaitForReadinessAsync("vm-1", ready: true, TimeSpan.FromSeconds(60));
                var demo = new GuestOpsClient(client, "vm-1", "demo", GuestServer.GuestPassword);

                var listing = await demo.ListFiles("/home/demo");
                Assert.IsTrue(listing.IsOk, $"GuestIdRange={range}: demo lists its home: {listing}");
                var names = GuestListing.From(listing.Value).Names;
                foreach (var earlier in files)
                {
                    CollectionAssert.Contains(names.ToList(), Path.GetFileName(earlier), $"GuestIdRange={range}: files of earlier starts are still demo's");
                    Assert.AreEqual(1000L, (await demo.StatOk(earlier)).OwnerId, $"GuestIdRange={range}: {earlier} is owned by demo as the guest sees it");
                }

                files.Add(await demo.CreateTemporaryFileOk("kept-", ".txt", "/home/demo"));
                var root = new GuestOpsClient(client, "vm-1", "root", GuestServer.GuestPassword);
                foreach (var earlier in rootFiles)
                {
                    Assert.AreEqual(0L, (await root.StatOk(earlier)).OwnerId, $"GuestIdRange={range}: {earlier} is still guest root's");
                }

                rootFiles.Add(await root.CreateTemporaryFileOk("root-", ".txt", "/root"));
            }
        }
        finally
        {
            Directory.Delete(state, recursive: true);
        }
    }

    [TestMethod]
    [Timeout(180_000, CooperativeCancellation = true)]
    public async Task DemoVms_ReportDistinctAddresses_AndNoGuestProcessShowsAHostPath()
    {
        await using var guest = await GuestServer.StartAsync(["addr-vm-1", "addr-vm-2"]);
        await using var client = await ConnectAsync(guest.Server);
        var first = (await client.Connection.PropertiesAsync(TypedGuestClient.VmRef("vm-1"), ["guest.ipAddress"]))["guest.ipAddress"];
        var second = (await client.Connection.PropertiesAsync(TypedGuestClient.VmRef("vm-2"), ["guest.ipAddress"]))["guest.ipAddress"];
        Assert.AreEqual("192.0.2.11", first);
        Assert.AreEqual("192.0.2.12", second);

        // The guest's view: every process ListProcessesInGuest shows, and every process in the VM's PID namespace.
        var root = new GuestOpsClient(client, "vm-1", "root", GuestServer.GuestPassword);
        var processes = await root.ListProcessesOk();
        Assert.IsTrue(processes.Count >= 2, $"the guest's init and its tools worker at least: {string.Join("; ", processes)}");
        var state = Path.GetFullPath(guest.StateDirectory);
        foreach (var process in processes)
        {
            Assert.IsFalse(process.CmdLine.Contains(state, StringComparison.Ordinal) || process.CmdLine.Contains("/vms/", StringComparison.Ordinal), $"a host path in the guest's process list: {process}");
        }

        var worker = await guest.WorkerAsync("vm-1");
        var inGuest = GuestWorkers.ProcessesIn(GuestWorkers.PidNamespace(worker));
        Assert.IsTrue(inGuest.Count >= 2, "the sandbox's PID 1 and the worker");
        foreach (var process in inGuest)
        {
            var commandLine = string.Join(' ', GuestWorkers.CommandLine(process.HostPid) ?? []);
            Assert.IsFalse(commandLine.Contains(state, StringComparison.Ordinal), $"guest pid {process.NamespacePid} shows a host path: {commandLine}");
        }

        // What any guest program sees in /proc: command lines and open files of every process.
        var ps = await root.StartProgramOk("/bin/sh", "-c \"cat /proc/[0-9]*/cmdline > /tmp/proc-view; ls -l /proc/[0-9]*/fd/ >> /tmp/proc-view 2>&1\"");
        Assert.AreEqual(0, (await root.WaitForExitAsync(ps)).ExitCode);
        var seen = File.ReadAllText(Path.Combine(state, "vms", "vm-1", "guest", "tmp", "proc-view"));
        Assert.IsFalse(seen.Contains(state, StringComparison.Ordinal), $"the guest's /proc shows a host path:{Environment.NewLine}{seen}");
    }

    private async Task AssertGuestLoginAsync(ServerProcess server, string user, string password, bool ok)
    {
        await using var client = await ConnectAsync(server);
        await client.WaitForReadinessAsync("vm-1", ready: true, TimeSpan.FromSeconds(60));
        var response = await new GuestOpsClient(client, "vm-1", user, password).ValidateCredentials();
        if (ok)
        {
            response.AssertOk();
        }
        else
        {
            response.AssertFault("InvalidGuestLogin");
        }
    }

    /// <summary>A state directory the sandboxes (unprivileged host ids) can traverse.</summary>
    private static string NewStateDirectory(string prefix)
    {
        var state = Directory.CreateTempSubdirectory(prefix).FullName;
        File.SetUnixFileMode(state, (UnixFileMode)0b111_101_101);
        return state;
    }

    [GeneratedRegex(@"Guest accounts root and demo of every VM have the password: (\S+)")]
    private static partial Regex GuestPasswordLine();
}
