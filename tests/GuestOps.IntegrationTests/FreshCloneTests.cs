using System.Diagnostics;
using System.Net;
using System.Runtime.Versioning;
using System.Text;
using GuestOps.IntegrationTests.Infrastructure;

namespace GuestOps.IntegrationTests;

/// <summary>
/// A newcomer's first command: a git clone of this repository's committed HEAD, alone in an empty directory (no
/// folder beside it), and README.md's run command pasted as it is there — only its port replaced by a free one, and
/// the state directory pointed into the test's directory so the test never touches root's real one. The first start
/// builds the server, publishes the NativeAOT worker (saying so on screen) and serves the endpoint; a second start
/// serves it again without publishing the worker again. The README's other run commands (the no-sandbox fallback, the
/// qemu-ga demo) then serve the endpoint from the same clone.
/// </summary>
[TestClass]
[SupportedOSPlatform("linux")]
public sealed class FreshCloneTests
{
    /// <summary>What the server's build prints while it publishes the worker (src/GuestOps.Server/GuestOps.Server.csproj).</summary>
    private const string PublishingWorkerMessage = "publishing the in-guest worker guestops-tools";

    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    [Timeout(1_800_000)] // a cold build and a NativeAOT publish on a busy 2-core machine
    public async Task ReadmeRunCommand_OnAFreshCloneWithNothingBesideIt_PublishesTheWorkerAndServesTheEndpoint()
    {
        if (Environment.UserName != "root")
        {
            Assert.Inconclusive("README.md's run command starts with sudo; this test runs it only when the tests run as root (as .ci/run does).");
        }

        Assert.IsTrue(File.Exists("/usr/bin/sudo"), "README.md's run command needs sudo: apt-get install sudo (.ci/run installs it).");
        var command = Readme.RunCommand(c => c.StartsWith("sudo ", StringComparison.Ordinal) && !c.Contains("GUESTOPS_PROVIDER=", StringComparison.Ordinal) && !c.Contains(" -- cluster", StringComparison.Ordinal), "run command with sudo (the sandboxes need root)");
        var noSandbox = Readme.RunCommand(c => c.Contains("GUESTOPS_PROVIDER=none", StringComparison.Ordinal), "run command for a normal user (GUESTOPS_PROVIDER=none)");
        var qemuGuestAgent = Readme.RunCommand(c => c.Contains("GUESTOPS_PROVIDER=qemu-ga", StringComparison.Ordinal), "run command of the qemu-ga demo (GUESTOPS_PROVIDER=qemu-ga)");

        var head = await GitAsync(["rev-parse", "HEAD"], RepositoryLayout.RepositoryRoot);
        var parent = Directory.CreateTempSubdirectory("guestops-fresh-clone-").FullName;
        try
        {
            // The sandboxed guests run as unprivileged host ids: every directory above their state must be traversable.
            File.SetUnixFileMode(parent, (UnixFileMode)0b111_101_101);
            var clone = Path.Combine(parent, "GuestOps");
            var state = Path.Combine(parent, "state");
            await GitAsync(["clone", "--quiet", "--no-hardlinks", RepositoryLayout.RepositoryRoot, clone], parent);
            Assert.AreEqual(head.Trim(), (await GitAsync(["rev-parse", "HEAD"], clone)).Trim(), "the clone is at the repository's HEAD");
            CollectionAssert.AreEquivalent(new[] { clone }, Directory.GetFileSystemEntries(parent), "nothing beside the clone (no ../shared)");
            Directory.CreateDirectory(state);
            File.SetUnixFileMode(state, (UnixFileMode)0b111_101_101);

            var port = LoopbackPort.Free();
            var pasted = "sudo GUESTOPS_STATE_DIR=" + state + " " + Readme.WithPort(command, port)["sudo ".Length..];
            TestContext.WriteLine($"README.md: {command}{Environment.NewLine}run in {clone}: {pasted}");

            var worker = Path.Combine(clone, "src", "GuestOps.Server", "bin", "Release", "net10.0", "guestops-tools");
            string firstOutput;
            await using (var first = ShellProcess.Start(pasted, clone))
            {
                await first.WaitForEndpointAsync(port, TimeSpan.FromMinutes(25));
                firstOutput = first.Output;
            }

            TestContext.WriteLine("--- first start ---" + Environment.NewLine + firstOutput);
            Assert.Contains(PublishingWorkerMessage, firstOutput, "the first start says that it publishes the worker");
            Assert.IsTrue(File.Exists(worker), $"the worker was published next to the server: {worker}");
            var published = File.GetLastWriteTimeUtc(worker);

            await using (var second = ShellProcess.Start(pasted, clone))
            {
                await second.WaitForEndpointAsync(port, TimeSpan.FromMinutes(10));
                TestContext.WriteLine("--- second start ---" + Environment.NewLine + second.Output);
                Assert.DoesNotContain(PublishingWorkerMessage, second.Output, "the second start does not publish the worker again");
            }

            Assert.AreEqual(published, File.GetLastWriteTimeUtc(worker), "the second start left the published worker as it was");

            // The no-sandbox fallback documented for a normal user (run here by root, on a state directory of its own).
            var fallbackState = Path.Combine(parent, "state-no-sandbox");
            var fallback = $"GUESTOPS_STATE_DIR={fallbackState} {Readme.WithPort(noSandbox, port)}";
            TestContext.WriteLine($"README.md: {noSandbox}{Environment.NewLine}run in {clone}: {fallback}");
            await using (var third = ShellProcess.Start(fallback, clone))
            {
                await third.WaitForEndpointAsync(port, TimeSpan.FromMinutes(10));
                TestContext.WriteLine("--- no-sandbox start ---" + Environment.NewLine + third.Output);
            }

            // The qemu-ga demo (its VMs' only agent is Debian's qemu-ga), on a state directory of its own.
            var qgaState = Path.Combine(parent, "state-qemu-ga");
            Directory.CreateDirectory(qgaState);
            File.SetUnixFileMode(qgaState, (UnixFileMode)0b111_101_101);
            var qga = "sudo GUESTOPS_STATE_DIR=" + qgaState + " " + Readme.WithPort(qemuGuestAgent, port)["sudo ".Length..];
            TestContext.WriteLine($"README.md: {qemuGuestAgent}{Environment.NewLine}run in {clone}: {qga}");
            await using (var fourth = ShellProcess.Start(qga, clone))
            {
                await fourth.WaitForEndpointAsync(port, TimeSpan.FromMinutes(10));
                TestContext.WriteLine("--- qemu-ga start ---" + Environment.NewLine + fourth.Output);
            }
        }
        finally
        {
            Directory.Delete(parent, recursive: true);
        }
    }

