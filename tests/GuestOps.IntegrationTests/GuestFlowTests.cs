using GuestOps.IntegrationTests.Infrastructure;
using GuestOps.Vim;

namespace GuestOps.IntegrationTests;

/// <summary>
/// Issue 4's scripted flow through the typed client (GuestOps.Client), as a C# caller writes it (the seed's
/// guest-customization figure, without file transfer): create a temporary directory, start a shell program that writes
/// a log there, wait for its exit code through ListProcessesInGuest (as govc guest.run polls), see the log with
/// ListFilesInGuest, move it, delete the directory recursively.
/// </summary>
[TestClass]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class GuestFlowTests : IntegrationTest
{
    private static GuestServer? _server;

    [ClassInitialize]
    public static async Task StartServerAsync(TestContext context) => _server = await GuestServer.StartAsync(vmNames: ["demo-vm-1"]);

    [ClassCleanup]
    public static async Task StopServerAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
            _server = null;
        }
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task CreateTemporaryDirectory_RunAShellProgramThatWritesALog_WaitForItsExitCode_ListMoveAndDeleteRecursively()
    {
        var server = _server ?? throw new AssertFailedException("The guest server did not start.");
        await using var client = await TypedGuestClient.ConnectAsync(server.Server);
        var (port, managers, vm) = (client.Port, client.Managers, client.Vm);
        var demo = TypedGuestClient.Auth("demo", GuestServer.GuestPassword);

        async Task<Dictionary<string, GuestFileInfo>> Children(string directory) =>
            (await port.ListFilesInGuestAsync(managers.FileManager, vm, demo, directory, null, null, null)).files!
                .Where(f => f.path is not "." and not "..").ToDictionary(f => f.path);

        async Task<GuestProcessInfo> Listed(long pid) =>
            (await port.ListProcessesInGuestAsync(managers.ProcessManager, vm, demo, [pid])).Single();

        var work = await port.CreateTemporaryDirectoryInGuestAsync(managers.FileManager, vm, demo, "flow-", "-work", null);
        TestContext.WriteLine($"work directory {work}");
        const string Script = "for i in 1 2 3; do echo step $i; done > run.log; id -un >> run.log; exit 7";
        var pid = await port.StartProgramInGuestAsync(managers.ProcessManager, vm, demo, new GuestProgramSpec { programPath = "/bin/bash", arguments = $"-c '{Script}'", workingDirectory = work });

        // Poll for the exit as govc guest.run does.
        var exited = await Listed(pid);
        for (var clock = System.Diagnostics.Stopwatch.StartNew(); exited.endTime is null && clock.Elapsed < TimeSpan.FromSeconds(10); exited = await Listed(pid))
        {
            Assert.IsNull(exited.exitCode, "a running process has no exitCode");
            await Task.Delay(100);
        }

        Assert.AreEqual(7, exited.exitCode, $"pid {exited.pid} end {exited.endTime:O}");
        Assert.IsNotNull(exited.endTime);

        var log = (await Children(work))["run.log"];
        Assert.AreEqual("file", log.type);
        Assert.AreEqual("step 1\nstep 2\nstep 3\ndemo\n".Length, log.size);
        Assert.AreEqual(1000, (log.attributes as GuestPosixFileAttributes)?.ownerId);

        await port.MakeDirectoryInGuestAsync(managers.FileManager, vm, demo, $"{work}/logs/archive", true);
        await port.MoveFileInGuestAsync(managers.FileManager, vm, demo, $"{work}/run.log", $"{work}/logs/archive/run-1.log", false);
        CollectionAssert.AreEquivalent(new[] { "logs" }, (await Children(work)).Keys.ToList());
        Assert.AreEqual(log.size, (await Children($"{work}/logs/archive"))["run-1.log"].size);

        await TypedGuestClient.AssertFaultAsync<DirectoryNotEmpty>(() => port.DeleteDirectoryInGuestAsync(managers.FileManager, vm, demo, work, false));
        await port.DeleteDirectoryInGuestAsync(managers.FileManager, vm, demo, work, true);
        await TypedGuestClient.AssertFaultAsync<FileNotFound>(() => port.ListFilesInGuestAsync(managers.FileManager, vm, demo, work, null, null, null));

        // The exit data stays listed after the directory is gone.
        Assert.AreEqual(7, (await Listed(pid)).exitCode);
        await AssertStillServingAsync(server.Server);
    }
}
