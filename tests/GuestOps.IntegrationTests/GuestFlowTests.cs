using GuestOps.IntegrationTests.Infrastructure;

namespace GuestOps.IntegrationTests;

/// <summary>
/// Issue 4's scripted flow through SOAP (the seed's guest-customization figure, without file transfer): create a
/// temporary directory, start a shell program that writes a log there, wait for its exit code through
/// ListProcessesInGuest (as govc guest.run polls), see the log with ListFilesInGuest, move it, delete the directory
/// recursively.
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
        using var soap = NewClient(server.Server);
        await soap.LoginOkAsync();
        var demo = new GuestOpsClient(soap, "vm-1", "demo", GuestServer.GuestPassword);

        var work = await demo.CreateTemporaryDirectoryOk("flow-", "-work");
        TestContext.WriteLine($"work directory {work}");
        const string Script = "for i in 1 2 3; do echo step $i; done > run.log; id -un >> run.log; exit 7";
        var pid = await demo.StartProgramOk("/bin/bash", $"-c '{Script}'", workingDirectory: work);

        var exited = await demo.WaitForExitAsync(pid);
        Assert.AreEqual(7, exited.ExitCode, exited.ToString());
        Assert.IsNotNull(exited.EndTime);

        var log = (await demo.ChildrenOk(work))["run.log"];
        Assert.AreEqual("file", log.Type);
        Assert.AreEqual("step 1\nstep 2\nstep 3\ndemo\n".Length, log.Size, log.ToString());
        Assert.AreEqual(1000, log.OwnerId, log.ToString());

        await demo.Ok(demo.MakeDirectory($"{work}/logs/archive", createParents: true), "MakeDirectoryInGuest");
        await demo.Ok(demo.MoveFile($"{work}/run.log", $"{work}/logs/archive/run-1.log", overwrite: false), "MoveFileInGuest");
        CollectionAssert.AreEquivalent(new[] { "logs" }, (await demo.ChildrenOk(work)).Keys.ToList());
        Assert.AreEqual(log.Size, (await demo.ChildrenOk($"{work}/logs/archive"))["run-1.log"].Size);

        (await demo.DeleteDirectory(work, recursive: false)).AssertFault("DirectoryNotEmpty");
        await demo.Ok(demo.DeleteDirectory(work, recursive: true), "DeleteDirectoryInGuest");
        (await demo.ListFiles(work)).AssertFault("FileNotFound");

        // The exit data stays listed after the directory is gone.
        Assert.AreEqual(7, (await demo.ListProcessesOk(pid)).Single().ExitCode);
        await AssertStillServingAsync(server.Server);
    }
}
