using System.Diagnostics;
using System.Globalization;
using System.Net;
using GuestOps.IntegrationTests.Infrastructure;

namespace GuestOps.IntegrationTests;

/// <summary>
/// Two guest-side failures during uploads (issue 9), with the real server and a sandboxed VM:
/// <list type="bullet">
/// <item>a worker that stops reading (SIGSTOP) while a 1 GiB upload streams in: the server stops reading from the
/// client (the channel's credit is the backpressure), its resident memory stays flat, the upload ends with 503 when the
/// worker counts as gone, nothing partial is left, and the VM is ready again once the worker runs;</item>
/// <item>a full guest disk: a 4 MiB tmpfs mounted at /tmp/small inside the VM's own mount namespace only (nsenter into
/// the sandbox; nothing on the host changes): an upload that no longer fits is refused at Initiate (NoDiskSpace), one
/// that fitted at Initiate but not any more when it starts fails with 507 before any data is stored, leaving the old
/// contents, and an upload that is under way keeps its space (preallocated) while a guest program fills the disk.</item>
/// </list>
/// </summary>
[TestClass]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class GuestStallAndDiskTests : IntegrationTest
{
    private const string Vm = "vm-1";
    private static readonly StoppedProcesses Stopped = new();
    private static GuestServer? _server;

    [ClassInitialize]
    public static async Task StartServerAsync(TestContext context)
    {
        _server = await GuestServer.StartAsync(vmNames: ["stall-vm-1"]);
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
    [Timeout(90_000)]
    public async Task StoppedWorker_DuringUpload_ServerMemoryStaysFlat_UploadFails503_NothingPartial_VmReadyAgain()
    {
        await using var typed = await ConnectAsync(Server.Server, Vm);
        await typed.WaitForReadinessAsync(Vm, ready: true, TimeSpan.FromSeconds(10));
        var demo = new GuestOpsClient(typed, Vm, "demo", GuestServer.GuestPassword);
        var dir = await demo.CreateTemporaryDirectoryOk("stall-", "");
        using var http = new GuestFileTransferClient(Server.Server);

        // Warm the upload path, then take the baseline.
        Assert.AreEqual(HttpStatusCode.OK, (await http.PutAsync(await demo.InitiateFileTransferToGuestOk($"{dir}/warm.bin", 4 << 20, overwrite: false), new GeneratedContent(4 << 20, 1))).Status);
        var baseline = HostileSoapTests.ResidentMiB(Server.Server.ProcessId);

        const long size = 1L << 30;
        var url = http.Resolve(await demo.InitiateFileTransferToGuestOk($"{dir}/big.bin", size, overwrite: false));
        var worker = await Server.WorkerAsync(Vm);
        long sent = 0;
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await using var raw = await RawHttpConnection.OpenAsync(Server.Server.BaseUri, stop.Token);
        await raw.SendAsync($"PUT {url.PathAndQuery} HTTP/1.1", [("Host", url.Authority), ("Content-Length", size.ToString(CultureInfo.InvariantCulture))], [], chunkSize: null, stop.Token);
        var sender = Task.Run(async () =>
        {
            var piece = new byte[64 * 1024];
            new Random(5).NextBytes(piece);
            try
            {
                while (Interlocked.Read(ref sent) < size)
                {
                    await raw.Stream.WriteAsync(piece, stop.Token);
                    Interlocked.Add(ref sent, piece.Length);
                }
            }
            catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException)
            {
                // the server gave up on the upload and closed the connection
            }
        });

        var flowing = Stopwatch.StartNew();
        while (Interlocked.Read(ref sent) < 32 << 20 && flowing.Elapsed < TimeSpan.FromSeconds(20))
        {
            await Task.Delay(10);
        }

        Assert.IsTrue(Interlocked.Read(ref sent) >= 32 << 20, "the upload was flowing before the worker was stopped");
        Stopped.Stop(worker);
        var sentAtStop = Interlocked.Read(ref sent);
        var clock = Stopwatch.StartNew();
        var peak = baseline;
        var samples = new List<string>();
        var responseTask = raw.ReadResponseAsync(stop.Token);
        while (!responseTask.IsCompleted && clock.Elapsed < TimeSpan.FromSeconds(20))
        {
            var rss = HostileSoapTests.ResidentMiB(Server.Server.ProcessId);
            peak = Math.Max(peak, rss);
            if (samples.Count < 40)
            {
                samples.Add($"{clock.ElapsedMilliseconds} ms: {rss:0} MiB, client sent {Interlocked.Read(ref sent) / 1048576.0:0.0} MiB");
            }

            await Task.Delay(50);
        }

        var response = await responseTask.WaitAsync(TimeSpan.FromSeconds(10));
        var sentAfter = Interlocked.Read(ref sent);
        TestContext.WriteLine($"worker stopped after {sentAtStop / 1048576.0:0.0} MiB; answer HTTP {response.StatusCode} after {clock.ElapsedMilliseconds} ms; the client got {(sentAfter - sentAtStop) / 1048576.0:0.0} MiB more into the connection; server RSS baseline {baseline:0} MiB, peak {peak:0} MiB");
        TestContext.WriteLine(string.Join(Environment.NewLine, samples));
        await stop.CancelAsync();
        await sender;

        Assert.AreEqual(503, response.StatusCode, $"the upload fails once the worker counts as gone: {response.BodyText}");
        Assert.IsTrue(sentAfter - sentAtStop < 64L << 20, $"the server stopped reading: {(sentAfter - sentAtStop) / 1048576.0:0.0} MiB more went in after the stop");
        Assert.IsTrue(peak - baseline < 64, $"server RSS rose from {baseline:0} to {peak:0} MiB while the worker was stopped");

        Stopped.Continue(worker);
        await typed.WaitForReadinessAsync(Vm, ready: true, TimeSpan.FromSeconds(10));
        var names = (await demo.ListOk(dir)).Names.ToList();
        CollectionAssert.AreEquivalent(new[] { ".", "..", "warm.bin" }, names, "no partial or staging file");
        await AssertStillServingAsync(Server.Server);
    }

    [TestMethod]
    [Timeout(90_000)]
    public async Task FullGuestDisk_RefusedAtInitiate_OrWith507BeforeAnyData_PreallocatedUploadsKeepTheirSpace()
    {
        await using var typed = await ConnectAsync(Server.Server, Vm);
        await typed.WaitForReadinessAsync(Vm, ready: true, TimeSpan.FromSeconds(10));
        var worker = await Server.WorkerAsync(Vm);
        var files = await Server.FilesAsync(Vm);
        System.IO.Directory.CreateDirectory(files.HostPath("/tmp/small"));

        // A 4 MiB tmpfs at /tmp/small in the sandbox's mount namespace only.
        var mount = await ProcessRunner.RunAsync("/usr/bin/nsenter", ["-t", worker.ToString(CultureInfo.InvariantCulture), "-m", "--", "/usr/bin/mount", "-t", "tmpfs", "-o", "size=4m,mode=1777", "guestops-small-disk", "/tmp/small"], TimeSpan.FromSeconds(20));
        Assert.AreEqual(0, mount.ExitCode, $"mounting a tmpfs inside the sandbox: {mount}");
        Assert.IsFalse(File.ReadAllText("/proc/self/mountinfo").Contains("guestops-small-disk", StringComparison.Ordinal), "the host does not see the small disk");

        var demo = new GuestOpsClient(typed, Vm, "demo", GuestServer.GuestPassword);
        using var http = new GuestFileTransferClient(Server.Server);
        const string Dir = "/tmp/small";

        // The file whose contents must survive, then two 3 MiB uploads that both fit at Initiate (4 MiB free).
        var keep = new GeneratedContent(100_000, 21);
        Assert.AreEqual(HttpStatusCode.OK, (await http.PutAsync(await demo.InitiateFileTransferToGuestOk($"{Dir}/keep.bin", 100_000, overwrite: false), keep)).Status);
        const int size = 3 << 20;
        var first = await demo.InitiateFileTransferToGuestOk($"{Dir}/first.bin", size, overwrite: false);
        var second = await demo.InitiateFileTransferToGuestOk($"{Dir}/keep.bin", size, overwrite: true);
        var firstBody = new GeneratedContent(size, 22);
        Assert.AreEqual(HttpStatusCode.OK, (await http.PutAsync(first, firstBody)).Status, "the first upload fits");

        // The second no longer fits: 507 when it starts, before its data is stored; keep.bin is as it was.
        var refused = await http.PutAsync(second, new GeneratedContent(size, 23));
        TestContext.WriteLine($"second upload: {refused}");
        Assert.AreEqual(HttpStatusCode.InsufficientStorage, refused.Status, refused.ToString());

        // Now even Initiate says so.
        (await demo.InitiateFileTransferToGuest($"{Dir}/third.bin", size, overwrite: false)).AssertFault("NoDiskSpace", "FileFaultFault");
        var listing = await demo.ChildrenOk(Dir);
        CollectionAssert.AreEquivalent(new[] { "keep.bin", "first.bin" }, listing.Keys.ToList(), "no partial or staging file");
        var keepInfo = await demo.InitiateFileTransferFromGuestOk($"{Dir}/keep.bin");
        Assert.AreEqual(100_000, keepInfo.size);
        Assert.AreEqual(keep.Sha256, (await http.GetAsync(keepInfo.url)).Sha256, "the old contents are intact");
        var firstInfo = await demo.InitiateFileTransferFromGuestOk($"{Dir}/first.bin");
        Assert.AreEqual(firstBody.Sha256, (await http.GetAsync(firstInfo.url)).Sha256);

        // Free the space; an upload under way holds its space while a guest program fills the disk.
        (await demo.DeleteFile($"{Dir}/first.bin")).AssertOk();
        var slow = http.Resolve(await demo.InitiateFileTransferToGuestOk($"{Dir}/slow.bin", size, overwrite: false));
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(40));
        await using var raw = await RawHttpConnection.OpenAsync(Server.Server.BaseUri, cancel.Token);
        var body = new byte[size];
        new Random(24).NextBytes(body);
        await raw.SendAsync($"PUT {slow.PathAndQuery} HTTP/1.1", [("Host", slow.Authority), ("Content-Length", size.ToString(CultureInfo.InvariantCulture))], [], chunkSize: null, cancel.Token);
        await raw.Stream.WriteAsync(body.AsMemory(0, 1 << 20), cancel.Token);
        await raw.Stream.FlushAsync(cancel.Token);
        await Task.Delay(300, cancel.Token);
        var filler = await demo.StartProgramOk("/usr/bin/dd", $"if=/dev/zero of={Dir}/filler bs=64k count=256");
        var ended = await demo.WaitForExitAsync(filler, TimeSpan.FromSeconds(20));
        TestContext.WriteLine($"dd filling the disk exited with {ended.ExitCode}");
        Assert.AreNotEqual(0, ended.ExitCode, "the disk filled up under dd (ENOSPC)");
        await raw.Stream.WriteAsync(body.AsMemory(1 << 20), cancel.Token);
        var done = await raw.ReadResponseAsync(cancel.Token);
        Assert.AreEqual(200, done.StatusCode, $"the preallocated upload completed on the full disk: {done.BodyText}");
        var slowInfo = await demo.InitiateFileTransferFromGuestOk($"{Dir}/slow.bin");
        Assert.AreEqual(size, slowInfo.size);
        Assert.AreEqual(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(body)), (await http.GetAsync(slowInfo.url)).Sha256, "the upload is complete and intact");
        await AssertStillServingAsync(Server.Server);
    }
}