    private static async Task<string> GitAsync(IReadOnlyList<string> arguments, string directory)
    {
        var run = await ProcessRunner.RunAsync("git", arguments, TimeSpan.FromMinutes(2), directory);
        if (run.ExitCode != 0)
        {
            Assert.Inconclusive($"git {string.Join(' ', arguments)} failed in {directory} (this test needs the repository as a git checkout): {run.StandardError.Trim()}");
        }

        return run.StandardOutput;
    }

    /// <summary>A command line run by bash in a terminal (a pseudo-terminal of <c>script</c>), as a user pastes it, its
    /// output kept; disposing kills its whole tree.</summary>
    private sealed class ShellProcess : IAsyncDisposable
    {
        private readonly Process _process;
        private readonly StringBuilder _output = new();

        private ShellProcess(Process process) => _process = process;

        public string Output
        {
            get
            {
                lock (_output)
                {
                    return _output.ToString();
                }
            }
        }

        public static ShellProcess Start(string commandLine, string directory)
        {
            var start = new ProcessStartInfo("/usr/bin/env")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                RedirectStandardInput = true,
                UseShellExecute = false,
                WorkingDirectory = directory,
            };
            foreach (var argument in Readme.UnsetTestHostVariables())
            {
                start.ArgumentList.Add(argument);
            }

            start.ArgumentList.Add("SHELL=/bin/bash");
            start.ArgumentList.Add("/usr/bin/script");
            start.ArgumentList.Add("--quiet");
            start.ArgumentList.Add("--flush");
            start.ArgumentList.Add("--return");
            start.ArgumentList.Add("--command");
            start.ArgumentList.Add(commandLine);
            start.ArgumentList.Add("/dev/null");
            var shell = new ShellProcess(new Process { StartInfo = start });
            shell._process.OutputDataReceived += (_, e) => shell.Append(e.Data);
            shell._process.ErrorDataReceived += (_, e) => shell.Append(e.Data);
            shell._process.Start();
            shell._process.StandardInput.Close();
            shell._process.BeginOutputReadLine();
            shell._process.BeginErrorReadLine();
            return shell;
        }

        /// <summary>Until the server printed its endpoint and that endpoint answers version negotiation.</summary>
        public async Task WaitForEndpointAsync(int port, TimeSpan timeout)
        {
            var endpoint = $"GuestOps vSphere API endpoint: https://127.0.0.1:{port}/sdk";
            using var http = new HttpClient(new HttpClientHandler { ServerCertificateCustomValidationCallback = HttpClientHandler.DangerousAcceptAnyServerCertificateValidator })
            {
                Timeout = TimeSpan.FromSeconds(10),
            };
            var deadline = Stopwatch.StartNew();
            while (deadline.Elapsed < timeout)
            {
                if (_process.HasExited)
                {
                    await _process.WaitForExitAsync();
                    Assert.Fail($"The command exited (code {_process.ExitCode}) before serving the endpoint:{Environment.NewLine}{Output}");
                }

                if (Output.Contains(endpoint, StringComparison.Ordinal))
                {
                    using var answer = await http.GetAsync($"https://127.0.0.1:{port}/sdk/vimServiceVersions.xml");
                    var body = await answer.Content.ReadAsStringAsync();
                    Assert.AreEqual(HttpStatusCode.OK, answer.StatusCode, body);
                    Assert.Contains("urn:vim25", body);
                    return;
                }

                await Task.Delay(500);
            }

            Assert.Fail($"No endpoint after {timeout.TotalMinutes:0} min:{Environment.NewLine}{Output}");
        }

        public async ValueTask DisposeAsync()
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }

            await _process.WaitForExitAsync();
            _process.Dispose();
        }

        private void Append(string? line)
        {
            if (line is not null)
            {
                lock (_output)
                {
                    _output.Append(line).Append('\n');
                }
            }
        }
    }
}
