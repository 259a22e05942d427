using GuestOps.Channel;
using GuestOps.Channel.Connection;
using GuestOps.Channel.Messages;
using GuestOps.Channel.Transport;
using GuestOps.Tools.Native;

namespace GuestOps.Tests.Tools;

/// <summary>
/// Every file and process operation through the channel against the real worker in a bubblewrap guest (real PAM,
/// real users, real impersonation): what a user may and may not do is the guest kernel's answer. One guest serves the
/// whole class; each test uses its own paths.
/// </summary>
[TestClass]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class WorkerOperationsTests
{
    private static readonly Dictionary<string, (uint Uid, string Password)> Users = new()
    {
        ["root"] = (0, "root-pw-0"),
        ["alice"] = (1001, "alice-pw-1"),
        ["bob"] = (1002, "bob-pw-2"),
    };

    private static GuestSandbox? _sandbox;
    private static UnixSocketChannelListener? _listener;
    private static ChannelConnection? _host;

    public TestContext TestContext { get; set; } = null!;

    [ClassInitialize]
    public static async Task StartGuestAsync(TestContext context)
    {
        if (GuestSandbox.Unavailable() is { } why)
        {
            return; // each test reports Inconclusive
        }

        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        (_sandbox, _listener, _host) = await StartSandboxAsync("guest-ops-vm", [], cts.Token);
    }

    [ClassCleanup]
    public static async Task StopGuestAsync()
    {
        if (_host is not null)
        {
            await _host.DisposeAsync();
        }

        if (_listener is not null)
        {
            await _listener.DisposeAsync();
        }

        if (_sandbox is not null)
        {
            await _sandbox.DisposeAsync();
        }
    }

    internal static async Task<(GuestSandbox, UnixSocketChannelListener, ChannelConnection)> StartSandboxAsync(string hostName, IReadOnlyList<string> bwrapOptions, CancellationToken ct)
    {
        var sandbox = await GuestSandbox.CreateAsync(hostName, Users);
        sandbox.BwrapOptions = bwrapOptions;
        var listener = UnixSocketChannelListener.Start(sandbox.SocketPath);
        try
        {
            sandbox.StartWorker();
            var accept = listener.AcceptAsync(ct).AsTask();
            if (await Task.WhenAny(accept, sandbox.WorkerExited) != accept)
            {
                throw new InvalidOperationException("The worker exited before connecting:\n" + sandbox.WorkerLog);
            }

            var transport = await accept;
            var host = await ChannelConnection.EstablishAsync(transport.Stream, new ChannelConnectionOptions { Role = ChannelRole.Host, Software = "test-dispatcher" }, ct);
            return (sandbox, listener, host);
        }
        catch
        {
            Console.WriteLine(sandbox.WorkerLog);
            await listener.DisposeAsync();
            await sandbox.DisposeAsync();
            throw;
        }
    }

    private static ChannelConnection Host
    {
        get
        {
            if (_host is null)
            {
                Assert.Inconclusive("Sandboxed worker tests skipped: " + (GuestSandbox.Unavailable() ?? "the guest did not start"));
            }

            return _host;
        }
    }

    private static GuestSandbox Sandbox => _sandbox!;

    private static GuestPasswordCredential As(string user) => new(user, Users[user].Password);

    private CancellationToken Ct => TestContext.CancellationToken;

    /// <summary>The host-side path of a guest path under /tmp, /home or /root.</summary>
    private static string OnHost(string guestPath) => Sandbox.Root + guestPath;

    private async Task<T> OkAsync<T>(IChannelRequest<T> request)
        where T : ChannelResult
    {
        var response = await Host.SendAsync((ChannelRequest)request, Ct);
        Assert.IsNull(response.Error, $"{((ChannelRequest)request).Operation}: {response.Error?.Code} {response.Error?.Message}");
        return (T)response.Result!;
    }

    private async Task<GuestError> FailsAsync(ChannelRequest request)
    {
        var response = await Host.SendAsync(request, Ct);
        Assert.IsNotNull(response.Error, $"{request.Operation} should have failed");
        return response.Error;
    }

    private async Task<GuestProcessEntry> WaitForExitAsync(string user, long pid)
    {
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        limit.CancelAfter(TimeSpan.FromSeconds(50));
        while (true)
        {
            var list = await OkAsync(new ListProcessesRequest { Pids = [pid], Credential = As(user) });
            var entry = list.Processes.Single(p => p.Pid == pid);
            if (entry.ExitCode is not null)
            {
                return entry;
            }

            await Task.Delay(25, limit.Token);
        }
    }

    private async Task<string> RunShellAsync(string user, string script, string? workingDirectory = null)
    {
        var output = $"/tmp/out-{Guid.NewGuid():N}";
        var pid = (await OkAsync(new StartProgramRequest
        {
            ProgramPath = "/bin/sh",
            Arguments = $"-c '{script}' > {output} 2>&1",
            WorkingDirectory = workingDirectory,
            Credential = As(user),
        })).Pid;
        var ended = await WaitForExitAsync(user, pid);
        var text = await File.ReadAllTextAsync(OnHost(output), Ct);
        Assert.AreEqual(0, ended.ExitCode, text);
        return text;
    }

    [TestMethod]
    [Timeout(60_000, CooperativeCancellation = true)]
    public void EveryOperation_IsAdvertised()
    {
        foreach (var method in GuestMethods.All)
        {
            Assert.IsTrue(Host.PeerSupports(method.Capability), method.Name);
        }
    }

    [TestMethod]
    [Timeout(60_000, CooperativeCancellation = true)]
    public async Task FileOperations_RunAsTheUser_AndTheGuestKernelDecides()
    {
        // Alice works in her home; what she creates is hers.
        await OkAsync(new MakeDirectoryRequest { Path = "/home/alice/work/a/b", CreateParents = true, Credential = As("alice") });
        Assert.AreEqual(1001u, HostStat(OnHost("/home/alice/work/a/b")).Uid);

        // Bob cannot even look into alice's 0700 home.
        foreach (var request in new ChannelRequest[]
                 {
                     new MakeDirectoryRequest { Path = "/home/alice/bobs", Credential = As("bob") },
                     new DeleteFileRequest { Path = "/home/alice/secret.txt", Credential = As("bob") },
                     new DeleteDirectoryRequest { Path = "/home/alice/work", Recursive = true, Credential = As("bob") },
                     new MoveFileRequest { Source = "/home/alice/secret.txt", Destination = "/tmp/stolen", Credential = As("bob") },
                     new ChangeFileAttributesRequest { Path = "/home/alice/secret.txt", Attributes = new() { Permissions = 0x1FF }, Credential = As("bob") },
                 })
        {
            var denied = await FailsAsync(request);
            Assert.AreEqual(GuestErrorCode.PermissionDenied, denied.Code, $"{request.Operation}: {denied.Message}");
            Assert.IsNotNull(denied.Path);
        }

        Assert.IsTrue(File.Exists(OnHost("/home/alice/secret.txt")));

        // In the shared sticky /tmp bob sees alice's things but may not remove, rename or change them.
        await OkAsync(new MakeDirectoryRequest { Path = "/tmp/alice-dir/sub", CreateParents = true, Credential = As("alice") });
        var file = (await OkAsync(new CreateTemporaryFileRequest { Directory = "/tmp/alice-dir", Prefix = "f-", Credential = As("alice") })).Path;
        Assert.AreEqual(GuestErrorCode.PermissionDenied, (await FailsAsync(new DeleteFileRequest { Path = file, Credential = As("bob") })).Code);
        Assert.AreEqual(GuestErrorCode.PermissionDenied, (await FailsAsync(new DeleteDirectoryRequest { Path = "/tmp/alice-dir", Recursive = true, Credential = As("bob") })).Code);
        Assert.AreEqual(GuestErrorCode.PermissionDenied, (await FailsAsync(new MoveDirectoryRequest { Source = "/tmp/alice-dir", Destination = "/tmp/bobs-now", Credential = As("bob") })).Code);
        Assert.AreEqual(GuestErrorCode.PermissionDenied, (await FailsAsync(new ChangeFileAttributesRequest { Path = file, Attributes = new() { ModificationTime = DateTimeOffset.UnixEpoch }, Credential = As("bob") })).Code);
        Assert.IsTrue(File.Exists(OnHost(file)));

        // A non-root user cannot give a file away; root can.
        var chown = await FailsAsync(new ChangeFileAttributesRequest { Path = file, Attributes = new() { OwnerId = 1002 }, Credential = As("alice") });
        Assert.AreEqual(GuestErrorCode.PermissionDenied, chown.Code);
        Assert.AreEqual(file, chown.Path);
        await OkAsync(new ChangeFileAttributesRequest { Path = file, Attributes = new() { OwnerId = 1002, GroupId = 1002, Permissions = 0x1A4 }, Credential = As("root") });
        var st = HostStat(OnHost(file));
        Assert.AreEqual(1002u, st.Uid);
        Assert.AreEqual(1002u, st.Gid);
        Assert.AreEqual(0x81A4u, st.Mode);

        // Alice's own operations work: move within /tmp, then delete the tree recursively (bob's file inside included:
        // the directory is hers).
        await OkAsync(new MoveFileRequest { Source = file, Destination = "/tmp/alice-dir/sub/moved", Credential = As("alice") });
        await OkAsync(new MoveDirectoryRequest { Source = "/tmp/alice-dir", Destination = "/tmp/alice-dir2", Credential = As("alice") });
        Assert.AreEqual(GuestErrorCode.DirectoryNotEmpty, (await FailsAsync(new DeleteDirectoryRequest { Path = "/tmp/alice-dir2", Credential = As("alice") })).Code);
        await OkAsync(new DeleteDirectoryRequest { Path = "/tmp/alice-dir2", Recursive = true, Credential = As("alice") });
        Assert.IsFalse(Directory.Exists(OnHost("/tmp/alice-dir2")));
    }

    [TestMethod]
    [Timeout(60_000, CooperativeCancellation = true)]
    public async Task Moves_BetweenGuestMounts_CopyAndKeepTheUsersOwnership()
    {
        // /tmp and /home are different mounts in the guest: rename(2) says EXDEV, the worker copies.
        var file = (await OkAsync(new CreateTemporaryFileRequest { Directory = "/tmp", Prefix = "xdev-", Credential = As("alice") })).Path;
        await File.WriteAllTextAsync(OnHost(file), "payload", Ct);
        await OkAsync(new MoveFileRequest { Source = file, Destination = "/home/alice/xdev-file", Credential = As("alice") });
        Assert.IsFalse(File.Exists(OnHost(file)));
        Assert.AreEqual("payload", await File.ReadAllTextAsync(OnHost("/home/alice/xdev-file"), Ct));
        Assert.AreEqual(1001u, HostStat(OnHost("/home/alice/xdev-file")).Uid);
        Assert.AreEqual(0x8180u, HostStat(OnHost("/home/alice/xdev-file")).Mode, "permissions kept (0600)");

        await OkAsync(new MakeDirectoryRequest { Path = "/tmp/xdev-dir/inner", CreateParents = true, Credential = As("alice") });
        await OkAsync(new MoveDirectoryRequest { Source = "/tmp/xdev-dir", Destination = "/home/alice/xdev-dir", Credential = As("alice") });
        Assert.IsTrue(Directory.Exists(OnHost("/home/alice/xdev-dir/inner")));
        Assert.IsFalse(Directory.Exists(OnHost("/tmp/xdev-dir")));

        // Bob may not move alice's file out of the sticky /tmp, not even by copying.
        var hers = (await OkAsync(new CreateTemporaryFileRequest { Directory = "/tmp", Credential = As("alice") })).Path;
        File.SetUnixFileMode(OnHost(hers), (UnixFileMode)0x1A4); // 0644: bob can read it
        var denied = await FailsAsync(new MoveFileRequest { Source = hers, Destination = "/home/bob/taken", Credential = As("bob") });
        Assert.AreEqual(GuestErrorCode.PermissionDenied, denied.Code);
        Assert.IsTrue(File.Exists(OnHost(hers)));
        Assert.IsFalse(File.Exists(OnHost("/home/bob/taken")), "a failed move leaves no copy behind");
    }

    [TestMethod]
    [Timeout(60_000, CooperativeCancellation = true)]
    public async Task CreateTemporary_DefaultsToTheUsersSafeDirectory_0600File_0700Directory_OwnedByTheUser()
    {
        var file = (await OkAsync(new CreateTemporaryFileRequest { Prefix = "govmomi-", Suffix = ".sh", Credential = As("alice") })).Path;
        StringAssert.StartsWith(file, "/tmp/vmware-alice/govmomi-");
        StringAssert.EndsWith(file, ".sh");
        var st = HostStat(OnHost(file));
        Assert.AreEqual(0x8180u, st.Mode, "a regular file, 0600");
        Assert.AreEqual(1001u, st.Uid);
        Assert.AreEqual(1001u, st.Gid);
        var home = HostStat(OnHost("/tmp/vmware-alice"));
        Assert.AreEqual(0x41C0u, home.Mode, "the per-user directory is 0700");
        Assert.AreEqual(1001u, home.Uid);

        var dir = (await OkAsync(new CreateTemporaryDirectoryRequest { Credential = As("bob") })).Path;
        StringAssert.StartsWith(dir, "/tmp/vmware-bob/");
        st = HostStat(OnHost(dir));
        Assert.AreEqual(0x41C0u, st.Mode, "a directory, 0700");
        Assert.AreEqual(1002u, st.Uid);

        Assert.AreEqual(GuestErrorCode.FileNotFound, (await FailsAsync(new CreateTemporaryFileRequest { Directory = "/nonexistent", Credential = As("alice") })).Code);
        Assert.AreEqual(GuestErrorCode.NotADirectory, (await FailsAsync(new CreateTemporaryFileRequest { Directory = file, Credential = As("alice") })).Code);
        Assert.AreEqual(GuestErrorCode.PermissionDenied, (await FailsAsync(new CreateTemporaryFileRequest { Directory = "/home/alice", Credential = As("bob") })).Code);
    }

    [TestMethod]
    [Timeout(60_000, CooperativeCancellation = true)]
    public async Task StartProgram_RunsAsTheUser_WithAllIdsDropped_NoCapabilities_InTheHome_WithALoginEnvironment()
    {
        var facts = await RunShellAsync("alice", "id -u; id -g; pwd; grep -E \"^(Uid|Gid|Cap(Inh|Prm|Eff|Amb)):\" /proc/self/status; env");
        var lines = facts.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.AreEqual("1001", lines[0], "id -u is the user's uid");
        Assert.AreEqual("1001", lines[1]);
        Assert.AreEqual("/home/alice", lines[2], "the default working directory is the home");
        Assert.Contains("Uid:\t1001\t1001\t1001\t1001", lines, "real, effective, saved and fs uid are all the user's");
        Assert.Contains("Gid:\t1001\t1001\t1001\t1001", lines);
        foreach (var set in new[] { "CapInh", "CapPrm", "CapEff", "CapAmb" })
        {
            Assert.Contains(set + ":\t0000000000000000", lines, facts);
        }

        Assert.Contains("HOME=/home/alice", lines);
        Assert.Contains("USER=alice", lines);
        Assert.Contains("LOGNAME=alice", lines);
        Assert.Contains("PATH=/usr/local/bin:/usr/bin:/bin", lines);
        Assert.IsFalse(lines.Any(l => l.StartsWith("DOTNET_", StringComparison.Ordinal)), "the worker's own environment never leaks: " + facts);

        var rootFacts = await RunShellAsync("root", "id -u; pwd", workingDirectory: "/tmp");
        CollectionAssert.AreEqual(new[] { "0", "/tmp" }, rootFacts.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [TestMethod]
    [Timeout(60_000, CooperativeCancellation = true)]
    public async Task StartProgram_IdWrittenToAFile_EqualsTheUsersUid()
    {
        var pid = (await OkAsync(new StartProgramRequest { ProgramPath = "/usr/bin/id", Arguments = "-u > /tmp/bob-uid", Credential = As("bob") })).Pid;
        Assert.AreEqual(0, (await WaitForExitAsync("bob", pid)).ExitCode);
        Assert.AreEqual("1002", (await File.ReadAllTextAsync(OnHost("/tmp/bob-uid"), Ct)).Trim());
        Assert.AreEqual(1002u, HostStat(OnHost("/tmp/bob-uid")).Uid);
    }

    [TestMethod]
    [Timeout(60_000, CooperativeCancellation = true)]
    public async Task StartProgram_Faults()
    {
        var missing = await FailsAsync(new StartProgramRequest { ProgramPath = "/usr/bin/no-such-program", Credential = As("alice") });
        Assert.AreEqual(GuestErrorCode.FileNotFound, missing.Code);
        Assert.AreEqual("/usr/bin/no-such-program", missing.Path);
        Assert.AreEqual(GuestErrorCode.InvalidArgument, (await FailsAsync(new StartProgramRequest { ProgramPath = "sh", Credential = As("alice") })).Code);
        Assert.AreEqual(GuestErrorCode.PermissionDenied, (await FailsAsync(new StartProgramRequest { ProgramPath = "/home/alice/secret.txt", Credential = As("bob") })).Code);
        Assert.AreEqual(GuestErrorCode.FileAccessError, (await FailsAsync(new StartProgramRequest { ProgramPath = "/home/alice/secret.txt", Credential = As("alice") })).Code);
        var noHome = await FailsAsync(new StartProgramRequest { ProgramPath = "/bin/true", WorkingDirectory = "/home/alice", Credential = As("bob") });
        Assert.AreEqual(GuestErrorCode.PermissionDenied, noHome.Code);
        Assert.AreEqual("/home/alice", noHome.Path);
        Assert.AreEqual(GuestErrorCode.FileNotFound, (await FailsAsync(new StartProgramRequest { ProgramPath = "/bin/true", WorkingDirectory = "/nope", Credential = As("bob") })).Code);
        Assert.AreEqual(GuestErrorCode.NotADirectory, (await FailsAsync(new StartProgramRequest { ProgramPath = "/bin/true", WorkingDirectory = "/bin/true", Credential = As("bob") })).Code);
        Assert.AreEqual(GuestErrorCode.InvalidLogin, (await FailsAsync(new StartProgramRequest { ProgramPath = "/bin/true", Credential = new GuestPasswordCredential("bob", "wrong") })).Code);
    }

    [TestMethod]
    [Timeout(60_000, CooperativeCancellation = true)]
    public async Task ExitCodes_Listing_AndTerminate_AsVSphereClientsSeeThem()
    {
        // sh -c 'exit 3': listed with exit code 3 and an end time.
        var quick = (await OkAsync(new StartProgramRequest { ProgramPath = "/bin/sh", Arguments = "-c 'exit 3'", Credential = As("alice") })).Pid;
        var ended = await WaitForExitAsync("alice", quick);
        Assert.AreEqual(3, ended.ExitCode);
        Assert.IsNotNull(ended.EndTime);
        Assert.AreEqual("alice", ended.Owner);
        Assert.AreEqual("\"/bin/sh\" -c 'exit 3'", ended.CommandLine);

        // sleep 300: running, no exit code and no end time.
        var sleeper = (await OkAsync(new StartProgramRequest { ProgramPath = "/bin/sleep", Arguments = "300", Credential = As("alice") })).Pid;
        var running = (await OkAsync(new ListProcessesRequest { Pids = [sleeper], Credential = As("alice") })).Processes.Single();
        Assert.IsNull(running.ExitCode);
        Assert.IsNull(running.EndTime);
        Assert.AreEqual("alice", running.Owner);
        Assert.AreEqual("/bin/sleep", running.Name);
        Assert.AreEqual("\"/bin/sleep\" 300", running.CommandLine);

        // Everyone sees all processes (like ps): bob sees the worker (root) and alice's sleep.
        var all = (await OkAsync(new ListProcessesRequest { Credential = As("bob") })).Processes;
        Assert.IsTrue(all.Any(p => p.Pid == sleeper && p.ExitCode is null));
        Assert.IsTrue(all.Any(p => p.Pid == quick && p.ExitCode == 3), "recently exited programs are listed too");
        Assert.IsTrue(all.Any(p => p.Owner == "root" && p.CommandLine.Contains("guestops-tools", StringComparison.Ordinal)), string.Join('\n', all.Select(p => $"{p.Pid} {p.Owner} {p.CommandLine}")));
        Assert.IsTrue(all.All(p => p.StartTime > DateTimeOffset.UtcNow.AddDays(-30) && p.StartTime <= DateTimeOffset.UtcNow.AddMinutes(1)));

        // Bob may not terminate alice's program; an unknown pid is NoSuchProcess; both name the pid.
        var denied = await FailsAsync(new TerminateProcessRequest { Pid = sleeper, Credential = As("bob") });
        Assert.AreEqual(GuestErrorCode.PermissionDenied, denied.Code);
        Assert.AreEqual(sleeper, denied.Pid);
        var unknown = await FailsAsync(new TerminateProcessRequest { Pid = 3_999_999, Credential = As("alice") });
        Assert.AreEqual(GuestErrorCode.NoSuchProcess, unknown.Code);
        Assert.AreEqual(3_999_999L, unknown.Pid);

        // Alice terminates it: afterwards it is listed as ended, with an end time and an exit code.
        await OkAsync(new TerminateProcessRequest { Pid = sleeper, Credential = As("alice") });
        var terminated = (await OkAsync(new ListProcessesRequest { Pids = [sleeper], Credential = As("alice") })).Processes.Single();
        Assert.AreEqual(143, terminated.ExitCode);
        Assert.IsNotNull(terminated.EndTime);

        // A root-owned process is beyond alice; root may terminate anything but the agent.
        var rootSleeper = (await OkAsync(new StartProgramRequest { ProgramPath = "/bin/sleep", Arguments = "300", Credential = As("root") })).Pid;
        Assert.AreEqual(GuestErrorCode.PermissionDenied, (await FailsAsync(new TerminateProcessRequest { Pid = rootSleeper, Credential = As("alice") })).Code);
        await OkAsync(new TerminateProcessRequest { Pid = rootSleeper, Credential = As("root") });
    }

    [TestMethod]
    [Timeout(60_000, CooperativeCancellation = true)]
    public async Task ReadEnvironment_IsTheUsersStartEnvironment_NotTheWorkers()
    {
        var all = (await OkAsync(new ReadEnvironmentRequest { Credential = As("alice") })).Variables;
        Assert.Contains("HOME=/home/alice", all);
        Assert.Contains("USER=alice", all);
        Assert.Contains("SHELL=/bin/sh", all);
        Assert.IsFalse(all.Any(v => v.StartsWith("DOTNET_", StringComparison.Ordinal)), string.Join(", ", all));

        var some = (await OkAsync(new ReadEnvironmentRequest { Names = ["HOME", "NOPE", "PATH"], Credential = As("root") })).Variables;
        CollectionAssert.AreEqual(new[] { "HOME=/root", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" }, some.ToList());
    }

    /// <summary>
    /// The sandbox provider's capability mode (no user namespace): bubblewrap keeps the worker's capabilities in the
    /// ambient set, which execve passes on. A user's program must still get none of them.
    /// </summary>
    [TestMethod]
    [Timeout(60_000, CooperativeCancellation = true)]
    public async Task StartProgram_InTheProvidersCapabilityMode_GivesTheUserNoCapabilities()
    {
        _ = Host; // inconclusive without the sandbox
        var caps = new[] { "CAP_SETUID", "CAP_SETGID", "CAP_CHOWN", "CAP_FOWNER", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_KILL", "CAP_AUDIT_WRITE" };
        var options = new List<string> { "--cap-drop", "ALL" };
        foreach (var cap in caps)
        {
            options.AddRange(["--cap-add", cap]);
        }

        var (sandbox, listener, host) = await StartSandboxAsync("guest-caps-vm", options, Ct);
        await using var _s = sandbox;
        await using var _l = listener;
        await using var _h = host;
        try
        {
            var start = await host.InvokeAsync(new StartProgramRequest
            {
                ProgramPath = "/bin/sh",
                Arguments = "-c 'grep -E \"^(Uid|Cap(Inh|Prm|Eff|Amb)):\" /proc/self/status; /usr/bin/setpriv --reuid=0 /usr/bin/id -u' > /tmp/caps 2>&1",
                Credential = As("alice"),
            }, Ct);
            using var limit = CancellationTokenSource.CreateLinkedTokenSource(Ct);
            limit.CancelAfter(TimeSpan.FromSeconds(50));
            GuestProcessEntry entry;
            do
            {
                await Task.Delay(25, limit.Token);
                entry = (await host.InvokeAsync(new ListProcessesRequest { Pids = [start.Pid], Credential = As("alice") }, Ct)).Processes.Single();
            }
            while (entry.ExitCode is null);

            var lines = (await File.ReadAllTextAsync(Path.Combine(sandbox.Root, "tmp", "caps"), Ct)).Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Contains("Uid:\t1001\t1001\t1001\t1001", lines);
            foreach (var set in new[] { "CapInh", "CapPrm", "CapEff", "CapAmb" })
            {
                Assert.Contains(set + ":\t0000000000000000", lines, string.Join('\n', lines));
            }

            Assert.DoesNotContain("0", lines, "the program cannot become root");
            Assert.AreNotEqual(0, entry.ExitCode);
        }
        catch
        {
            Console.WriteLine(sandbox.WorkerLog);
            throw;
        }
    }

    private static FileStatus HostStat(string path)
    {
        Assert.AreEqual(0, PosixFs.Stat(LibC.AT_FDCWD, LibC.Utf8Z(path), follow: false, out var st), path);
        return st;
    }
}
