using System.Diagnostics;
using GuestOps.Client;
using GuestOps.IntegrationTests.Infrastructure;
using GuestOps.Vim;

namespace GuestOps.IntegrationTests;

/// <summary>
/// The HA-restart story of an external VM, as separate processes on loopback: a redis-server of the test's own, host
/// agents esx-a and esx-b both configured with the external VM ext-db (each its own worker listener and state
/// directory) and a front end. The admin enrolls the VM once through the running cluster, listing both listeners; the
/// real worker (in a sandbox standing in for the VM) enrolls at esx-a and connects there. esx-a is killed: the worker
/// reconnects to esx-b, and the front end lists the VM on esx-b, ready, and runs guest calls there. When esx-a comes
/// back, the VM stays on esx-b. The admin then revokes the VM's certificate through the cluster, and esx-b drops it.
/// </summary>
[TestClass]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class ClusterExternalVmTests : IntegrationTest
{
    private const string VmName = "ext-db";

    [TestMethod]
    [Timeout(300_000, CooperativeCancellation = true)]
    public async Task AWorkerThatLosesItsHostAgent_ReconnectsToAnotherInItsBundle_AndEveryFrontEndFindsTheVmThere()
    {
        var workerBinary = Path.Combine(Path.GetDirectoryName(RepositoryLayout.ServerDll)!, "guestops-tools");
        Assert.IsTrue(File.Exists(workerBinary), $"The server build publishes the worker next to itself: {workerBinary} is missing.");
        var sandboxed = ExternalProviderTests.SandboxAvailable();
        await using var redis = await RedisServer.StartAsync();
        var work = Directory.CreateTempSubdirectory("guestops-it-ha-").FullName;
        File.SetUnixFileMode(work, (UnixFileMode)0b111_101_101);
        var (portA, portB) = (LoopbackPort.Free(), LoopbackPort.Free());
        var addresses = $"tcp:127.0.0.1:{portA},tcp:127.0.0.1:{portB}";
        var stateA = Path.Combine(work, "esx-a");
        var stateB = Path.Combine(work, "esx-b");
        Directory.CreateDirectory(stateA);
        Directory.CreateDirectory(stateB);
        ServerProcess? hostA = null;
        ServerProcess? hostB = null;
        ServerProcess? front = null;
        ExternalProviderTests.GuestWorker? worker = null;
        try
        {
            hostA = await ServerProcess.StartAsync(new ServerOptions { Environment = HostAgentEnvironment(redis, "esx-a", portA), StateDirectory = stateA });
            hostB = await ServerProcess.StartAsync(new ServerOptions { Environment = HostAgentEnvironment(redis, "esx-b", portB), StateDirectory = stateB });
            front = await ServerProcess.StartAsync(new ServerOptions { Environment = new Dictionary<string, string> { ["GUESTOPS_CLUSTER"] = redis.ClusterSetting, ["GUESTOPS_ROLE"] = "frontend" } });
            await using var client = await ConnectAsync(front);

            // The admin, with the cluster running: the bundle carries the cluster's CA and its token is the cluster's.
            var bundlePath = Path.Combine(work, "ext-db.json");
            var admin = await AdminAsync(redis, work, stateA, portA, "enroll", "--vm", VmName, "--out", bundlePath, "--addresses", addresses);
            StringAssert.Contains(admin.StandardOutput, $"--connect {addresses}");

            // The VM owner: enroll with the bundle (at its first listener, esx-a), then run the worker with both.
            var guest = await ExternalProviderTests.Guest.CreateAsync(Path.Combine(work, "guest"), "ext-db-guest", sandboxed);
            File.Copy(bundlePath, Path.Combine(guest.Exchange, "bundle.json"));
            var enrolled = await guest.RunToolsAsync(workerBinary, ["enroll", "--bundle", guest.InGuest("bundle.json"), "--out", guest.InGuest("pki")]);
            Assert.AreEqual(0, enrolled.ExitCode, enrolled.ToString());
            StringAssert.Contains(enrolled.StandardOutput, $"--connect {addresses}");
            worker = guest.StartWorker(workerBinary, addresses, "pki");

            var vm = await WaitForAsync(async () => await client.Connection.FindVirtualMachineAsync(VmName), TimeSpan.FromSeconds(60), "the VM listed at the front end", worker, hostA, hostB);
            await WaitForAsync(async () => await PlacementAsync(client, vm) is ("esx-a", true) ? "ready" : null, TimeSpan.FromSeconds(60), "the VM ready on esx-a", worker, hostA, hostB);
            await AssertGuestCallsAsync(client, vm.Value, sandboxed);

            // esx-a is killed: the worker moves to esx-b, and the front end finds the VM there.
            await hostA.StopAsync();
            var clock = Stopwatch.StartNew();
            await WaitForAsync(async () => await PlacementAsync(client, vm) is ("esx-b", true) ? "ready" : null, TimeSpan.FromSeconds(90), "the VM ready on esx-b after esx-a was killed", worker, hostA, hostB);
            Console.WriteLine($"Host agent esx-a killed (SIGKILL): the external VM was ready on esx-b through the front end after {clock.Elapsed.TotalSeconds:0.0} s");
            clock.Restart();
            await AssertGuestCallsAsync(client, vm.Value, sandboxed);
            Console.WriteLine($"... and its guest calls answered there {clock.Elapsed.TotalSeconds:0.0} s later");

            // esx-a back, without the worker: the VM stays where its worker is.
            hostA = await ServerProcess.StartAsync(new ServerOptions { Environment = HostAgentEnvironment(redis, "esx-a", portA), StateDirectory = stateA });
            await Task.Delay(TimeSpan.FromSeconds(5)); // the front end polls each host agent every second
            Assert.AreEqual(("esx-b", true), await PlacementAsync(client, vm), "no move back to esx-a");
            await AssertGuestCallsAsync(client, vm.Value, sandboxed);

            // The admin revokes the VM's certificate through the cluster: esx-b, where the worker is, drops and refuses it.
            await AdminAsync(redis, work, stateA, portA, "revoke", "--vm", VmName);
            clock.Restart();
            await WaitForAsync(async () => await PlacementAsync(client, vm) is (_, false) ? "not ready" : null, TimeSpan.FromSeconds(60), "the VM not ready after its certificate was revoked", worker, hostA, hostB);
            Console.WriteLine($"Certificate revoked by the admin command through the cluster: the VM was not ready after {clock.Elapsed.TotalSeconds:0.0} s");
        }
        finally
        {
            worker?.Stop();
            TestContext.WriteLine(worker?.Output);
            foreach (var member in new[] { front, hostB, hostA })
            {
                if (member is not null)
                {
                    await member.DisposeAsync();
                }
            }

            Directory.Delete(work, recursive: true);
        }
    }

    /// <summary>An admin command of the server with esx-a's settings and state directory, as its admin runs it.</summary>
    private static async Task<ProcessResult> AdminAsync(RedisServer redis, string work, string state, int workerPort, params string[] arguments)
    {
        var run = await ProcessRunner.RunAsync(
            ExternalProviderTests.DotnetHost(),
            [RepositoryLayout.ServerDll, .. arguments],
            TimeSpan.FromSeconds(90),
            work,
            new Dictionary<string, string>(HostAgentEnvironment(redis, "esx-a", workerPort)) { ["GUESTOPS_STATE_DIR"] = state });
        Assert.AreEqual(0, run.ExitCode, run.ToString());
        return run;
    }

    private static Dictionary<string, string> HostAgentEnvironment(RedisServer redis, string hostName, int workerPort) => new()
    {
        ["GUESTOPS_CLUSTER"] = redis.ClusterSetting,
        ["GUESTOPS_ROLE"] = "hostagent",
        ["GUESTOPS_HOST_NAME"] = hostName,
        ["GuestOps__VirtualMachines__0__Name"] = VmName,
        ["GuestOps__VirtualMachines__0__Provider"] = "external",
        ["GUESTOPS_WORKER_LISTEN_URL"] = $"tcp://127.0.0.1:{workerPort}",
    };

    /// <summary>The host agent the front end names in the VM's runtime.host, and whether guest operations are ready.</summary>
    private static async Task<(string? Host, bool Ready)> PlacementAsync(TypedGuestClient client, ManagedObjectReference vm)
    {
        var properties = await client.Connection.PropertiesAsync(vm, ["runtime.host", "guest.guestOperationsReady"]);
        var host = properties.GetValueOrDefault("runtime.host") as ManagedObjectReference;
        var name = host is null ? null : (await client.Connection.PropertiesAsync(host, ["name"])).GetValueOrDefault("name") as string;
        return (name, properties.GetValueOrDefault("guest.guestOperationsReady") is true);
    }

    private static async Task AssertGuestCallsAsync(TypedGuestClient client, string vmId, bool sandboxed)
    {
        if (!sandboxed)
        {
            // Without a sandbox the worker runs as a plain process: only a refused password shows the call reached it.
            (await new GuestOpsClient(client, vmId, ExternalProviderTests.GuestUser, ExternalProviderTests.GuestPassword + "-wrong").ValidateCredentials()).AssertFault("InvalidGuestLogin", "GuestOperationsFaultFault");
            return;
        }

        var guest = new GuestOpsClient(client, vmId, ExternalProviderTests.GuestUser, ExternalProviderTests.GuestPassword);
        (await guest.ValidateCredentials()).AssertOk();
        (await guest.ListFiles("/tmp")).AssertOk();
        (await guest.StartProgram("/bin/true", "")).AssertOk();
    }

    private static async Task<T> WaitForAsync<T>(Func<Task<T?>> probe, TimeSpan timeout, string what, ExternalProviderTests.GuestWorker? worker, params ServerProcess?[] members)
        where T : class
    {
        var clock = Stopwatch.StartNew();
        Exception? last = null;
        while (clock.Elapsed < timeout)
        {
            try
            {
                if (await probe() is { } found)
                {
                    return found;
                }
            }
            catch (Exception e) when (e is not AssertFailedException)
            {
                last = e;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(250));
        }

        throw new AssertFailedException($"Not within {timeout.TotalSeconds:0} s: {what}. Last error: {last}{Environment.NewLine}--- worker ---{Environment.NewLine}{worker?.Output}"
            + string.Concat(members.Where(m => m is not null).Select(m => $"{Environment.NewLine}--- member ---{Environment.NewLine}{m!.AllOutput}")));
    }
}
