using System.Diagnostics;
using System.Globalization;
using GuestOps.IntegrationTests.Infrastructure;

namespace GuestOps.IntegrationTests;

/// <summary>
/// The <c>qemu-ga</c> provider against real qemu-guest-agents (Debian's qemu-ga 7.2): with
/// <c>GUESTOPS_PROVIDER=qemu-ga</c> every demo VM is a bubblewrap sandbox whose only agent is qemu-ga on a socket, no
/// worker in its image; the host agent pushes guestops-tools through guest-file-write, starts them resident and reaches
/// them through named pipes with guest-file-read/-write (transfers, and calls while no resident runs: one-shot
/// guest-exec). Real clients (pyVmomi) must not see a difference: the same scenarios and assertions as with the sandbox
/// provider. A qemu-ga that blocks guest-exec makes calls fail with OperationDisabledByGuest naming it.
/// </summary>
[TestClass]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class QemuGuestAgentProviderTests : IntegrationTest
{
    private static readonly Dictionary<string, string> QemuGuestAgentDemo = new() { ["GUESTOPS_PROVIDER"] = "qemu-ga" };

    [TestMethod]
    [Timeout(180_000)]
    public async Task PyVmomiAcceptance_PassesAgainstQemuGaDemoVms_ToolsPushedAndCurrent()
    {
        string[] names = ["demo-vm-1", "demo-vm-2", "demo-vm-3"];
        await using var server = await GuestServer.StartAsync(vmNames: names, environment: QemuGuestAgentDemo, readyTimeout: TimeSpan.FromSeconds(90));
        using var pyvmomi = await RunPyVmomiAsync("pyvmomi_acceptance.py", PyVmomiAcceptanceTests.Arguments(server.Server, names), TimeSpan.FromSeconds(90));
        PyVmomiAcceptanceTests.AssertAcceptance(pyvmomi, names);

        await using var client = await ConnectAsync(server.Server);
        for (var i = 0; i < names.Length; i++)
        {
            var properties = await client.Connection.PropertiesAsync(TypedGuestClient.VmRef(GuestServer.VmId(i)), ["guest.toolsVersionStatus", "guest.toolsRunningStatus", "guest.guestOperationsReady", "guest.hostName"]);
            Assert.AreEqual("guestToolsCurrent", properties["guest.toolsVersionStatus"], $"{names[i]}: the pushed tools");
            Assert.AreEqual("guestToolsRunning", properties["guest.toolsRunningStatus"]);
            Assert.IsTrue(properties["guest.guestOperationsReady"] is true, "guest.guestOperationsReady");
            Assert.AreEqual(names[i], properties["guest.hostName"], "guest-get-host-name of the sandbox");
            var image = Path.Combine(server.StateDirectory, "vms", GuestServer.VmId(i), "guest");
            Assert.IsFalse(File.Exists(Path.Combine(image, "opt", "guestops", "guestops-tools")), "no worker in the image");
            Assert.IsTrue(File.Exists(Path.Combine(image, "var", "lib", "guestops-tools", "guestops-tools")), "the tools were pushed into the guest");
        }

        await AssertStillServingAsync(server.Server);
    }

    [TestMethod]
    [Timeout(180_000)]
    public async Task PyVmomi_EveryFileAndProcessOperation_ThroughQemuGa()
    {
        await using var server = await GuestServer.StartAsync(vmNames: ["demo-vm-1"], environment: QemuGuestAgentDemo, readyTimeout: TimeSpan.FromSeconds(90));
        List<string> arguments =
        [
            "--host", "127.0.0.1", "--port", server.Server.Port.ToString(CultureInfo.InvariantCulture),
            "--user", "root", "--password", server.Server.RootPassword!,
            "--guest-user", "demo", "--guest-password", GuestServer.GuestPassword,
            "--root-password", GuestServer.GuestPassword, "--vm-name", "demo-vm-1",
        ];

        using var pyvmomi = await RunPyVmomiAsync("pyvmomi_file_process.py", arguments, TimeSpan.FromSeconds(120));
        TestContext.WriteLine(pyvmomi.Result.GetProperty("facts").ToString());
        PyVmomiFileProcessTests.AssertEveryOperation(pyvmomi.Result);
        await AssertStillServingAsync(server.Server);
    }

    [TestMethod]
    [Timeout(180_000)]
    public async Task PyVmomi_UploadAndDownload_ThroughQemuGa_BytesIdentical()
    {
        await using var server = await GuestServer.StartAsync(vmNames: ["demo-vm-1"], environment: QemuGuestAgentDemo, readyTimeout: TimeSpan.FromSeconds(90));
        List<string> arguments =
        [
            "--host", "127.0.0.1", "--port", server.Server.Port.ToString(CultureInfo.InvariantCulture),
            "--user", "root", "--password", server.Server.RootPassword!,
            "--guest-user", "demo", "--guest-password", GuestServer.GuestPassword, "--vm-name", "demo-vm-1",
        ];

        using var pyvmomi = await RunPyVmomiAsync("pyvmomi_transfer.py", arguments, TimeSpan.FromSeconds(120));
        TestContext.WriteLine(pyvmomi.Result.GetProperty("facts").ToString());
        PyVmomiTransferTests.AssertTransfers(pyvmomi.Result, server.Server.Port);

        // Nothing is left in the tools' staging directory, and it stays root-only.
        var staging = Path.Combine(server.StateDirectory, "vms", "vm-1", "guest", "var", "lib", "guestops-tools", "staging");
        Assert.AreEqual(0, Directory.GetFileSystemEntries(staging).Length, string.Join(", ", Directory.GetFileSystemEntries(staging)));
        Assert.AreEqual((UnixFileMode)0b111_000_000, File.GetUnixFileMode(Path.Combine(staging, "..")) & (UnixFileMode)0b111_111_111);
        await AssertStillServingAsync(server.Server);
    }

    [TestMethod]
    [Timeout(180_000)]
    public async Task ResidentTools_ServeCalls_AndAnotherStartsWhenTheyAreKilled()
    {
        await using var server = await GuestServer.StartAsync(vmNames: ["demo-vm-1"], environment: QemuGuestAgentDemo, readyTimeout: TimeSpan.FromSeconds(90));
        await using var client = await ConnectAsync(server.Server);
        var guest = new GuestOpsClient(client, "vm-1", "demo", GuestServer.GuestPassword);
        var tools = Path.Combine(server.StateDirectory, "vms", "vm-1", "guest", "var", "lib", "guestops-tools");

        // The resident's pipes, in a root-only directory, only root may open them.
        var token = await WaitForResidentAsync(server, tools, except: null);
        Assert.AreEqual((UnixFileMode)0b111_000_000, File.GetUnixFileMode(Path.Combine(tools, "resident")) & (UnixFileMode)0b111_111_111);
        foreach (var end in new[] { ".in", ".out" })
        {
            Assert.AreEqual((UnixFileMode)0b110_000_000, File.GetUnixFileMode(Path.Combine(tools, "resident", token + end)) & (UnixFileMode)0b111_111_111, end);
        }

        var pid = await guest.StartProgramOk("/bin/sh", "-c 'exit 7'");
        Assert.AreEqual(7, (await guest.WaitForExitAsync(pid)).ExitCode, "the resident tools started the program and recorded its exit code");

        // A program the resident starts inherits none of its descriptors (the pipes carry every user's passwords).
        pid = await guest.StartProgramOk("/bin/sh", "-c 'ls -l /proc/$$/fd > /tmp/resident-fds.txt'");
        Assert.AreEqual(0, (await guest.WaitForExitAsync(pid)).ExitCode);
        var descriptors = await File.ReadAllTextAsync(Path.Combine(server.StateDirectory, "vms", "vm-1", "guest", "tmp", "resident-fds.txt"));
        Assert.IsFalse(descriptors.Contains("guestops-tools", StringComparison.Ordinal), descriptors);

        // Killed: the host sees its guest-exec end, starts another, and calls keep working (one-shot meanwhile).
        var resident = ResidentProcess(token);
        Assert.IsNotNull(resident, $"no guestops-tools --resident process with token {token}");
        resident.Kill();
        var next = await WaitForResidentAsync(server, tools, except: token);
        Assert.AreNotEqual(token, next);
        StringAssert.Contains(server.Server.AllOutput, "stopped; starting another");
        pid = await guest.StartProgramOk("/bin/sh", "-c 'exit 3'");
        Assert.AreEqual(3, (await guest.WaitForExitAsync(pid)).ExitCode);
        Assert.IsNotNull(ResidentProcess(next), "the new resident runs");
        await AssertStillServingAsync(server.Server);
    }

    /// <summary>The token in the tools' <c>resident/current</c> once it names a running resident other than <paramref name="except"/>.</summary>
    private static async Task<string> WaitForResidentAsync(GuestServer server, string tools, string? except)
    {
        var current = Path.Combine(tools, "resident", "current");
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var token = File.Exists(current) ? await File.ReadAllTextAsync(current) : null;
            if (token is not null && token != except && ResidentProcess(token) is not null && File.Exists(Path.Combine(tools, "resident", token + ".in")))
            {
                return token;
            }

            Assert.IsTrue(clock.Elapsed < TimeSpan.FromSeconds(30), $"no resident tools (current: {token ?? "none"}){Environment.NewLine}{server.Server.AllOutput}");
            await Task.Delay(100);
        }
    }

    /// <summary>The guest's <c>guestops-tools --resident --token TOKEN</c> process, seen from the host.</summary>
    private static Process? ResidentProcess(string token)
    {
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), out var id))
            {
                continue;
            }

            try
            {
                var arguments = File.ReadAllText(Path.Combine(directory, "cmdline")).Split('\0');
                if (arguments.Contains("--resident") && arguments.Contains(token))
                {
                    return Process.GetProcessById(id);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
            {
                // gone meanwhile
            }
        }

        return null;
    }

    [TestMethod]
    [Timeout(90_000)]
    public async Task QemuGaVmEntry_GuestExecBlocked_IsOperationDisabledByGuestNamingTheCommand()
    {
        var directory = Directory.CreateTempSubdirectory("guestops-it-qga-");
        var socket = Path.Combine(directory.FullName, "qga.sock");
        using var agent = Process.Start(new ProcessStartInfo("/usr/sbin/qemu-ga")
        {
            ArgumentList = { "-m", "unix-listen", "-p", socket, "-t", directory.FullName, "-f", Path.Combine(directory.FullName, "qemu-ga.pid"), "--block-rpcs", "guest-exec" },
            UseShellExecute = false,
        })!;
        try
        {
            await using var server = await ServerProcess.StartAsync(new ServerOptions
            {
                VirtualMachineNames = ["kvm-guest"],
                Environment = new Dictionary<string, string> { ["GUESTOPS_PROVIDER"] = "none" },
                Arguments = ["--GuestOps:VirtualMachines:0:Provider=qemu-ga", $"--GuestOps:VirtualMachines:0:AgentSocket={socket}"],
            });
            await using var client = await ConnectAsync(server);
            var clock = Stopwatch.StartNew();
            IReadOnlyDictionary<string, object?> properties;
            while ((properties = await client.Connection.PropertiesAsync(client.Vm, ["guest.toolsRunningStatus", "guest.toolsVersionStatus", "guest.guestOperationsReady"]))
                   .GetValueOrDefault("guest.toolsRunningStatus") as string != "guestToolsRunning")
            {
                Assert.IsTrue(clock.Elapsed < TimeSpan.FromSeconds(30), $"qemu-ga was never reached: {string.Join(", ", properties)}{Environment.NewLine}{server.AllOutput}");
                await Task.Delay(100);
            }

            Assert.AreEqual("guestToolsNotInstalled", properties["guest.toolsVersionStatus"], "the tools cannot be pushed without guest-exec");
            Assert.IsTrue(properties["guest.guestOperationsReady"] is false, "guest.guestOperationsReady");
            var refused = await new GuestOpsClient(client, "vm-1", "demo", "whatever").ValidateCredentials();
            refused.AssertFault("OperationDisabledByGuest", "GuestOperationsFaultFault");
            StringAssert.Contains(refused.FaultMessage, "guest-exec", "the fault names the blocked command");
            await AssertStillServingAsync(server);
        }
        finally
        {
            agent.Kill();
            await agent.WaitForExitAsync();
            directory.Delete(recursive: true);
        }
    }
}
