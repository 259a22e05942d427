using System.Runtime.Versioning;
using GuestOps.IntegrationTests.Infrastructure;

namespace GuestOps.IntegrationTests;

/// <summary>
/// Every <c>sh</c> and <c>python</c> block of README.md, run as a reader pastes it against a real server on its
/// embedded default (the two sandboxed demo VMs), with only what the reader fills in replaced: the port (8443 becomes
/// the test server's), the placeholders <c>&lt;password&gt;</c> / <c>&lt;printed password&gt;</c> (root's vSphere
/// password) and <c>&lt;guest password&gt;</c>, and <c>sudo</c> given the test's own state directory. A block this test
/// does not know fails it, so a new example cannot go untested; a block that cannot run here is listed with the reason.
/// </summary>
[TestClass]
[SupportedOSPlatform("linux")]
public sealed class ReadmeExamplesTests : IntegrationTest
{
    private static readonly TimeSpan StepTimeout = TimeSpan.FromMinutes(6);

    private static readonly IReadOnlyDictionary<string, string> NoVariables = new Dictionary<string, string>();

    [TestMethod]
    [Timeout(1_200_000)] // builds and installs the guestops tool from a clone
    public async Task EveryShellAndPythonExample_WorksAgainstTheEmbeddedDefault()
    {
        if (Environment.UserName != "root")
        {
            Assert.Inconclusive("README.md's examples use the sandboxed demo VMs and sudo, which need root (as .ci/run runs the tests).");
        }

        var blocks = Readme.Blocks().Where(b => b.Language is "sh" or "python").ToList();
        var python = blocks.Where(b => b.Language == "python").ToList();
        var runCommands = Pick(blocks, b => b.Commands.Any(Readme.IsRunCommand));
        var testCommand = Pick(blocks, b => b.Commands.Any(c => c.StartsWith("dotnet test GuestOps.sln", StringComparison.Ordinal))).Single();
        var govc = Pick(blocks, b => b.Commands.Any(c => c.StartsWith("govc ", StringComparison.Ordinal))).Single();
        var install = Pick(blocks, b => b.Commands.Any(c => c.StartsWith("dotnet tool install", StringComparison.Ordinal))).Single();
        var cli = Pick(blocks, b => b.Commands.Any(c => c.StartsWith("guestops login", StringComparison.Ordinal))).Single();
        var admin = Pick(blocks, b => b.Commands.Any(c => c.Contains("GuestOps.Server.dll user add", StringComparison.Ordinal))).Single();
        var known = runCommands.Concat(python).Append(testCommand).Append(govc).Append(install).Append(cli).Append(admin).ToHashSet();
        var unknown = blocks.Where(b => !known.Contains(b)).ToList();
        Assert.IsEmpty(unknown, $"README.md has examples this test does not run; add them here:{Environment.NewLine}{string.Join(Environment.NewLine, unknown)}");
        Assert.HasCount(2, python, "the pyVmomi session and its continuation");

        foreach (var block in runCommands)
        {
            NotRunHere(block, "the run commands: FreshCloneTests runs them on a fresh clone");
        }

        NotRunHere(testCommand, "the test command: this is the suite it starts (.ci/run runs it)");

        var parent = Directory.CreateTempSubdirectory("guestops-readme-").FullName;
        try
        {
            File.SetUnixFileMode(parent, (UnixFileMode)0b111_101_101);
            await using var guest = await GuestServer.StartAsync(readyTimeout: TimeSpan.FromMinutes(2), startTimeout: TimeSpan.FromMinutes(2));
            var port = guest.Server.Port;
            var root = guest.Server.RootPassword!;

            // pyVmomi: the second block continues the first one's session.
            var script = Fill(string.Join(Environment.NewLine, python.Select(b => b.Text)), port, root)
                .Replace("port=8443", $"port={port}", StringComparison.Ordinal);
            var scriptPath = Path.Combine(parent, "readme.py");
            await File.WriteAllTextAsync(scriptPath, script);
            var py = await RunAsync(PyVmomiRun.Python, [scriptPath], parent, NoVariables);
            AssertExitCode(0, py, "the pyVmomi examples");
            Assert.Contains("demo-vm-1 poweredOn True", py.StandardOutput, py.ToString());
            Assert.Contains("['.', '..'", py.StandardOutput, "ListFilesInGuest of /home/demo: " + py);
            Assert.Contains("b'hello\\n'", py.StandardOutput, py.ToString());
            Assert.Contains("exit code 0", py.StandardOutput, py.ToString());

            if (FindOnPath("govc") is null)
            {
                NotRunHere(govc, "govc is not installed: Debian 12 does not package it (`apt-cache policy govc` has no candidate) and "
                    + "nothing is downloaded from outside the package registries here; govc's own requests are replayed from "
                    + "tests/fixtures/wire-captures/govc by WireCaptureReplayTests");
            }
            else
            {
                var run = await RunAsync("/bin/bash", ["-e", "-c", Fill(govc.Text, port, root)], parent, NoVariables);
                AssertExitCode(0, run, govc.ToString());
                Assert.Contains("demo-vm-1", run.StandardOutput, run.ToString());
                Assert.AreEqual("hello\n", await File.ReadAllTextAsync(Path.Combine(parent, "copy.txt")), run.ToString());
            }

            // The command line: packed and installed from a clone (a HOME of its own, so the user's tools stay as they are),
            // then every command of the guestops block, run where a reader runs it: the repository root of that clone.
            var clone = Path.Combine(parent, "GuestOps");
            var home = Path.Combine(parent, "home");
            Directory.CreateDirectory(home);
            var git = await RunAsync("git", ["clone", "--quiet", RepositoryLayout.RepositoryRoot, clone], parent, NoVariables);
            AssertExitCode(0, git, "git clone");
            var shell = new Dictionary<string, string>
            {
                ["HOME"] = home,
                ["NUGET_PACKAGES"] = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } packages
                    ? packages
                    : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages"),
                ["PATH"] = $"{Path.Combine(home, ".dotnet", "tools")}:{Environment.GetEnvironmentVariable("PATH")}",
                ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1",
                ["DOTNET_NOLOGO"] = "1",
                ["DOTNET_SKIP_FIRST_TIME_EXPERIENCE"] = "1",
            };
            var installed = await RunAsync("/bin/bash", ["-e", "-c", install.Text], clone, shell);
            AssertExitCode(0, installed, install.ToString());

            var cliEnvironment = new Dictionary<string, string>(shell)
            {
                ["GUESTOPS_PASSWORD"] = root,
                ["GUESTOPS_GUEST_PASSWORD"] = GuestServer.GuestPassword,
            };
            var commands = "trap 'echo \"README example failed with $?: $BASH_COMMAND\" >&2' ERR" + Environment.NewLine + Fill(cli.Text, port, root);
            var guestops = await RunAsync("/bin/bash", ["-c", commands], clone, cliEnvironment);
            TestContext.WriteLine(guestops.ToString());
            var failed = guestops.StandardError.Split('\n').Where(l => l.StartsWith("README example failed", StringComparison.Ordinal)).ToList();
            Assert.HasCount(1, failed, $"only the example that exits 7 on purpose fails:{Environment.NewLine}{guestops}");
            Assert.StartsWith("README example failed with 7: guestops run -- sh -c", failed[0], guestops.ToString());
            var lines = guestops.StandardOutput.Split('\n');
            CollectionAssert.IsSubsetOf(new[] { "out", "7", "step 1", "step 2", "step 3", "/etc/passwd: file" }, lines, guestops.ToString());
            Assert.Contains("err", guestops.StandardError, guestops.ToString());
            Assert.Contains("README.md", guestops.StandardOutput, "ls /home/demo lists the uploaded README.md: " + guestops);
            Assert.Contains("HOME=/home/demo", guestops.StandardOutput, guestops.ToString());
            StringAssert.StartsWith(await File.ReadAllTextAsync(Path.Combine(clone, "passwd")), "root:", "the downloaded guest /etc/passwd");

            // The admin commands, from the repository root with the built server, on a state directory of their own.
            var state = Path.Combine(parent, "admin-state");
            var adminScript = admin.Text.Replace("sudo ", $"sudo GUESTOPS_STATE_DIR={state} ", StringComparison.Ordinal);
            var administered = await RunAsync("/bin/bash", ["-e", "-o", "pipefail", "-c", adminScript], RepositoryLayout.RepositoryRoot, NoVariables);
            AssertExitCode(0, administered, admin.ToString());
            Assert.Contains("alice", administered.StandardOutput, administered.ToString());
            Assert.Contains("guest-readers", administered.StandardOutput, administered.ToString());
        }
        finally
        {
            Directory.Delete(parent, recursive: true);
        }
    }

    /// <summary>The README blocks <paramref name="match"/> selects; at least one.</summary>
    private static List<ReadmeBlock> Pick(IReadOnlyList<ReadmeBlock> blocks, Func<ReadmeBlock, bool> match)
    {
        var found = blocks.Where(match).ToList();
        Assert.IsNotEmpty(found, "an example this test expects is no longer in README.md");
        return found;
    }

    private static string Fill(string text, int port, string rootPassword) =>
        (text.Contains("127.0.0.1:8443", StringComparison.Ordinal) ? Readme.WithPort(text, port) : text)
            .Replace("<printed password>", rootPassword, StringComparison.Ordinal)
            .Replace("<password>", rootPassword, StringComparison.Ordinal)
            .Replace("<guest password>", GuestServer.GuestPassword, StringComparison.Ordinal);

    private void NotRunHere(ReadmeBlock block, string reason) => TestContext.WriteLine($"not run here: {block}: {reason}");

    private async Task<ProcessResult> RunAsync(string program, IReadOnlyList<string> arguments, string directory, IReadOnlyDictionary<string, string> environment)
    {
        var run = await ProcessRunner.RunAsync("/usr/bin/env", [.. Readme.UnsetTestHostVariables(), program, .. arguments], StepTimeout, directory, environment);
        TestContext.WriteLine($"$ {program} {string.Join(' ', arguments.Select(a => a.Length > 200 ? a[..200] + "..." : a))}{Environment.NewLine}{run}");
        return run;
    }

    private static void AssertExitCode(int expected, ProcessResult run, string what) =>
        Assert.AreEqual(expected, run.ExitCode, $"{what}:{Environment.NewLine}{run}");

    private static string? FindOnPath(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, program))
            .FirstOrDefault(File.Exists);
}
