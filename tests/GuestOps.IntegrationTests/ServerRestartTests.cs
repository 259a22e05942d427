using System.Diagnostics;
using System.Net;
using System.Runtime.InteropServices;
using System.Text;
using GuestOps.IntegrationTests.Infrastructure;

namespace GuestOps.IntegrationTests;

/// <summary>
/// The server restarted while its workers run (issue 9): two sandboxed VMs and one external VM whose enrolled worker
/// runs outside the server (a plain process here, as in a real VM). The server is killed (SIGKILL: a crash) or
/// stopped (SIGTERM) and started again on the same state directory and port. The sandboxes end with the old process
/// (no orphaned worker is left), the new process starts new ones, the external worker reconnects by itself, and every
/// VM is ready again within 5 s of the new process serving. Transfer URLs of the old process are refused with 404 (even
/// after the new one issued its own), their uploads never happen, and nothing of them is left in the guest.
/// </summary>
[TestClass]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class ServerRestartTests : IntegrationTest
{
    private static readonly string[] VmNames = ["restart-vm-1", "restart-vm-2", "restart-ext-vm"];

    [TestMethod]
    [DataRow(9, "SIGKILL")]
    [DataRow(15, "SIGTERM")]
    [Timeout(180_000, CooperativeCancellation = true)]
    public async Task Restart_VmsReadyAgainWithin5Seconds_ExternalWorkerReconnects_OldTransferUrlsAre404(int signal, string signalName)
    {
        var work = Directory.CreateTempSubdirectory("guestops-restart-").FullName;
        File.SetUnixFileMode(work, (UnixFileMode)0b111_101_101);
        var state = Path.Combine(work, "state");
        Directory.CreateDirectory(state, (UnixFileMode)0b111_101_101);
        var port = LoopbackPort.Free();
        var workerPort = LoopbackPort.Free();
        var settings = new Dictionary<string, string>
        {
            ["GUESTOPS_URLS"] = $"https://127.0.0.1:{port}",
            ["GUESTOPS_DEMO_GUEST_PASSWORD"] = GuestServer.GuestPassword,
            ["GuestOps__VirtualMachines__2__Provider"] = "external",
            ["GUESTOPS_WORKER_LISTEN_URL"] = $"tcp://127.0.0.1:{workerPort}",
        };
        var options = new ServerOptions { StateDirectory = state, VirtualMachineNames = VmNames, Environment = settings };
        Process? external = null;
        var externalOutput = new StringBuilder();
        ServerProcess? first = null;
        ServerProcess? second = null;
        try
        {
            first = await ServerProcess.StartAsync(options);
            await using var client = await ConnectAsync(first);

            // Enroll the external VM and start its worker (it keeps running across the restart).
            var external0 = await EnrollAndStartExternalWorkerAsync(first, work, settings, workerPort, externalOutput);
            external = external0;
            foreach (var vm in new[] { "vm-1", "vm-2", "vm-3" })
            {
                await client.WaitForReadinessAsync(vm, ready: true, TimeSpan.FromSeconds(30));
            }

            // Transfers of the old process: an upload never used, and a download never used.
            var demo = new GuestOpsClient(client, "vm-1", "demo", GuestServer.GuestPassword);
            var dir = await demo.CreateTemporaryDirectoryOk("restart-", "");
            var oldUpload = await demo.InitiateFileTransferToGuestOk($"{dir}/never.bin", 3, overwrite: false);
            var source = $"{dir}/source.txt";
            using (var http = new GuestFileTransferClient(first))
            {
                Assert.AreEqual(HttpStatusCode.OK, (await http.PutAsync(await demo.InitiateFileTransferToGuestOk(source, 5, overwrite: false), "hello"u8.ToArray())).Status);
            }

            var oldDownload = (await demo.InitiateFileTransferFromGuestOk(source)).url;
            var oldWorkers = VmNames.Take(2).SelectMany(name => GuestWorkers.Find(state, name)).ToList();
            Assert.AreEqual(2, oldWorkers.Count, "one worker per sandboxed VM before the restart");

            // Stop the server with the signal, but only the server process: the sandboxes must go with it on their own.
            Assert.IsTrue(GuestWorkers.Signal(first.ProcessId, signal), $"{signalName} to the server");
            using (var exited = new CancellationTokenSource(TimeSpan.FromSeconds(20)))
            {
                while (!first.HasExited)
                {
                    await Task.Delay(20, exited.Token);
                }
            }

            var gone = Stopwatch.StartNew();
            while (oldWorkers.Any(GuestWorkers.IsAlive) && gone.Elapsed < TimeSpan.FromSeconds(10))
            {
                await Task.Delay(50);
            }

            Assert.IsFalse(oldWorkers.Any(GuestWorkers.IsAlive), $"the old sandboxes' workers ended with the server ({signalName})");
            await first.DisposeAsync();

            // Start again: same state, same port.
            var clock = Stopwatch.StartNew();
            second = await ServerProcess.StartAsync(options);
            var serving = clock.Elapsed;
            var ready = new Dictionary<string, TimeSpan>();

            // Readiness is polled with hand-built RetrieveProperties: a new typed connection costs this client about 2 s
            // (its WCF channel factory), which would count against the 5 s measured here.
            using (var poll = NewClient(second))
            {
                await poll.LoginOkAsync();
                foreach (var vm in new[] { "vm-1", "vm-2", "vm-3" })
                {
                    await GuestSoap.WaitForReadinessAsync(poll, vm, ready: true, TimeSpan.FromSeconds(5) - (clock.Elapsed - serving));
                    ready[vm] = clock.Elapsed - serving;
                }
            }

            TestContext.WriteLine($"{signalName}: new process serving {serving.TotalMilliseconds:0} ms after its start; VMs ready {string.Join(", ", ready.Select(r => $"{r.Key} +{r.Value.TotalMilliseconds:0} ms"))} after that");
            Assert.IsTrue(ready.Values.Max() < TimeSpan.FromSeconds(5), "every VM ready within 5 s of the new process serving");
            Assert.IsTrue(external.HasExited is false, "the external worker ran through the restart and reconnected");

            // Old URLs: refused cleanly with 404, also once the new process has handed out URLs of its own.
            await using var again = await ConnectAsync(second);
            var demo2 = new GuestOpsClient(again, "vm-1", "demo", GuestServer.GuestPassword);
            using var http2 = new GuestFileTransferClient(second);
            var fresh = await demo2.InitiateFileTransferToGuestOk($"{dir}/fresh.txt", 2, overwrite: false);
            var put = await http2.PutAsync(oldUpload, "abc"u8.ToArray());
            var get = await http2.GetAsync(oldDownload);
            TestContext.WriteLine($"old upload URL: {put}; old download URL: {get}");
            Assert.AreEqual(HttpStatusCode.NotFound, put.Status, "an old process's upload URL");
            Assert.AreEqual(HttpStatusCode.NotFound, get.Status, "an old process's download URL");
            Assert.AreEqual(HttpStatusCode.OK, (await http2.PutAsync(fresh, "ok"u8.ToArray())).Status, "the new process's own URL works");
            var names = (await demo2.ListOk(dir)).Names.ToList();
            CollectionAssert.AreEquivalent(new[] { ".", "..", "source.txt", "fresh.txt" }, names, "nothing of the old upload is in the guest");

            // The external VM answers through its reconnected worker.
            (await new GuestOpsClient(again, "vm-3", "nobody", "wrong").ValidateCredentials()).AssertFault("InvalidGuestLogin", "GuestOperationsFaultFault");
            await AssertStillServingAsync(second);
        }
        catch (Exception) when (Dump(first, second, externalOutput))
        {
            throw;
        }
        finally
        {
            if (external is { HasExited: false })
            {
                external.Kill();
                await external.WaitForExitAsync();
            }

            external?.Dispose();
            if (second is not null)
            {
                await second.DisposeAsync();
            }

            if (first is not null)
            {
                await first.DisposeAsync();
            }

            try
            {
                Directory.Delete(work, recursive: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
            }
        }
    }

    private bool Dump(ServerProcess? first, ServerProcess? second, StringBuilder externalOutput)
    {
        TestContext.WriteLine($"--- first server ---{Environment.NewLine}{first?.AllOutput}");
        TestContext.WriteLine($"--- second server ---{Environment.NewLine}{second?.AllOutput}");
        lock (externalOutput)
        {
            TestContext.WriteLine($"--- external worker ---{Environment.NewLine}{externalOutput}");
        }

        return false;
    }

    /// <summary>The admin's enroll, the VM owner's enroll and --connect (a plain process: only its connection matters here).</summary>
    private static async Task<Process> EnrollAndStartExternalWorkerAsync(ServerProcess server, string work, Dictionary<string, string> settings, int workerPort, StringBuilder output)
    {
        var workerBinary = Path.Combine(Path.GetDirectoryName(RepositoryLayout.ServerDll)!, "guestops-tools");
        Assert.IsTrue(File.Exists(workerBinary), workerBinary);
        var admin = new Dictionary<string, string>(settings) { ["GUESTOPS_STATE_DIR"] = server.StateDirectory };
        for (var i = 0; i < VmNames.Length; i++)
        {
            admin[$"GuestOps__VirtualMachines__{i}__Name"] = VmNames[i];
        }

        var bundle = Path.Combine(work, "bundle.json");
        var enrolled = await ProcessRunner.RunAsync(DotnetHost(), [RepositoryLayout.ServerDll, "enroll", "--vm", VmNames[2], "--out", bundle], TimeSpan.FromSeconds(60), work, admin);
        Assert.AreEqual(0, enrolled.ExitCode, enrolled.ToString());
        var pki = Path.Combine(work, "pki");
        var owner = await ProcessRunner.RunAsync(workerBinary, ["enroll", "--bundle", bundle, "--out", pki], TimeSpan.FromSeconds(60), work);
        Assert.AreEqual(0, owner.ExitCode, owner.ToString());
        var start = new ProcessStartInfo(workerBinary)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var a in new[]
        {
            "--connect", $"tcp:127.0.0.1:{workerPort}", "--tls-cert", Path.Combine(pki, "worker.crt"), "--tls-key", Path.Combine(pki, "worker.key"),
            "--tls-ca", Path.Combine(pki, "ca.crt"), "--pam-service", "guestops-tools-none", "--log-level", "debug",
        })
        {
            start.ArgumentList.Add(a);
        }

        var process = new Process { StartInfo = start };
        void Append(string? line)
        {
            if (line is not null)
            {
                lock (output)
                {
                    output.Append(line).Append('\n');
                }
            }
        }

        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private static string DotnetHost()
    {
        var host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        return !string.IsNullOrEmpty(host) && File.Exists(host) ? host : "dotnet";
    }
}
