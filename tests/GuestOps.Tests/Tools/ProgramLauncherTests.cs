using GuestOps.Tools.Native;
using GuestOps.Tools.Processes;

namespace GuestOps.Tests.Tools;

/// <summary>
/// A program whose command line the shell would only exec is started without the shell, with exactly the argv and
/// environment the shell would have given it; everything else still goes through the shell.
/// </summary>
[TestClass]
[DoNotParallelize] // ProgramLauncher's test switches are process-wide (ProcessOperationsTests sets one too)
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class ProgramLauncherTests
{
    private const string Program = "/bin/sleep";

    /// <summary>What /proc shows as the program's executable (/bin is a link to /usr/bin on merged-/usr systems).</summary>
    private static readonly string ProgramFile = Resolved(Program);

    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    public void DirectArguments_PlainWords_AreSplitOnBlanks()
    {
        CollectionAssert.AreEqual(Array.Empty<string>(), ProgramLauncher.DirectArguments(""));
        CollectionAssert.AreEqual(Array.Empty<string>(), ProgramLauncher.DirectArguments(" \t "));
        CollectionAssert.AreEqual(new[] { "30", "-v", "--mode=a,b", "/tmp/x.y", "user@host:1%+" },
            ProgramLauncher.DirectArguments(" 30\t-v  --mode=a,b /tmp/x.y user@host:1%+ "));
    }

    [TestMethod]
    [DataRow("'a b'")]
    [DataRow("\"a\"")]
    [DataRow("a\\ b")]
    [DataRow("$HOME")]
    [DataRow("`id`")]
    [DataRow("*.txt")]
    [DataRow("a?")]
    [DataRow("[ab]")]
    [DataRow("{a,b}")]
    [DataRow("~")]
    [DataRow("x #comment")]
    [DataRow("a; b")]
    [DataRow("a && b")]
    [DataRow("a | b")]
    [DataRow("> out")]
    [DataRow("< in")]
    [DataRow("(a)")]
    [DataRow("!a")]
    [DataRow("a\nb")]
    [DataRow("café")]
    [DataRow("a^b")]
    public void DirectArguments_AnythingTheShellWouldInterpret_GoesThroughTheShell(string arguments) =>
        Assert.IsNull(ProgramLauncher.DirectArguments(arguments), arguments);

    [TestMethod]
    public void DirectEnvironment_AddsWhatBashAdds_AndKeepsAPwdNamingTheWorkingDirectory()
    {
        var env = ProgramLauncher.DirectEnvironment(["HOME=/root", "PWD=/tmp", "_=/x"], Program, "/tmp");
        CollectionAssert.AreEqual(new[] { "HOME=/root", "PWD=/tmp", "SHLVL=0", "_=" + Program }, env);

        // Another PWD: the shell keeps it when it leads to the same directory (a symbolic link) and replaces it otherwise.
        Assert.IsNull(ProgramLauncher.DirectEnvironment(["PWD=/usr"], Program, "/tmp"));
    }

    [TestMethod]
    [DataRow("BASH_ENV=/tmp/rc")]
    [DataRow("ENV=/tmp/rc")]
    [DataRow("SHELLOPTS=xtrace")]
    [DataRow("BASHOPTS=extglob")]
    [DataRow("SHLVL=3")]
    [DataRow("OLDPWD=/nonexistent")]
    [DataRow("IFS=:")]
    [DataRow("BASH_FUNC_x%%=() { :; }")]
    [DataRow("A-B=1")]
    [DataRow("=x")]
    [DataRow("NOEQUALS")]
    [DataRow("HOME=/twice")]
    [DataRow("SSH_CLIENT=10.0.0.1 22 22")]
    [DataRow("OPTIND=3")]
    [DataRow("RANDOM=4")]
    [DataRow("POSIX_PEDANTIC=1")]
    [DataRow("HISTFILE=/tmp/h")]
    public void DirectEnvironment_WhatTheShellActsOn_GoesThroughTheShell(string entry) =>
        Assert.IsNull(ProgramLauncher.DirectEnvironment(["HOME=/root", "PWD=/tmp", entry], Program, "/tmp"), entry);

    /// <summary>The same start both ways, compared by what the kernel shows of the running program.</summary>
    [TestMethod]
    [Timeout(60_000, CooperativeCancellation = true)]
    [DataRow("30", "PWD")]
    [DataRow("30  2.5\t1", "PWD")]
    [DataRow("30", "NO-PWD")]
    [DataRow("30", "UNDERSCORE")]
    public async Task DirectStart_GivesTheProgramWhatTheShellWould(string arguments, string environment)
    {
        RequireRoot();
        if (ProgramLauncher.Shell() != ProgramLauncher.BashPath)
        {
            Assert.Inconclusive("No bash here: every program goes through /bin/sh.");
        }

        var dir = Directory.CreateTempSubdirectory("guestops-launch-").FullName;
        var linked = dir + "-link";
        File.CreateSymbolicLink(linked, dir); // the shell's PWD is the physical directory when none names it
        try
        {
            List<string> env = environment switch
            {
                "PWD" => ["HOME=/root", "PATH=/usr/bin:/bin", "PWD=" + linked, "LANG=C.UTF-8"],
                "NO-PWD" => ["HOME=/root", "PATH=/usr/bin:/bin"],
                _ => ["HOME=/root", "_=/somewhere/else"],
            };
            Assert.IsNotNull(ProgramLauncher.DirectArguments(arguments));
            Assert.IsNotNull(ProgramLauncher.DirectEnvironment(env, Program, linked));

            var direct = await StartAsync(arguments, linked, env, direct: true);
            var shell = await StartAsync(arguments, linked, env, direct: false);
            Assert.AreEqual(shell.CommandLine, direct.CommandLine, $"shell [{shell.CommandLine.Replace('\0', '|')}] direct [{direct.CommandLine.Replace('\0', '|')}]");
            CollectionAssert.AreEquivalent(shell.Environment, direct.Environment,
                $"shell: {string.Join(' ', shell.Environment)}\ndirect: {string.Join(' ', direct.Environment)}");
            Assert.AreEqual(1, direct.Processes, "started directly: no shell process before the program");
        }
        finally
        {
            File.Delete(linked);
            Directory.Delete(dir, recursive: true);
        }
    }

    [TestMethod]
    [Timeout(60_000, CooperativeCancellation = true)]
    public async Task AScriptWithoutAnInterpreterLine_RefusedByExec_RunsThroughTheShell()
    {
        RequireRoot();
        var dir = Directory.CreateTempSubdirectory("guestops-launch-").FullName;
        try
        {
            var script = Path.Combine(dir, "script");
            File.WriteAllText(script, "echo ran > \"$PWD/out\"\n"); // no #!: execve answers ENOEXEC, a shell runs it
            File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserExecute);
            Assert.AreEqual(0, ProgramLauncher.Spawn(script, "", dir, ["PWD=" + dir, "PATH=/usr/bin:/bin"], out var pid));
            Assert.IsTrue(pid > 0);
            var output = Path.Combine(dir, "out");
            var deadline = DateTime.UtcNow.AddSeconds(10);
            while (!File.Exists(output) && DateTime.UtcNow < deadline)
            {
                await Task.Delay(20, TestContext.CancellationToken);
            }

            Assert.AreEqual("ran", File.ReadAllText(output).Trim());
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static void RequireRoot()
    {
        if (LibC.geteuid() != 0)
        {
            Assert.Inconclusive("Starts programs as the root guest user.");
        }
    }

    private sealed record Started(string CommandLine, string[] Environment, int Processes);

    /// <summary>Starts <see cref="Program"/> with <paramref name="arguments"/>, waits until the program itself runs under
    /// the returned pid (the shell has exec'ed it), reads its command line and environment, and kills it.</summary>
    private async Task<Started> StartAsync(string arguments, string directory, List<string> environment, bool direct)
    {
        ProgramLauncher.UseDirectSpawn = direct;
        int pid;
        try
        {
            Assert.AreEqual(0, ProgramLauncher.Spawn(Program, arguments, directory, environment, out pid));
        }
        finally
        {
            ProgramLauncher.UseDirectSpawn = true;
        }

        try
        {
            var execs = 0;
            var deadline = DateTime.UtcNow.AddSeconds(10);
            string exe;
            var last = "";
            while ((exe = ReadLink($"/proc/{pid}/exe")) != ProgramFile && DateTime.UtcNow < deadline)
            {
                if (exe != last)
                {
                    execs++;
                    last = exe;
                }

                await Task.Delay(5, TestContext.CancellationToken);
            }

            Assert.AreEqual(ProgramFile, exe);
            string commandLine;
            while ((commandLine = File.ReadAllText($"/proc/{pid}/cmdline")).Length == 0 && DateTime.UtcNow < deadline)
            {
                await Task.Delay(5, TestContext.CancellationToken); // spawn returns while the kernel still sets up the exec
            }

            var env = File.ReadAllText($"/proc/{pid}/environ").Split('\0', StringSplitOptions.RemoveEmptyEntries);
            return new Started(commandLine, env, execs + 1);
        }
        finally
        {
            _ = LibC.kill(pid, LibC.SIGKILL);
            WaitPid(pid);
        }
    }

    private static string Resolved(string path)
    {
        var file = new FileInfo(path);
        var directory = file.Directory!.ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? file.DirectoryName!;
        var combined = Path.Combine(directory, file.Name);
        return new FileInfo(combined).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? combined;
    }

    private static string ReadLink(string path)
    {
        try
        {
            return new FileInfo(path).LinkTarget ?? "";
        }
        catch (IOException)
        {
            return "";
        }
    }

    /// <summary>Collects the killed child, as the worker's reaper does.</summary>
    private static void WaitPid(int pid)
    {
        using var reaper = new StartedPrograms();
        reaper.Add(new StartedPrograms.Program(pid, Program, "root", Program, DateTimeOffset.UtcNow));
        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (reaper.IsRunning(pid) && DateTime.UtcNow < deadline)
        {
            reaper.Reap();
            Thread.Sleep(5);
        }
    }
}
