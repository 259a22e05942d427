using System.Globalization;
using GuestOps.Channel.Messages;
using GuestOps.Tools;
using GuestOps.Tools.Identity;
using GuestOps.Tools.Impersonation;
using GuestOps.Tools.Native;
using GuestOps.Tools.Processes;
using GuestOps.Tools.Errors;

namespace GuestOps.Tests.Tools;

/// <summary>
/// Process operations executed directly in the test process (as root, no user switch): launching, reaping, exit
/// codes, listing, terminating, the user environment. Running them as other users is covered by
/// <see cref="WorkerOperationsTests"/>.
/// </summary>
[TestClass]
[DoNotParallelize] // sets ProgramLauncher's process-wide test switch (UseSpawnChdir)
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class ProcessOperationsTests
{
    private string _dir = "";
    private StartedPrograms _programs = null!;
    private GuestUser _root = null!;

    public TestContext TestContext { get; set; } = null!;

    [TestInitialize]
    public void Setup()
    {
        if (LibC.geteuid() != 0)
        {
            Assert.Inconclusive("Process tests expect to run as root (they start programs as the root guest user).");
        }

        _dir = Directory.CreateTempSubdirectory("guestops-proc-").FullName;
        _programs = new StartedPrograms();
        _programs.EnsureReaper();
        _root = new GuestUser("root", 0, 0, [0], _dir);
    }

    [TestCleanup]
    public void Cleanup()
    {
        _programs.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    private long Start(string program, string arguments, string? workingDirectory = null, IReadOnlyList<string>? environment = null) =>
        ProcessOperations.Prepare(
            new StartProgramRequest { ProgramPath = program, Arguments = arguments, WorkingDirectory = workingDirectory, Environment = environment },
            _root,
            _programs,
            TimeProvider.System)().Pid;

    private IReadOnlyList<GuestProcessEntry> List(params long[] pids) =>
        ProcessOperations.Prepare(new ListProcessesRequest { Pids = pids.Length == 0 ? null : pids }, _programs, new PosixUserDirectory())().Processes;

    private async Task<GuestProcessEntry> WaitForExitAsync(long pid)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            var entry = List(pid).Single(p => p.Pid == pid);
            if (entry.ExitCode is not null || DateTime.UtcNow > deadline)
            {
                return entry;
            }

            await Task.Delay(20, TestContext.CancellationToken);
        }
    }

    private async Task<string> ReadWhenWrittenAsync(string path)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!File.Exists(path + ".done") && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20, TestContext.CancellationToken);
        }

        return await File.ReadAllTextAsync(path, TestContext.CancellationToken);
    }

    [TestMethod]
    [Timeout(60_000, CooperativeCancellation = true)]
    public async Task ExitCode_AndEndTime_AppearOnlyAfterExit()
    {
        var before = DateTimeOffset.UtcNow;
        var pid = Start("/bin/sh", "-c 'exit 3'");
        var ended = await WaitForExitAsync(pid);
        Assert.AreEqual(3, ended.ExitCode);
        Assert.IsNotNull(ended.EndTime);
        Assert.IsTrue(ended.EndTime >= ended.StartTime);
        Assert.IsTrue(ended.StartTime >= before.AddSeconds(-1));
        Assert.AreEqual("/bin/sh", ended.Name);
        Assert.AreEqual("\"/bin/sh\" -c 'exit 3'", ended.CommandLine);
        Assert.AreEqual("root", ended.Owner);

        // Still listed without a pid filter.
        Assert.IsTrue(List().Any(p => p.Pid == pid && p.ExitCode == 3));
    }

    [TestMethod]
    [Timeout(60_000, CooperativeCancellation = true)]
    public async Task Running_HasNoExitCode_ThenTerminate_ListsItAsEndedWith143()
    {
        var pid = Start("/bin/sleep", "300");
        var running = List(pid).Single();
        Assert.IsNull(running.ExitCode);
        Assert.IsNull(running.EndTime);
        Assert.AreEqual("\"/bin/sleep\" 300", running.CommandLine);
        if (ProgramLauncher.Shell() == ProgramLauncher.BashPath)
        {
            // As on ESXi: bash execs a single command, so the pid returned is the program's own.
            var deadline = DateTime.UtcNow.AddSeconds(5);
            while (ProcFs.Read((int)pid)?.Name != "sleep" && DateTime.UtcNow < deadline)
            {
                await Task.Delay(10, TestContext.CancellationToken);
            }

            Assert.AreEqual("sleep", ProcFs.Read((int)pid)?.Name);
        }

        await ProcessOperations.TerminateAsync(new TerminateProcessRequest { Pid = pid }, _root, new DirectImpersonator(), _programs, TestContext.CancellationToken);
        var ended = List(pid).Single();
        Assert.AreEqual(128 + LibC.SIGTERM, ended.ExitCode, "killed by SIGTERM: 128 + 15");
        Assert.IsNotNull(ended.EndTime);
        Assert.IsNull(ProcFs.State((int)pid), "collected, no zombie left");

        // Now it is gone: another terminate is NoSuchProcess with the pid.
        var again = await Assert.ThrowsExactlyAsync<GuestOperationException>(() =>
            ProcessOperations.TerminateAsync(new TerminateProcessRequest { Pid = pid }, _root, new DirectImpersonator(), _programs, TestContext.CancellationToken));
        Assert.AreEqual(GuestErrorCode.NoSuchProcess, again.Code);
        Assert.AreEqual(pid, again.Pid);
    }

    [TestMethod]
    [Timeout(60_000, CooperativeCancellation = true)]
    public async Task Terminate_KillsTheWholeGroup_AndEscalatesToSigkill()
    {
        var grace = ProcessOperations.TerminateGrace;
        ProcessOperations.TerminateGrace = TimeSpan.FromMilliseconds(300);
        try
        {
            // The program's shell ignores SIGTERM (so does its background child, which inherits the disposition).
            var marker = Path.Combine(_dir, "child.pid");
            var pid = Start("/bin/true", $"; trap '' TERM; sleep 300 & echo $! > {marker}; touch {marker}.done; wait");
            var child = int.Parse((await ReadWhenWrittenAsync(marker)).Trim(), CultureInfo.InvariantCulture);
            Assert.IsNotNull(ProcFs.State(child));

            await ProcessOperations.TerminateAsync(new TerminateProcessRequest { Pid = pid }, _root, new DirectImpersonator(), _programs, TestContext.CancellationToken);
            Assert.AreEqual(128 + LibC.SIGKILL, List(pid).Single().ExitCode);

            // The background child was in the program's process group: it got the signals too.
            var deadline = DateTime.UtcNow.AddSeconds(5);
            while (ProcFs.State(child) is not (null or 'Z') && DateTime.UtcNow < deadline)
            {
                await Task.Delay(20, TestContext.CancellationToken);
            }

            Assert.IsTrue(ProcFs.State(child) is null or 'Z');
        }
        finally
        {
            ProcessOperations.TerminateGrace = grace;
        }
    }

    [TestMethod]
    [Timeout(60_000, CooperativeCancellation = true)]
    public async Task Terminate_UnknownOrInvalidPid_IsNoSuchProcess()
    {
        foreach (var pid in new long[] { 0, -1, long.MaxValue, 4_194_305 })
        {
            var e = await Assert.ThrowsExactlyAsync<GuestOperationException>(() =>
                ProcessOperations.TerminateAsync(new TerminateProcessRequest { Pid = pid }, _root, new DirectImpersonator(), _programs, TestContext.CancellationToken));
            Assert.AreEqual(GuestErrorCode.NoSuchProcess, e.Code, pid.ToString(CultureInfo.InvariantCulture));
            Assert.AreEqual(pid, e.Pid);
        }

        var self = await Assert.ThrowsExactlyAsync<GuestOperationException>(() =>
            ProcessOperations.TerminateAsync(new TerminateProcessRequest { Pid = Environment.ProcessId }, _root, new DirectImpersonator(), _programs, TestContext.CancellationToken));
        Assert.AreEqual(GuestErrorCode.PermissionDenied, self.Code);
    }

    [TestMethod]
    [Timeout(60_000, CooperativeCancellation = true)]
    public async Task Program_IsDetached_NewSession_DevNullStdio_NoExtraFds_DefaultSignals()
    {
        // Inspect the shell itself from outside while it waits for sleep (the trailing command keeps it a shell).
        var pid = Start("/bin/sleep", "30; true");
        try
        {
            await WaitForImageAsync(pid);
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            Assert.AreEqual(Environment.ProcessId.ToString(CultureInfo.InvariantCulture), fields[1], "a child of the worker (which reaps it)");
            Assert.AreEqual(pid.ToString(CultureInfo.InvariantCulture), fields[2], "its own process group");
            Assert.AreEqual(pid.ToString(CultureInfo.InvariantCulture), fields[3], "its own session");
            Assert.AreEqual("0", fields[4], "no controlling terminal");

            var fds = Directory.GetFileSystemEntries($"/proc/{pid}/fd").Select(Path.GetFileName).ToList();
            CollectionAssert.AreEquivalent(new[] { "0", "1", "2" }, fds, "only stdio is open");
            foreach (var fd in fds)
            {
                Assert.AreEqual("/dev/null", new FileInfo($"/proc/{pid}/fd/{fd}").LinkTarget);
            }

            // The program (the shell's foreground child) has no standard signal ignored: the .NET runtime ignores
            // SIGPIPE, which exec would otherwise keep. (The shell itself may ignore some, e.g. bash SIGQUIT; glibc's
            // posix_spawn leaves its two internal real-time signals 32 and 33 ignored, which glibc programs reinstall.)
            var program = File.ReadAllText($"/proc/{pid}/task/{pid}/children").Trim();
            var deadline = DateTime.UtcNow.AddSeconds(5);
            while (File.ReadAllText($"/proc/{program}/comm").Trim() != "sleep" && DateTime.UtcNow < deadline)
            {
                await Task.Delay(10, TestContext.CancellationToken); // forked, not yet exec'd
            }

            var ignored = File.ReadAllLines($"/proc/{program}/status").Single(l => l.StartsWith("SigIgn:", StringComparison.Ordinal));
            var mask = ulong.Parse(ignored[7..].Trim(), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            Assert.AreEqual(0UL, mask & 0x7FFF_FFFFUL, ignored);
        }
        finally
        {
            await TerminateAsync(pid);
        }
    }

    /// <summary>
    /// Waits until the started shell has settled into waiting for its child: posix_spawn returns while the new image
    /// is still being set up (environment not yet in place, the dynamic loader's descriptors open).
    /// </summary>
    private async Task WaitForImageAsync(long pid)
    {
        var children = $"/proc/{pid}/task/{pid}/children";
        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (DateTime.UtcNow < deadline)
        {
            if (File.Exists(children) ? File.ReadAllText(children).Trim().Length > 0 : File.ReadAllText($"/proc/{pid}/environ").Length > 0)
            {
                return;
            }

            await Task.Delay(10, TestContext.CancellationToken);
        }
    }

    [TestMethod]
    [Timeout(60_000, CooperativeCancellation = true)]
    public async Task Environment_WhenGiven_IsExactlyThat_OtherwiseTheUsersLoginEnvironment()
    {
        // The shell's own environment (read while it waits for sleep; a trailing command keeps it from exec'ing).
        var pid = Start("/bin/sleep", "30; true", environment: ["A=1", "B=two words"]);
        await WaitForImageAsync(pid);
        CollectionAssert.AreEquivalent(new[] { "A=1", "B=two words" }, EnvironmentOf(pid));
        await TerminateAsync(pid);

        Environment.SetEnvironmentVariable("GUESTOPS_WORKER_ONLY", "secret");
        pid = Start("/bin/sleep", "30; true");
        await WaitForImageAsync(pid);
        var login = EnvironmentOf(pid);
        await TerminateAsync(pid);
        CollectionAssert.AreEquivalent(new[] { "HOME=" + _dir, "USER=root", "LOGNAME=root", "SHELL=/bin/sh", "PATH=" + UserEnvironment.RootPath, "PWD=" + _dir }, login.Where(l => !l.StartsWith("LANG=", StringComparison.Ordinal)).ToList());
        Assert.IsFalse(login.Any(l => l.StartsWith("GUESTOPS_WORKER_ONLY=", StringComparison.Ordinal)), "never the worker's own environment");
    }

    private static List<string> EnvironmentOf(long pid) =>
        File.ReadAllText($"/proc/{pid}/environ").Split('\0', StringSplitOptions.RemoveEmptyEntries).ToList();

    private Task TerminateAsync(long pid) =>
        ProcessOperations.TerminateAsync(new TerminateProcessRequest { Pid = pid }, _root, new DirectImpersonator(), _programs, TestContext.CancellationToken);

    [TestMethod]
    [Timeout(60_000, CooperativeCancellation = true)]
    public async Task WorkingDirectory_DefaultsToHome_ArgumentsAreShellInterpreted()
    {
        Directory.CreateDirectory(Path.Combine(_dir, "work dir"));
        Start("/bin/sh", "-c 'pwd > where; echo $((6*7)) | cat > answer; touch where.done answer.done'");
        Assert.AreEqual(_dir, (await ReadWhenWrittenAsync(Path.Combine(_dir, "where"))).Trim());
        Assert.AreEqual("42", (await ReadWhenWrittenAsync(Path.Combine(_dir, "answer"))).Trim());

        var wd = Path.Combine(_dir, "work dir");
        Start("/bin/pwd", "> pwd.txt; touch pwd.txt.done", workingDirectory: wd);
        Assert.AreEqual(wd, (await ReadWhenWrittenAsync(Path.Combine(wd, "pwd.txt"))).Trim());
    }

    [TestMethod]
    [Timeout(60_000, CooperativeCancellation = true)]
    public async Task WorkingDirectory_OnGlibcWithoutAddChdir_TheShellChangesDirectory_PidIsStillTheProgramsShell()
    {
        Assert.IsTrue(ProgramLauncher.UseSpawnChdir);
        ProgramLauncher.UseSpawnChdir = false;
        try
        {
            var wd = Path.Combine(_dir, "it's a \"dir\" $HOME");
            Directory.CreateDirectory(wd);
            var pid = Start("/bin/sleep", "30; pwd > here; touch here.done", workingDirectory: wd);
            var expected = ProgramLauncher.Shell() + " -c \"/bin/sleep\" 30; pwd > here; touch here.done";
            string CommandLine() => File.ReadAllText($"/proc/{pid}/cmdline").TrimEnd('\0').Replace('\0', ' ');
            var deadline = DateTime.UtcNow.AddSeconds(5);
            while (CommandLine() != expected && DateTime.UtcNow < deadline)
            {
                await Task.Delay(10, TestContext.CancellationToken); // the first shell changes directory, then execs the second
            }

            Assert.AreEqual(expected, CommandLine());
            Assert.AreEqual(wd, new DirectoryInfo($"/proc/{pid}/cwd").LinkTarget);
            await TerminateAsync(pid);
            Assert.AreEqual(143, List(pid).Single().ExitCode);
        }
        finally
        {
            ProgramLauncher.UseSpawnChdir = true;
        }
    }

    [TestMethod]
    public void StartProgram_Faults()
    {
        GuestErrorCode Code(string program, string? wd = null, IReadOnlyList<string>? env = null, string args = "") =>
            Assert.ThrowsExactly<GuestOperationException>(() => Start(program, args, wd, env)).Code;

        Assert.AreEqual(GuestErrorCode.InvalidArgument, Code("sh"));
        Assert.AreEqual(GuestErrorCode.InvalidArgument, Code(""));
        Assert.AreEqual(GuestErrorCode.InvalidArgument, Code("/bin/sh", args: "a\0b"));
        Assert.AreEqual(GuestErrorCode.InvalidArgument, Code("/bin/sh", env: ["NOEQUALS"]));
        Assert.AreEqual(GuestErrorCode.InvalidArgument, Code("/bin/sh", env: ["=value"]));
        Assert.AreEqual(GuestErrorCode.InvalidArgument, Code("/bin/sh", wd: "relative"));

        var missing = Assert.ThrowsExactly<GuestOperationException>(() => Start(Path.Combine(_dir, "nope"), ""));
        Assert.AreEqual(GuestErrorCode.FileNotFound, missing.Code);
        Assert.AreEqual(Path.Combine(_dir, "nope"), missing.Path);
        Assert.AreEqual(GuestErrorCode.NotAFile, Code(_dir));
        var plain = Path.Combine(_dir, "plain.txt");
        File.WriteAllText(plain, "not a program");
        Assert.AreEqual(GuestErrorCode.FileAccessError, Code(plain), "not executable (even root needs an x bit)");

        var noDir = Assert.ThrowsExactly<GuestOperationException>(() => Start("/bin/true", "", Path.Combine(_dir, "missing")));
        Assert.AreEqual(GuestErrorCode.FileNotFound, noDir.Code);
        Assert.AreEqual(Path.Combine(_dir, "missing"), noDir.Path);
        Assert.AreEqual(GuestErrorCode.NotADirectory, Code("/bin/true", wd: plain));
    }

    [TestMethod]
    [Timeout(60_000, CooperativeCancellation = true)]
    public async Task ListProcesses_AllOrSelected_WithNamesOwnersCommandLinesAndStartTimes()
    {
        var all = List();
        var me = all.Single(p => p.Pid == Environment.ProcessId);
        Assert.AreEqual("root", me.Owner);
        Assert.IsNull(me.ExitCode);
        Assert.IsNull(me.EndTime);
        Assert.IsFalse(string.IsNullOrEmpty(me.Name));
        Assert.AreEqual(File.ReadAllText($"/proc/{Environment.ProcessId}/cmdline").TrimEnd('\0').Replace('\0', ' '), me.CommandLine);
        var processStart = System.Diagnostics.Process.GetCurrentProcess().StartTime.ToUniversalTime();
        Assert.IsLessThan(2.0, Math.Abs((me.StartTime.UtcDateTime - processStart).TotalSeconds), "start time from /proc");

        var pid = Start("/bin/sleep", "300");
        try
        {
            var selected = List(pid, 4_194_305, Environment.ProcessId);
            CollectionAssert.AreEqual(new[] { pid, (long)Environment.ProcessId }, selected.Select(p => p.Pid).ToArray(), "unknown pids are skipped");
            Assert.AreEqual("/bin/sleep", selected[0].Name);
        }
        finally
        {
            await ProcessOperations.TerminateAsync(new TerminateProcessRequest { Pid = pid }, _root, new DirectImpersonator(), _programs, TestContext.CancellationToken);
        }

        Assert.IsEmpty(List(4_194_305));
    }

    [TestMethod]
    [Timeout(60_000, CooperativeCancellation = true)]
    public async Task ExitedPrograms_AreKeptForTheRetentionTime_ThenForgotten()
    {
        var time = new ManualTime(DateTimeOffset.UtcNow);
        using var programs = new StartedPrograms(time, TimeSpan.FromMinutes(5));
        programs.EnsureReaper();
        var pid = ProcessOperations.Prepare(new StartProgramRequest { ProgramPath = "/bin/true" }, _root, programs, time)().Pid;
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (programs.IsRunning((int)pid) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20, TestContext.CancellationToken);
        }

        Assert.AreEqual(0, programs.Snapshot().Exited.Single(p => p.Pid == pid).ExitCode);
        time.Advance(TimeSpan.FromMinutes(4));
        Assert.HasCount(1, programs.Snapshot().Exited);
        time.Advance(TimeSpan.FromMinutes(2));
        Assert.IsEmpty(programs.Snapshot().Exited);
    }

    [TestMethod]
    public void ExitStatus_Decoding_And_CommandQuoting()
    {
        Assert.AreEqual(3, StartedPrograms.DecodeStatus(3 << 8));
        Assert.AreEqual(0, StartedPrograms.DecodeStatus(0));
        Assert.AreEqual(143, StartedPrograms.DecodeStatus(15));
        Assert.AreEqual(137, StartedPrograms.DecodeStatus(9 | 0x80 /* core dumped */));

        Assert.AreEqual("\"/bin/sh\" -c \"uname -a > /tmp/out.txt\"", ProgramLauncher.BuildCommand("/bin/sh", "-c \"uname -a > /tmp/out.txt\""));
        Assert.AreEqual("\"/opt/my app/run\"", ProgramLauncher.BuildCommand("/opt/my app/run", ""));
        Assert.AreEqual("'/opt/$HOME/x'\\''y' a", ProgramLauncher.BuildCommand("/opt/$HOME/x'y", "a"));
    }

    [TestMethod]
    public void ReadEnvironment_IsTheStartEnvironment_FilteredByName()
    {
        var alice = new GuestUser("alice", 1001, 1001, [1001], "/home/alice") { Shell = "/bin/bash" };
        var all = ProcessOperations.Prepare(new ReadEnvironmentRequest(), alice)().Variables;
        CollectionAssert.IsSubsetOf(new[] { "HOME=/home/alice", "USER=alice", "LOGNAME=alice", "SHELL=/bin/bash", "PATH=" + UserEnvironment.UserPath, "PWD=/home/alice" }, all.ToList());
        var some = ProcessOperations.Prepare(new ReadEnvironmentRequest { Names = ["USER", "NOT_SET", "HOME", "USER"] }, alice)().Variables;
        CollectionAssert.AreEqual(new[] { "USER=alice", "HOME=/home/alice" }, some.ToList());
        Assert.AreEqual("PATH=" + UserEnvironment.RootPath, ProcessOperations.Prepare(new ReadEnvironmentRequest { Names = ["PATH"] }, _root)().Variables.Single());
    }

    [TestMethod]
    public void SystemLanguage_FromLocaleFiles()
    {
        var saved = UserEnvironment.LocaleFiles;
        try
        {
            var conf = Path.Combine(_dir, "locale.conf");
            var debian = Path.Combine(_dir, "locale");
            UserEnvironment.LocaleFiles = [conf, debian];
            Assert.IsNull(UserEnvironment.SystemLanguage());
            File.WriteAllText(debian, "# generated\nLANG=\"de_DE.UTF-8\"\n");
            Assert.AreEqual("de_DE.UTF-8", UserEnvironment.SystemLanguage());
            File.WriteAllText(conf, "LC_TIME=C\nexport LANG=C.UTF-8\n");
            Assert.AreEqual("C.UTF-8", UserEnvironment.SystemLanguage());
            Assert.Contains("LANG=C.UTF-8", UserEnvironment.Build(_root, "/"));
        }
        finally
        {
            UserEnvironment.LocaleFiles = saved;
        }
    }

    /// <summary>Runs the work on the calling thread (the test runs as root).</summary>
    private sealed class DirectImpersonator : IImpersonator
    {
        public bool CanImpersonateOthers => false;

        public Task<T> RunAsAsync<T>(GuestUser user, Func<T> work, CancellationToken cancellationToken)
        {
            try
            {
                return Task.FromResult(work());
            }
            catch (Exception ex)
            {
                return Task.FromException<T>(ex);
            }
        }
    }

    private sealed class ManualTime(DateTimeOffset now) : TimeProvider
    {
        private DateTimeOffset _now = now;

        public override DateTimeOffset GetUtcNow() => _now;

        public void Advance(TimeSpan by) => _now += by;
    }
}
