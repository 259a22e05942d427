using GuestOps.Channel.Messages;
using GuestOps.Tests.Host;
using GuestOps.Tools.Files;
using GuestOps.Tools.Identity;
using GuestOps.Tools.Processes;
using GuestOps.Tools.Errors;
using GuestOps.Tools.State;

namespace GuestOps.Tests.Tools;

/// <summary>
/// What the one-shot worker keeps between runs in the tools' root-only directory: program records (exit codes listed for
/// 5 minutes after the exit, then gone) and file-transfer grants (used once, bound to the user's identity).
/// </summary>
[TestClass]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class OneShotStateTests
{
    private DirectoryInfo _root = null!;

    [TestInitialize]
    public void Create() => _root = Directory.CreateTempSubdirectory("guestops-oneshot-");

    [TestCleanup]
    public void Delete() => _root.Delete(recursive: true);

    [TestMethod]
    public void ProgramRecords_ExitCodeListedForFiveMinutes_RunningWhileItsSupervisorLives()
    {
        var state = new ToolsStateDirectory(_root.FullName).Ensure();
        var records = new ProgramRecordFiles(state.Programs);
        var start = DateTimeOffset.UtcNow;
        var time = new ManualTime(start);
        records.Write(new StartedPrograms.Program(4242, "/bin/sh", "demo", "\"/bin/sh\" -c 'exit 3'", start) { EndTime = start, ExitCode = 3 }, supervisorPid: 1);
        // A program whose supervisor is this process: running, whatever its pid shows.
        records.Write(new StartedPrograms.Program(Environment.ProcessId, "/bin/sleep", "demo", "\"/bin/sleep\" 300", start), supervisorPid: Environment.ProcessId);

        using var view = StartedPrograms.FromRecords(records, time);
        var (running, exited) = view.Snapshot();
        Assert.AreEqual(3, exited.Single().ExitCode);
        Assert.AreEqual(Environment.ProcessId, running.Single().Pid);
        Assert.IsTrue(view.IsRunning(Environment.ProcessId));

        time.Now = start + TimeSpan.FromMinutes(5) + TimeSpan.FromSeconds(1);
        (running, exited) = view.Snapshot();
        Assert.AreEqual(0, exited.Count, "an exit older than 5 minutes is dropped");
        Assert.AreEqual(1, running.Count);
        Assert.IsFalse(File.Exists(Path.Combine(state.Programs, "4242.json")), "and its record deleted");
    }

    [TestMethod]
    public void ProgramRecords_ReadAgain_SeeEveryChangeSinceTheLastRead()
    {
        // A reader that lives across calls (the resident tools) parses a record again only when its file changed.
        var state = new ToolsStateDirectory(_root.FullName).Ensure();
        var writer = new ProgramRecordFiles(state.Programs);
        var reader = new ProgramRecordFiles(state.Programs);
        var start = DateTimeOffset.UtcNow;
        var program = new StartedPrograms.Program(Environment.ProcessId, "/bin/true", "demo", "\"/bin/true\"", start);
        writer.Write(program, supervisorPid: Environment.ProcessId);
        Assert.IsNull(reader.ReadAll(start, TimeSpan.FromMinutes(5)).Single().ExitCode);

        writer.Write(program with { EndTime = start, ExitCode = 7 }, supervisorPid: Environment.ProcessId);
        Assert.AreEqual(7, reader.ReadAll(start, TimeSpan.FromMinutes(5)).Single().ExitCode, "the exit written since is seen");

        writer.Write(new StartedPrograms.Program(4243, "/bin/false", "demo", "\"/bin/false\"", start) { EndTime = start, ExitCode = 1 }, supervisorPid: 1);
        File.Delete(Path.Combine(state.Programs, Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture) + ".json"));
        Assert.AreEqual(4243, reader.ReadAll(start, TimeSpan.FromMinutes(5)).Single().Pid, "a deleted record is gone, a new one is there");
    }

    [TestMethod]
    public void ProgramRecords_RunningRecordWithoutProgramOrSupervisor_IsDropped()
    {
        var state = new ToolsStateDirectory(_root.FullName).Ensure();
        var records = new ProgramRecordFiles(state.Programs);
        var gone = int.MaxValue - 7; // no such process
        records.Write(new StartedPrograms.Program(gone, "/bin/sleep", "demo", "sleep", DateTimeOffset.UtcNow), supervisorPid: gone);
        using var view = StartedPrograms.FromRecords(records);
        var (running, exited) = view.Snapshot();
        Assert.AreEqual(0, running.Count + exited.Count, "its supervisor was killed before it could record the exit");
    }

    [TestMethod]
    public void Grants_AreUsedOnce_AndKeepTheUsersIdentity()
    {
        var state = new ToolsStateDirectory(_root.FullName).Ensure();
        var store = new TransferGrantFiles(state.Grants, TimeProvider.System);
        var user = new GuestUser("demo", 1000, 1000, [1000, 100], "/home/demo");
        var grant = new FileTransfers.Grant(true, user, GuestPath.Parse("/tmp/x"), 12, Overwrite: true, new GuestFileAttributeChanges { Permissions = 0x1A4 }, DateTimeOffset.UtcNow.AddMinutes(10));
        var id = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));
        store.Save(id, grant, maxGrants: 10);

        var taken = store.Take(id);
        Assert.IsNotNull(taken);
        Assert.AreEqual(user.Name, taken.User.Name);
        Assert.AreEqual(user.Uid, taken.User.Uid);
        CollectionAssert.AreEqual(user.Groups.ToList(), taken.User.Groups.ToList());
        Assert.AreEqual("/tmp/x", taken.Path.Original);
        Assert.AreEqual(0x1A4L, taken.Attributes.Permissions);
        Assert.IsNull(store.Take(id), "a grant is used once");
        Assert.IsNull(store.Take("../../etc/passwd"), "ids are hex only");
        Assert.AreEqual(0, Directory.GetFiles(state.Grants).Length, string.Join(", ", Directory.GetFiles(state.Grants)));
    }

    [TestMethod]
    public void StateDirectory_IsRootOnly_AndStagingNamesAreHexOnly()
    {
        var state = new ToolsStateDirectory(_root.FullName);
        File.SetUnixFileMode(_root.FullName, (UnixFileMode)0b111_101_101);
        state.Ensure();
        foreach (var directory in new[] { state.Root, state.Grants, state.Programs, state.Staging })
        {
            Assert.AreEqual((UnixFileMode)0b111_000_000, File.GetUnixFileMode(directory), directory);
        }

        Assert.ThrowsExactly<GuestOperationException>(() => state.StagingFile("../grants/x"));
        StringAssert.EndsWith(state.StagingFile(new string('a', 32)), "/staging/" + new string('a', 32));
    }
}
