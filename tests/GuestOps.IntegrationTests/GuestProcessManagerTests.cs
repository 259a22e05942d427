using System.Diagnostics;
using GuestOps.IntegrationTests.Infrastructure;
using GuestOps.Vim;

namespace GuestOps.IntegrationTests;

/// <summary>
/// Acceptance of issue 4, GuestProcessManager, through the typed client against a sandboxed VM: StartProgramInGuest
/// (through the shell, as the user, default working directory home, envVariables as the whole environment, relative
/// path InvalidArgument, missing program FileNotFound), ListProcessesInGuest (all, by pids,
/// unknown pids skipped, endTime/exitCode only once exited), TerminateProcessInGuest (SIGTERM: 143; unknown pid
/// GuestProcessNotFound; another user's process GuestPermissionDenied) and ReadEnvironmentVariableInGuest. A started
/// program reports what it saw by creating a file whose name carries it, read back with ListFilesInGuest. One server
/// for the class (vm-1).
/// </summary>
[TestClass]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class GuestProcessManagerTests : IntegrationTest
{
    private const string Vm = "vm-1";
    private const int DemoUid = 1000;

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

    private static GuestServer Server => _server ?? throw new AssertFailedException("The guest server did not start.");

    private async Task<(TypedGuestClient Typed, GuestOpsClient Demo, string Dir)> SetUpAsync()
    {
        var typed = await ConnectAsync(Server.Server, Vm);
        var demo = new GuestOpsClient(typed, Vm, "demo", GuestServer.GuestPassword);
        var dir = await demo.CreateTemporaryDirectoryOk("pm-", "");
        return (typed, demo, dir);
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task StartProgramInGuest_RunsThroughTheShellAsTheUser_InTheHomeDirectory_ExitCodeListed()
    {
        var (typed, demo, dir) = await SetUpAsync();
        await using var _ = typed;
        var before = DateTime.UtcNow.AddSeconds(-5);
        var pid = await demo.StartProgramOk("/bin/sh", $"-c 'touch \"{dir}/uid_$(id -u)\" \"{dir}/cwd$(pwd | tr / _)\"; exit 3'");
        Assert.IsTrue(pid > 1, $"pid {pid}");
        var exited = await demo.WaitForExitAsync(pid);
        Assert.AreEqual(3, exited.ExitCode, exited.ToString());
        Assert.AreEqual("demo", exited.Owner, exited.ToString());
        Assert.IsTrue(exited.StartTime >= before && exited.EndTime >= exited.StartTime, exited.ToString());
        StringAssert.Contains(exited.CmdLine, "exit 3", exited.ToString());

        var names = (await demo.ChildrenOk(dir)).Keys.ToList();
        CollectionAssert.AreEquivalent(new[] { $"uid_{DemoUid}", "cwd_home_demo" }, names, "the program ran as demo in demo's home");

        // Redirection works (arguments are shell-interpreted); an explicit working directory is used.
        var second = await demo.StartProgramOk("/bin/echo", "hello > redirected.txt", workingDirectory: dir);
        Assert.AreEqual(0, (await demo.WaitForExitAsync(second)).ExitCode);
        Assert.AreEqual(6, (await demo.ChildrenOk(dir))["redirected.txt"].Size, "'hello\\n' redirected into the working directory");
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task StartProgramInGuest_EnvVariablesAreTheWholeEnvironment()
    {
        var (typed, demo, dir) = await SetUpAsync();
        await using var _ = typed;
        var pid = await demo.StartProgramOk("/bin/bash", $"-c 'touch \"{dir}/env_${{FOO}}_${{HOME:-nohome}}_${{USER:-nouser}}\"'", environment: ["FOO=bar", "PATH=/usr/bin:/bin"]);
        Assert.AreEqual(0, (await demo.WaitForExitAsync(pid)).ExitCode);
        var withEnv = await demo.StartProgramOk("/bin/bash", $"-c 'touch \"{dir}/default_${{FOO:-nofoo}}_$(echo $HOME | tr / _)_${{USER}}\"'");
        Assert.AreEqual(0, (await demo.WaitForExitAsync(withEnv)).ExitCode);
        CollectionAssert.AreEquivalent(new[] { "env_bar_nohome_nouser", "default_nofoo__home_demo_demo" }, (await demo.ChildrenOk(dir)).Keys.ToList());
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task StartProgramInGuest_RelativePathIsInvalidArgument_MissingProgramIsFileNotFound()
    {
        var (typed, demo, dir) = await SetUpAsync();
        await using var _ = typed;
        (await demo.StartProgram("bin/sh", "-c true")).AssertFault("InvalidArgument");
        (await demo.StartProgram("sh", "-c true")).AssertFault("InvalidArgument");
        (await demo.StartProgram("", "")).AssertFault("InvalidArgument");
        (await demo.StartProgram("/no/such/program", "")).AssertFault("FileNotFound");
        (await demo.StartProgram("/bin/sh", "-c true", workingDirectory: $"{dir}/missing")).AssertFault("FileNotFound");
    }

    [TestMethod]
    [Timeout(40_000)]
    public async Task ListAndTerminate_RunningHasNoEndTimeNorExitCode_TerminatedIs143_UnknownPidsSkippedOrGuestProcessNotFound()
    {
        var (typed, demo, _) = await SetUpAsync();
        await using var __ = typed;
        var pid = await demo.StartProgramOk("/bin/sleep", "300");
        var all = await demo.ListProcessesOk();
        Assert.IsTrue(all.Count >= 2, $"all processes of the guest: {all.Count}");
        var running = all.SingleOrDefault(p => p.Pid == pid) ?? throw new AssertFailedException($"pid {pid} not in the list of all processes.");
        Assert.IsNull(running.EndTime, running.ToString());
        Assert.IsNull(running.ExitCode, running.ToString());
        Assert.AreEqual("demo", running.Owner);
        StringAssert.Contains(running.Name, "sleep", running.ToString());
        StringAssert.Contains(running.CmdLine, "300", running.ToString());

        var byPid = await demo.ListProcessesOk(pid, 999_999);
        Assert.AreEqual(1, byPid.Count, "the unknown pid is skipped: " + string.Join("; ", byPid));
        Assert.AreEqual(pid, byPid[0].Pid);
        Assert.AreEqual(0, (await demo.ListProcessesOk(999_998)).Count, "only unknown pids: an empty answer");

        // root's process: demo may not terminate it.
        var root = demo.As("root", GuestServer.GuestPassword);
        var rootPid = await root.StartProgramOk("/bin/sleep", "300");
        (await demo.TerminateProcess(rootPid)).AssertFault("GuestPermissionDenied");
        Assert.IsNull((await root.ListProcessesOk(rootPid)).Single().EndTime, "root's process still runs");

        var clock = Stopwatch.StartNew();
        (await demo.TerminateProcess(pid)).AssertOk();
        Assert.IsTrue(clock.Elapsed < TimeSpan.FromSeconds(4), $"sleep goes on SIGTERM, no need to wait for SIGKILL ({clock.Elapsed})");
        var ended = await demo.WaitForExitAsync(pid, TimeSpan.FromSeconds(5));
        Assert.AreEqual(143, ended.ExitCode, $"killed by SIGTERM: 128 + 15. {ended}");
        Assert.IsNotNull(ended.EndTime);

        (await root.TerminateProcess(rootPid)).AssertOk();
        Assert.AreEqual(143, (await root.WaitForExitAsync(rootPid, TimeSpan.FromSeconds(5))).ExitCode);

        var fault = (await demo.TerminateProcess(999_999)).AssertFault<GuestProcessNotFound>();
        Assert.AreEqual(999_999, fault.pid, "GuestProcessNotFound.pid");
    }

    [TestMethod]
    [Timeout(40_000)]
    public async Task StartedProgram_NewSession_StdioOnDevNull_TerminateEndsItsWholeProcessGroup()
    {
        var (typed, demo, dir) = await SetUpAsync();
        await using var _ = typed;
        var pid = await demo.StartProgramOk("/bin/sh",
            $"-c 'touch \"{dir}/sid_$(cut -d\" \" -f6 /proc/$$/stat)\" \"{dir}/in$(readlink /proc/$$/fd/0 | tr / _)\" \"{dir}/out$(readlink /proc/$$/fd/1 | tr / _)\"; sleep 300 & sleep 300'");
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while ((await demo.ChildrenOk(dir)).Count < 3 && clock.Elapsed < TimeSpan.FromSeconds(5))
        {
            await Task.Delay(50);
        }

        CollectionAssert.AreEquivalent(new[] { $"sid_{pid}", "in_dev_null", "out_dev_null" }, (await demo.ChildrenOk(dir)).Keys.ToList(),
            "the program leads its own session (sid = the returned pid) and its stdin/stdout are /dev/null");
        var sleepers = (await demo.ListProcessesOk()).Where(p => p.Owner == "demo" && p.Name.Contains("sleep", StringComparison.Ordinal) && p.EndTime is null).ToList();
        Assert.AreEqual(2, sleepers.Count, "the two sleeps of the group: " + string.Join("; ", sleepers));

        (await demo.TerminateProcess(pid)).AssertOk();
        var ended = await demo.WaitForExitAsync(pid, TimeSpan.FromSeconds(5));
        Assert.IsNotNull(ended.ExitCode, ended.ToString());
        var left = (await demo.ListProcessesOk(sleepers.Select(s => s.Pid).ToArray())).Where(p => p.EndTime is null).ToList();
        Assert.AreEqual(0, left.Count, "TerminateProcessInGuest ends the program's process group: " + string.Join("; ", left));
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task StartProgramInGuest_NotExecutableIsCannotAccessFile_DirectoryIsNotAFile_UnreachableIsRefused()
    {
        var (typed, demo, dir) = await SetUpAsync();
        await using var _ = typed;
        var file = await demo.CreateTemporaryFileOk("noexec-", "", dir);
        // CannotAccessFile when the program path is not accessible (here: not executable).
        (await demo.StartProgram(file, "")).AssertFault("CannotAccessFile");
        (await demo.StartProgram(dir, "")).AssertFault("NotAFile");

        // Behind a directory the user cannot search: either fault says so.
        var hidden = await demo.StartProgram("/root/.profile", "");
        Assert.IsTrue(hidden.Fault is GuestPermissionDenied or CannotAccessFile, $"a program in root's 0700 home: {hidden}");
    }

    [TestMethod]
    [Timeout(30_000)]
    public async Task ReadEnvironmentVariableInGuest_NamedAndAll_TheUsersEnvironment()
    {
        var (typed, demo, _) = await SetUpAsync();
        await using var __ = typed;
        var named = await demo.ReadEnvironmentOk("HOME", "USER", "NO_SUCH_VARIABLE_X");
        CollectionAssert.AreEquivalent(new[] { "HOME=/home/demo", "USER=demo" }, named.ToList(), "named variables; unset ones omitted");

        var all = await demo.ReadEnvironmentOk();
        var names = all.Select(e => e[..e.IndexOf('=', StringComparison.Ordinal)]).ToList();
        foreach (var expected in new[] { "HOME", "USER", "LOGNAME", "SHELL", "PATH" })
        {
            CollectionAssert.Contains(names, expected, $"all variables: {string.Join(", ", all)}");
        }

        CollectionAssert.Contains(all.ToList(), "HOME=/home/demo");
        Assert.IsFalse(names.Any(n => n.StartsWith("GUESTOPS", StringComparison.Ordinal)), $"never the worker's own environment: {string.Join(", ", all)}");

        var root = await demo.As("root", GuestServer.GuestPassword).ReadEnvironmentOk("HOME", "USER");
        CollectionAssert.AreEquivalent(new[] { "HOME=/root", "USER=root" }, root.ToList());
    }
}
