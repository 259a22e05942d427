using System.Diagnostics;
using System.Text.RegularExpressions;
using GuestOps.Client;
using GuestOps.IntegrationTests.Infrastructure;
using GuestOps.Vim;

namespace GuestOps.IntegrationTests;

/// <summary>
/// Fault acceptance of issue 3 with the real server and its sandboxed VMs: a worker killed with SIGKILL makes its VM
/// unavailable at once (guestOperationsReady false, GuestOperationsUnavailable) while the other VM keeps answering, and
/// the host agent restarts it; a hung worker (SIGSTOP) makes calls fail with a fault instead of hanging the client, with
/// the default and with a one-second GuestCallTimeout; guest.commands.enabled = FALSE on one VM; unknown VMs; no session.
/// One server for the class: demo-vm-1 (vm-1), demo-vm-2 (vm-2) and demo-vm-3 (vm-3, GuestCommandsEnabled=false).
/// Only processes of this class's own servers are signalled (matched by state directory); stopped ones are continued in
/// TestCleanup whatever happens.
/// </summary>
[TestClass]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed partial class GuestFaultTests : IntegrationTest
{
    private const string Vm1 = "vm-1";
    private const string Vm2 = "vm-2";
    private const string DisabledVm = "vm-3";
    private const string Password = GuestServer.GuestPassword;

    private static readonly StoppedProcesses Stopped = new();

    private static GuestServer? _server;

    [ClassInitialize]
    public static async Task StartServerAsync(TestContext context)
    {
        _server = await GuestServer.StartAsync(
            vmNames: ["demo-vm-1", "demo-vm-2", "demo-vm-3"],
            arguments: ["--GuestOps:VirtualMachines:2:GuestCommandsEnabled=false"],
            readyVmIds: [Vm1, Vm2]);
    }

    [ClassCleanup]
    public static async Task StopServerAsync()
    {
        Stopped.ContinueAll();
        if (_server is not null)
        {
            await _server.DisposeAsync();
            _server = null;
        }
    }

    [TestCleanup]
    public void ContinueStoppedProcesses() => Stopped.ContinueAll();

    private static GuestServer Server => _server ?? throw new AssertFailedException("The guest server did not start.");

    [TestMethod]
    [Timeout(60_000)]
    public async Task KilledWorker_MidUpload_LeavesNoPartialFile_KeepsTheOldContents_AndTheVmIsReadyAgain()
    {
        await using var client = await ReadyClientAsync(Server);
        using var http = new GuestFileTransferClient(Server.Server);
        var demo = Demo(client, Vm1);
        var dir = await demo.CreateTemporaryDirectoryOk("killed-upload-", "");
        var path = $"{dir}/file.bin";
        var before = new GeneratedContent(1000, 11);
        Assert.AreEqual(System.Net.HttpStatusCode.OK, (await http.PutAsync(await demo.InitiateFileTransferToGuestOk(path, 1000, overwrite: false), before)).Status);

        // An overwrite of 64 MiB: 8 MiB are sent, then the worker is killed while the upload waits for the rest.
        const int size = 64 << 20;
        var url = http.Resolve(await demo.InitiateFileTransferToGuestOk(path, size, overwrite: true));
        var worker = await Server.WorkerAsync(Vm1);
        await using (var raw = await RawHttpConnection.OpenAsync(Server.Server.BaseUri, CancellationToken.None))
        {
            await raw.SendAsync($"PUT {url.PathAndQuery} HTTP/1.1", [("Host", url.Authority), ("Content-Length", size.ToString(System.Globalization.CultureInfo.InvariantCulture))], new byte[8 << 20], chunkSize: null, CancellationToken.None);
            await Task.Delay(300);
            Assert.IsTrue(GuestWorkers.Signal(worker, GuestWorkers.SIGKILL), "kill -9 of the worker");
            using var answer = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            var response = await raw.ReadResponseAsync(answer.Token);
            Assert.AreEqual(503, response.StatusCode, $"the upload fails with the agent: {response.StatusCode} {response.BodyText}");
        }

        // The other VM never noticed; vm-1 comes back with the old file and nothing else.
        (await Demo(client, Vm2).ValidateCredentials()).AssertOk();
        await Server.WorkerAsync(Vm1, TimeSpan.FromSeconds(10), except: worker);
        await client.WaitForReadinessAsync(Vm1, ready: true, TimeSpan.FromSeconds(10));
        CollectionAssert.AreEquivalent(new[] { ".", "..", "file.bin" }, (await demo.ListOk(dir)).Names.ToList(), "no partial or staging file");
        var download = await demo.InitiateFileTransferFromGuestOk(path);
        Assert.AreEqual(1000, download.size);
        Assert.AreEqual(before.Sha256, (await http.GetAsync(download.url)).Sha256, "the previous contents are intact");
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task KilledWorker_VmIsUnavailableAtOnce_OtherVmAnswers_WorkerIsRestarted()
    {
        await using var client = await ReadyClientAsync(Server);
        var worker = await Server.WorkerAsync(Vm1);
        var init = GuestWorkers.ParentPid(worker) ?? throw new AssertFailedException($"The worker {worker} has no parent.");
        Assert.AreEqual(1, GuestWorkers.NamespacePid(init), "the worker's parent is the sandbox's init (pid 1 in the VM)");

        // The host agent restarts a dead guest after 100-200 ms, which would make the outage window too short to observe
        // reliably on a loaded machine. So the sandbox's init is held (SIGSTOP) while the worker is killed: the worker
        // dies at once (its channel closes, which is what the dispatcher reacts to), but init cannot reap it and end the
        // sandbox until it is continued. The restart is then measured from that moment.
        Stopped.Stop(init);
        Assert.IsTrue(GuestWorkers.Signal(worker, GuestWorkers.SIGKILL), "kill -9 of the worker");
        var killed = Stopwatch.StartNew();

        var becameUnready = await client.WaitForReadinessAsync(Vm1, ready: false, TimeSpan.FromSeconds(2), TimeSpan.FromMilliseconds(20));
        TestContext.WriteLine($"guest.guestOperationsReady false {becameUnready.TotalMilliseconds:0} ms after kill -9");

        foreach (var call in new Func<Task<GuestCallResult>>[]
        {
            async () => await Demo(client, Vm1).ValidateCredentials(),
            async () => await Demo(client, Vm1).ListFiles("/tmp"),
        })
        {
            var response = await call();
            response.AssertFault("GuestOperationsUnavailable", "GuestOperationsFaultFault");
        }

        // The other VM is not affected.
        Assert.IsTrue(await client.IsReadyAsync(Vm2));
        (await Demo(client, Vm2).ValidateCredentials()).AssertOk();
        await Demo(client, Vm2).ListOk("/tmp");

        // Release init: the sandbox ends, the host agent starts a new one, its worker connects.
        Stopped.Continue(init);
        var released = Stopwatch.StartNew();
        var newWorker = await Server.WorkerAsync(Vm1, TimeSpan.FromSeconds(5), except: worker);
        var ready = await client.WaitForReadinessAsync(Vm1, ready: true, TimeSpan.FromSeconds(5) - released.Elapsed);
        TestContext.WriteLine($"new worker {newWorker}; ready again {released.Elapsed.TotalMilliseconds:0} ms after the sandbox could end");
        (await Demo(client, Vm1).ValidateCredentials()).AssertOk();
        await Demo(client, Vm1).ListOk("/tmp");
        StringAssert.Contains(Server.Server.AllOutput, "VM demo-vm-1: guest exited", "the host agent logs the guest's exit");
        await AssertStillServingAsync(Server.Server);
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task KilledWorker_IsRestartedWithBackoff_AndReadyWithin5Seconds()
    {
        await using var client = await ReadyClientAsync(Server);
        await using var other = await ConnectAsync(Server.Server, timeout: TimeSpan.FromSeconds(10));
        var worker = await Server.WorkerAsync(Vm1);
        var connectedBefore = ConnectedCount(Server, Vm1);

        // The other VM answers all along (checked concurrently with the kill and the restart).
        using var stopOther = new CancellationTokenSource();
        var otherCalls = Task.Run(async () =>
        {
            var count = 0;
            while (!stopOther.IsCancellationRequested)
            {
                (await Demo(other, Vm2).ValidateCredentials()).AssertOk();
                count++;
                await Task.Delay(50);
            }

            return count;
        });

        Assert.IsTrue(GuestWorkers.Signal(worker, GuestWorkers.SIGKILL), "kill -9 of the worker");
        var killed = Stopwatch.StartNew();

        // Watch vm-1 until a new worker has connected: the outage may be as short as the restart delay (100-200 ms).
        var observed = new List<long>();
        while (killed.Elapsed < TimeSpan.FromSeconds(5) && ConnectedCount(Server, Vm1) == connectedBefore)
        {
            var response = await Demo(client, Vm1).ValidateCredentials();
            if (!response.IsOk)
            {
                response.AssertFault("GuestOperationsUnavailable", "GuestOperationsFaultFault");
                observed.Add(killed.ElapsedMilliseconds);
            }

            await Task.Delay(10);
        }

        var newWorker = await Server.WorkerAsync(Vm1, TimeSpan.FromSeconds(5) - killed.Elapsed, except: worker);
        await client.WaitForReadinessAsync(Vm1, ready: true, TimeSpan.FromSeconds(5) - killed.Elapsed);
        var readyAfter = killed.Elapsed;
        await WaitForConnectionLogAsync(Server, Vm1, connectedBefore);
        (await Demo(client, Vm1).ValidateCredentials()).AssertOk();
        await Demo(client, Vm1).ListOk("/tmp");
        TestContext.WriteLine($"worker {worker} killed; new worker {newWorker}; vm-1 ready again after {readyAfter.TotalMilliseconds:0} ms; GuestOperationsUnavailable meanwhile: {(observed.Count == 0 ? "never (the restart was quicker than a call)" : $"{observed.Count} times, {observed[0]} to {observed[^1]} ms after the kill")}");

        await stopOther.CancelAsync();
        var otherCount = await otherCalls.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.IsTrue(otherCount > 0, "the other VM was called meanwhile");
        await AssertStillServingAsync(Server.Server);
    }

    [TestMethod]
    [Timeout(40_000)]
    public async Task HungWorker_CallsFailWithGuestOperationsUnavailable_InsteadOfHanging()
    {
        await using var client = await ReadyClientAsync(Server);
        var worker = await Server.WorkerAsync(Vm1);
        var connectedBefore = ConnectedCount(Server, Vm1);
        var heartbeatsLostBefore = Occurrences(Server.Server.AllOutput, "Heartbeat lost");
        Stopped.Stop(worker);

        // The default GuestCallTimeout is 30 s; the dispatcher's heartbeat (5 s of silence) ends the call much sooner.
        var hung = await Demo(client, Vm1).ListFiles("/tmp");
        hung.AssertFault("GuestOperationsUnavailable", "GuestOperationsFaultFault");
        TestContext.WriteLine($"call to the stopped worker failed after {hung.Elapsed.TotalMilliseconds:0} ms: {hung.FaultMessage}");

        // What ended it: the heartbeat (the worker was dropped as gone), not the call's 30 s deadline. The server's log
        // reaches this test through its console pipe, which may trail the SOAP answer: wait for the line.
        var logged = System.Diagnostics.Stopwatch.StartNew();
        while (Occurrences(Server.Server.AllOutput, "Heartbeat lost") <= heartbeatsLostBefore && logged.Elapsed < TimeSpan.FromSeconds(10))
        {
            await Task.Delay(50);
        }

        var output = Server.Server.AllOutput;
        Assert.IsGreaterThan(heartbeatsLostBefore, Occurrences(output, "Heartbeat lost"), "the dispatcher's heartbeat noticed the silent worker");
        Assert.IsFalse(output.Contains(": ListFilesInGuest timed out", StringComparison.Ordinal), $"the call did not wait for its deadline{Environment.NewLine}{output}");

        await client.WaitForReadinessAsync(Vm1, ready: false, TimeSpan.FromSeconds(3));
        var next = await Demo(client, Vm1).ValidateCredentials();
        next.AssertFault("GuestOperationsUnavailable", "GuestOperationsFaultFault");
        Assert.IsFalse(Server.Server.AllOutput.Contains(": ValidateCredentialsInGuest timed out", StringComparison.Ordinal), "once the worker counts as gone, a call is refused, not sent to wait for its deadline");
        (await Demo(client, Vm2).ValidateCredentials()).AssertOk();

        // Continued, the worker connects again and the VM is ready.
        Stopped.Continue(worker);
        await client.WaitForReadinessAsync(Vm1, ready: true, TimeSpan.FromSeconds(10));
        (await Demo(client, Vm1).ValidateCredentials()).AssertOk();
        await WaitForConnectionLogAsync(Server, Vm1, connectedBefore);
        await AssertStillServingAsync(Server.Server);
    }

    [TestMethod]
    [Timeout(180_000)]
    public async Task HungWorker_WithAOneSecondGuestCallTimeout_CallsFailWithinAboutASecond()
    {
        await using var server = await GuestServer.StartAsync(arguments: ["--GuestOps:GuestCallTimeout=00:00:01"]);
        await using var client = await ReadyClientAsync(server);
        var worker = await server.WorkerAsync(Vm1);
        Stopped.Stop(worker);

        var hung = await Demo(client, Vm1).ValidateCredentials();
        hung.AssertFault("GuestOperationsUnavailable", "GuestOperationsFaultFault");
        TestContext.WriteLine($"call to the stopped worker failed after {hung.Elapsed.TotalMilliseconds:0} ms: {hung.FaultMessage}");
        var output = server.Server.AllOutput;
        Assert.IsTrue(output.Contains(": ValidateCredentialsInGuest timed out", StringComparison.Ordinal) || output.Contains("Heartbeat lost", StringComparison.Ordinal),
            $"the call ended at its 1 s deadline (or by the 5 s heartbeat){Environment.NewLine}{output}");
        (await Demo(client, Vm1).ListFiles("/tmp")).AssertFault("GuestOperationsUnavailable", "GuestOperationsFaultFault");
        (await Demo(client, Vm2).ValidateCredentials()).AssertOk();

        Stopped.Continue(worker);
        await client.WaitForReadinessAsync(Vm1, ready: true, TimeSpan.FromSeconds(10));
        (await Demo(client, Vm1).ValidateCredentials()).AssertOk();
        await AssertStillServingAsync(server.Server);
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task GuestCommandsDisabledOnOneVm_IsOperationDisabledByGuest_OtherVmWorks()
    {
        await using var client = await ReadyClientAsync(Server);
        (await Demo(client, DisabledVm).ValidateCredentials()).AssertFault("OperationDisabledByGuest", "GuestOperationsFaultFault");
        (await Demo(client, DisabledVm).ListFiles("/tmp")).AssertFault("OperationDisabledByGuest", "GuestOperationsFaultFault");

        // The switch is checked before the guest is asked: wrong credentials make no difference.
        (await Demo(client, DisabledVm, "wrong").ValidateCredentials()).AssertFault("OperationDisabledByGuest", "GuestOperationsFaultFault");

        (await Demo(client, Vm1).ValidateCredentials()).AssertOk();
        await Demo(client, Vm2).ListOk("/tmp");
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task UnknownVm_IsManagedObjectNotFound()
    {
        await using var client = await ReadyClientAsync(Server);
        foreach (var vm in new ManagedObjectReference[] { new("VirtualMachine", "vm-99"), new("VirtualMachine", "no-such-vm"), new("HostSystem", Vm1) })
        {
            var demo = new GuestOpsClient(client, vm, "demo", Password);
            foreach (var response in new GuestCallResult[] { await demo.ValidateCredentials(), await demo.ListFiles("/tmp") })
            {
                var fault = response.AssertFault<ManagedObjectNotFound>("RuntimeFaultFault");
                Assert.AreEqual(vm, fault.obj, $"ManagedObjectNotFound.obj names the reference: {response}");
            }
        }
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task GuestCallsWithoutASession_AreNotAuthenticated()
    {
        await using (var anonymous = await ConnectAsync(Server.Server, login: false))
        {
            (await Demo(anonymous, Vm1).ValidateCredentials()).AssertFault("NotAuthenticated", "RuntimeFaultFault");
            (await Demo(anonymous, Vm1).ListFiles("/tmp")).AssertFault("NotAuthenticated", "RuntimeFaultFault");
        }

        await using (var unknown = await ConnectAsync(Server.Server, login: false, sessionCookie: $"{VimConnection.SessionCookieName}=\"no-such-session\""))
        {
            (await Demo(unknown, Vm1).ListFiles("/tmp")).AssertFault("NotAuthenticated", "RuntimeFaultFault");
        }

        // After Logout the session's cookie no longer works either.
        await using var client = await ConnectAsync(Server.Server);
        (await Demo(client, Vm1).ValidateCredentials()).AssertOk();
        await client.Connection.LogoutAsync();
        (await Demo(client, Vm1).ValidateCredentials()).AssertFault("NotAuthenticated", "RuntimeFaultFault");
    }

    /// <summary>A logged-in client, once vm-1 and vm-2 are ready (an earlier test may have restarted a worker).</summary>
    private async Task<TypedGuestClient> ReadyClientAsync(GuestServer server)
    {
        var client = await ConnectAsync(server.Server);
        try
        {
            await client.WaitForReadinessAsync(Vm1, ready: true, TimeSpan.FromSeconds(10));
            await client.WaitForReadinessAsync(Vm2, ready: true, TimeSpan.FromSeconds(10));
            return client;
        }
        catch
        {
            await client.DisposeAsync();
            throw;
        }
    }

    /// <summary>The guest user demo on <paramref name="vmId"/>.</summary>
    private static GuestOpsClient Demo(TypedGuestClient client, string vmId, string password = Password) => new(client, vmId, "demo", password);

    /// <summary>How many times the server logged a worker connection of the VM.</summary>
    private static int ConnectedCount(GuestServer server, string vmId) =>
        ConnectedLine().Matches(server.Server.AllOutput).Count(m => m.Groups[1].Value == vmId);

    /// <summary>Waits (bounded: the console logger writes asynchronously) until the server has logged a worker connection
    /// of the VM beyond the <paramref name="before"/> it had logged earlier.</summary>
    private static async Task WaitForConnectionLogAsync(GuestServer server, string vmId, int before)
    {
        var clock = Stopwatch.StartNew();
        while (ConnectedCount(server, vmId) <= before)
        {
            if (clock.Elapsed > TimeSpan.FromSeconds(5))
            {
                throw new AssertFailedException($"The server logged no new worker connection of {vmId}.{Environment.NewLine}{server.Server.AllOutput}");
            }

            await Task.Delay(50);
        }
    }

    [GeneratedRegex(@"VM (vm-\d+): guest agent \S+ connected")]
    private static partial Regex ConnectedLine();

    private static int Occurrences(string text, string value)
    {
        var count = 0;
        for (var at = text.IndexOf(value, StringComparison.Ordinal); at >= 0; at = text.IndexOf(value, at + value.Length, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }
}
