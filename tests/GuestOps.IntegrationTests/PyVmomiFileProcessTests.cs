using System.Globalization;
using System.Text.Json;
using GuestOps.IntegrationTests.Infrastructure;

namespace GuestOps.IntegrationTests;

/// <summary>
/// Acceptance of issue 4 with a real client: Debian's python3-pyvmomi (python/pyvmomi_file_process.py) runs every
/// GuestFileManager and GuestProcessManager operation on a sandboxed VM as the guest user demo, including
/// <c>sh -c 'exit 3'</c> listed with exitCode 3 and an endTime, a <c>sleep 300</c> listed running (no exitCode, no
/// endTime) then ended after TerminateProcessInGuest, a program's <c>id -u</c> equal to demo's uid (the file it writes
/// is named after it and holds it), HOME from ReadEnvironmentVariableInGuest, and a 0600 temporary file owned by
/// demo. Missing Python or pyVmomi is a failure, not a skip: CI installs python3-pyvmomi.
/// </summary>
[TestClass]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class PyVmomiFileProcessTests : IntegrationTest
{
    private const int DemoUid = 1000;

    [TestMethod]
    [Timeout(90_000)]
    public async Task PyVmomi_RunsEveryFileAndProcessOperation_WithVSphereSemantics()
    {
        await using var server = await GuestServer.StartAsync(vmNames: ["demo-vm-1"]);
        List<string> arguments =
        [
            "--host", "127.0.0.1", "--port", server.Server.Port.ToString(CultureInfo.InvariantCulture),
            "--user", "root", "--password", server.Server.RootPassword!,
            "--guest-user", "demo", "--guest-password", GuestServer.GuestPassword,
            "--root-password", GuestServer.GuestPassword, "--vm-name", "demo-vm-1",
        ];

        using var pyvmomi = await RunPyVmomiAsync("pyvmomi_file_process.py", arguments, TimeSpan.FromSeconds(60));
        TestContext.WriteLine(pyvmomi.Result.GetProperty("facts").ToString());
        AssertEveryOperation(pyvmomi.Result);
        await AssertStillServingAsync(server.Server);
    }

    /// <summary>What pyvmomi_file_process.py must report, whatever the provider.</summary>
    internal static void AssertEveryOperation(JsonElement result)
    {
        var facts = result.GetProperty("facts");
        string S(string name) => facts.GetProperty(name).ValueKind == JsonValueKind.String ? facts.GetProperty(name).GetString()! : facts.GetProperty(name).GetRawText();
        int I(string name) => facts.GetProperty(name).GetInt32();
        List<string> L(string name) => facts.GetProperty(name).EnumerateArray().Select(e => e.GetString()!).ToList();

        Assert.AreEqual("guestOperationsProcessManager", S("processManager"));

        // Files.
        StringAssert.StartsWith(S("tempDirectory"), "/tmp/vmware-demo/py-");
        StringAssert.EndsWith(S("tempDirectory"), "-dir");
        Assert.AreEqual(0b111_000_000, I("tempDirectoryMode"), "temporary directory 0700");
        CollectionAssert.AreEqual(new[] { "y" }, L("mkdirParents"));
        Assert.AreEqual("FileAlreadyExists", S("mkdirExisting"));
        Assert.AreEqual("FileNotFound", S("mkdirMissingParent"));
        StringAssert.StartsWith(S("tempFileName"), "tmp-");
        StringAssert.EndsWith(S("tempFileName"), ".txt");
        Assert.AreEqual(0b110_000_000, I("tempFileMode"), "temporary file 0600");
        Assert.AreEqual(DemoUid, I("tempFileOwner"), "temporary file owned by the user");
        Assert.AreEqual("/tmp/vmware-demo", S("defaultTempFileDirectory"));
        Assert.AreEqual("FileNotFound", S("tempMissingDirectory"));
        Assert.AreEqual("FileAlreadyExists", S("moveNoOverwrite"));
        Assert.AreEqual("ok", S("moveOverwrite"));
        Assert.AreEqual("NotAFile", S("moveSourceDirectory"));
        CollectionAssert.AreEqual(new[] { "moved.txt", "y" }, L("afterMoves"));
        Assert.AreEqual(0b110_100_000, I("changedMode"));
        Assert.AreEqual("2024-05-01T10:20:31+00:00", S("changedModificationTime"));
        Assert.AreEqual("OperationNotSupportedByGuest", S("windowsAttributes"));
        Assert.AreEqual(DemoUid, I("chownAsRoot"), "root gives a file to demo");
        CollectionAssert.Contains(L("afterMoveDirectory"), "z");
        CollectionAssert.DoesNotContain(L("afterMoveDirectory"), "x");
        Assert.AreEqual("FileAlreadyExists", S("moveDirectoryExists"));
        Assert.AreEqual("NotADirectory", S("moveDirectoryFile"));
        Assert.AreEqual("NotAFile", S("deleteFileDirectory"));
        Assert.AreEqual("FileNotFound", S("deleteFileMissing"));
        Assert.AreEqual("DirectoryNotEmpty", S("deleteDirectoryNotEmpty"));
        Assert.AreEqual("NotADirectory", S("deleteDirectoryFile"));
        CollectionAssert.DoesNotContain(L("afterDeleteDirectory"), "z");

        // Processes.
        var exit3 = facts.GetProperty("exit3");
        Assert.AreEqual(3, exit3.GetProperty("exitCode").GetInt32(), exit3.ToString());
        Assert.IsTrue(exit3.GetProperty("hasEndTime").GetBoolean(), exit3.ToString());
        Assert.AreEqual("demo", exit3.GetProperty("owner").GetString());
        Assert.AreEqual(0, I("idExit"));
        var uidFiles = facts.GetProperty("uidFiles").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetInt64());
        CollectionAssert.AreEqual(new[] { $"uid_{DemoUid}" }, uidFiles.Keys.ToList(), "the program's id -u is the authenticated user's uid");
        Assert.AreEqual($"{DemoUid}\n".Length, uidFiles[$"uid_{DemoUid}"], "the file holds id -u's output");

        var sleeping = facts.GetProperty("sleepRunning").EnumerateArray().Single();
        Assert.AreEqual(JsonValueKind.Null, sleeping.GetProperty("exitCode").ValueKind, $"running: no exitCode {sleeping}");
        Assert.IsFalse(sleeping.GetProperty("hasEndTime").GetBoolean(), $"running: no endTime {sleeping}");
        Assert.IsTrue(facts.GetProperty("sleepInAll").GetBoolean(), "the sleep is in the list of all processes");
        var terminated = facts.GetProperty("sleepTerminated");
        Assert.IsTrue(terminated.GetProperty("hasEndTime").GetBoolean(), terminated.ToString());
        Assert.AreEqual(143, terminated.GetProperty("exitCode").GetInt32(), $"SIGTERM: 128 + 15. {terminated}");
        Assert.AreEqual("GuestProcessNotFound", S("terminateUnknown"));
        Assert.AreEqual(0, I("listUnknown"));
        Assert.AreEqual("InvalidArgument", S("startRelative"));
        Assert.AreEqual("FileNotFound", S("startMissing"));

        CollectionAssert.AreEqual(new[] { "HOME=/home/demo" }, L("envHome"));
        foreach (var name in new[] { "HOME", "USER", "LOGNAME", "SHELL", "PATH" })
        {
            CollectionAssert.Contains(L("envAllNames"), name);
        }

        Assert.AreEqual("FileNotFound", S("baseGone"));
    }
}
