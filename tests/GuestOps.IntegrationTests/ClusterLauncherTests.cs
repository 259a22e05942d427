using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using GuestOps.IntegrationTests.Infrastructure;

namespace GuestOps.IntegrationTests;

/// <summary>
/// <c>GuestOps.Server cluster</c> with the README's arguments (two front ends, two host agents with two demo VMs each):
/// redis-server and every member, each its own process on free ports. pyVmomi at a front end sees both hosts' VMs ready
/// and answering; SIGTERM to the launcher stops every member and redis-server. (At a terminal, Ctrl-C's SIGINT reaches
/// the launcher and its members alike; a test's background process may inherit SIGINT ignored, so it sends SIGTERM,
/// which the launcher handles the same way.)
/// </summary>
[TestClass]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed partial class ClusterLauncherTests : IntegrationTest
{
    private const string GuestPassword = "Launcher-Guest-Pa55!";

    [TestMethod]
    [Timeout(420_000)]
    public async Task ReadmeClusterCommand_StartsEveryMember_ServesBothHostsVms_AndStopsThemAllOnSigterm()
    {
        if (!File.Exists(RedisServer.Executable))
        {
            Assert.Fail($"{RedisServer.Executable} is missing: install Debian's redis-server (.ci/run does).");
        }

        var state = Directory.CreateTempSubdirectory("guestops-it-launcher-").FullName;
        // Traversable by the demo VMs' sandboxes (unprivileged host ids), as the server requires.
        File.SetUnixFileMode(state, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.OtherExecute | UnixFileMode.GroupExecute);
        var start = new ProcessStartInfo(ServerProcess.DotnetHost())
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        // The README's command line after "--" (its own state directory added).
        var readme = Readme.RunCommand(c => c.Contains(" -- cluster", StringComparison.Ordinal), "loopback cluster command (-- cluster)");
        var arguments = readme[(readme.IndexOf(" -- ", StringComparison.Ordinal) + 4)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        CollectionAssert.AreEqual(new[] { "cluster", "--frontends", "2", "--hostagents", "2" }, arguments, readme);
        foreach (var argument in (string[])[RepositoryLayout.ServerDll, .. arguments, "--state-dir", state])
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["GUESTOPS_ROOT_PASSWORD"] = ServerOptions.DefaultRootPassword;
        start.Environment["GUESTOPS_DEMO_GUEST_PASSWORD"] = GuestPassword;
        var output = new StringBuilder();
        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var launcher = Process.Start(start)!;
        launcher.OutputDataReceived += (_, e) => Append(e.Data);
        launcher.ErrorDataReceived += (_, e) => Append(e.Data);
        launcher.BeginOutputReadLine();
        launcher.BeginErrorReadLine();
        void Append(string? line)
        {
            if (line is null)
            {
                return;
            }

            lock (output)
            {
                output.AppendLine(line);
            }

            if (line.StartsWith("[cluster] root password", StringComparison.Ordinal))
            {
                ready.TrySetResult();
            }
        }

        string Output()
        {
            lock (output)
            {
                return output.ToString();
            }
        }

        try
        {
            await Task.WhenAny(ready.Task, launcher.WaitForExitAsync(), Task.Delay(TimeSpan.FromMinutes(4)));
            Assert.IsTrue(ready.Task.IsCompleted, "the launcher did not report the cluster ready:" + Environment.NewLine + Output());
            var frontEnd = FrontEndLine().Match(Output());
            Assert.IsTrue(frontEnd.Success, Output());
            var port = int.Parse(frontEnd.Groups[1].Value, CultureInfo.InvariantCulture);
            var members = MemberProcesses(state, serversOnly: true);
            Assert.AreEqual(5, members.Count, $"redis-server, two host agents and two front ends: {string.Join(", ", members)}");
            var guestIds = GuestIdsLine().Matches(Output()).Select(m => m.Groups[1].Value).Distinct().ToList();
            Assert.HasCount(2, guestIds, "each host agent's VMs get host ids of their own (root's subordinate range cut in two): " + Output());

            // Both host agents' VMs, found by the front end's inventory once their grains answered.
            var clock = Stopwatch.StartNew();
            JsonElement facts = default;
            string last = "";
            while (clock.Elapsed < TimeSpan.FromSeconds(120))
            {
                var run = await ProcessRunner.RunAsync(PyVmomiRun.Python,
                    [Path.Combine(AppContext.BaseDirectory, "python", "pyvmomi_cluster.py"), "--phase", "probe", "--port-a", port.ToString(CultureInfo.InvariantCulture),
                        "--password", ServerOptions.DefaultRootPassword, "--guest-user", "root", "--guest-password", GuestPassword, "--vm", "host-1-vm-1", "--vm", "host-2-vm-2"],
                    TimeSpan.FromSeconds(60));
                last = run.ToString();
                var json = run.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries).LastOrDefault(l => l.StartsWith('{'));
                if (json is not null)
                {
                    using var document = JsonDocument.Parse(json);
                    var probed = document.RootElement.GetProperty("facts");
                    if (probed.TryGetProperty("probe", out var probe)
                        && new[] { "host-1-vm-1", "host-2-vm-2" }.All(vm => probe.TryGetProperty(vm, out var entry) && entry.GetProperty("guestOperationsReady").GetBoolean() && entry.GetProperty("fault").ValueKind == JsonValueKind.Null))
                    {
                        facts = probed.Clone();
                        break;
                    }
                }

                await Task.Delay(500);
            }

            Assert.AreNotEqual(JsonValueKind.Undefined, facts.ValueKind, $"the front end did not serve both hosts' VMs within 120 s; last probe:{Environment.NewLine}{last}{Environment.NewLine}{Output()}");
            Assert.AreEqual("VirtualCenter", facts.GetProperty("apiType").GetString());
            Assert.AreEqual("host-1", facts.GetProperty("vms").GetProperty("host-1-vm-1").GetProperty("host").GetString());
            Assert.AreEqual("host-2", facts.GetProperty("vms").GetProperty("host-2-vm-2").GetProperty("host").GetString());

            // Stopped: every member and redis-server stop, and the launcher exits 0.
            Assert.AreEqual(0, Kill(launcher.Id, Sigterm));
            using (var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90)))
            {
                await launcher.WaitForExitAsync(timeout.Token);
            }

            Assert.AreEqual(0, launcher.ExitCode, Output());
            StringAssert.Contains(Output(), "[cluster] stopped");
            Assert.AreEqual(0, MemberProcesses(state).Count, "no member outlives the launcher");
        }
        finally
        {
            if (!launcher.HasExited)
            {
                launcher.Kill(entireProcessTree: true);
            }

            foreach (var pid in MemberProcesses(state))
            {
                try
                {
                    Process.GetProcessById(pid).Kill(entireProcessTree: true);
                }
                catch (ArgumentException)
                {
                }
            }

            TestContext.WriteLine(Output());
            Directory.Delete(state, recursive: true);
        }
    }

    private const int Sigterm = 15;

    /// <summary>The launcher's members and everything they started: processes whose state directory (GUESTOPS_STATE_DIR,
    /// or redis-server's working directory, its --dir) lies under <c>cluster/</c> in <paramref name="state"/>; <paramref name="serversOnly"/>: only the GuestOps
    /// servers and redis-server themselves (not the demo VMs' sandboxes and workers).</summary>
    private static List<int> MemberProcesses(string state, bool serversOnly = false)
    {
        state = Path.Combine(state, "cluster"); // the launcher's members' state directories
        var members = new List<int>();
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), out var pid) || pid == Environment.ProcessId)
            {
                continue;
            }

            try
            {
                var environment = File.ReadAllText(Path.Combine(directory, "environ")).Split('\0');
                var commandLine = File.ReadAllText(Path.Combine(directory, "cmdline")).Split('\0');
                var isLauncher = commandLine.Contains("cluster");
                var isServer = commandLine.Any(a => a.EndsWith("GuestOps.Server.dll", StringComparison.Ordinal));
                if (serversOnly && !isServer && !commandLine[0].Contains("redis-server", StringComparison.Ordinal))
                {
                    continue;
                }

                if (!isLauncher && (environment.Any(e => e.StartsWith($"GUESTOPS_STATE_DIR={Path.Combine(state, "frontend-")}", StringComparison.Ordinal))
                    || environment.Any(e => e.StartsWith($"GUESTOPS_STATE_DIR={Path.Combine(state, "host-")}", StringComparison.Ordinal))
                    || (commandLine[0].Contains("redis-server", StringComparison.Ordinal) && new DirectoryInfo(Path.Combine(directory, "cwd")).LinkTarget == Path.Combine(state, "redis"))))
                {
                    members.Add(pid);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // gone meanwhile, or a kernel thread
            }
        }

        return members;
    }

    [System.Runtime.InteropServices.DllImport("libc", SetLastError = true, EntryPoint = "kill")]
    private static extern int Kill(int pid, int signal);

    [GeneratedRegex(@"\[cluster\] frontend-1\s+https://127\.0\.0\.1:(\d+)")]
    private static partial Regex FrontEndLine();

    [GeneratedRegex(@"\[cluster\] host-\d+ .*guest host ids (\d+:\d+)")]
    private static partial Regex GuestIdsLine();
}
