using System.Globalization;
using System.Net;
using System.Net.Sockets;
using GuestOps.IntegrationTests.Infrastructure;

namespace GuestOps.IntegrationTests;

/// <summary>
/// The server executable as a newcomer runs it (issue 15): --help and --version print and exit without touching any
/// state, unknown arguments are refused with the usage, a second server on the same state directory exits at once
/// naming the directory and the first server's process (and a killed server leaves no stale lock), and a failure to
/// start is one line without a stack trace unless Debug logging is asked for.
/// </summary>
[TestClass]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class ServerExecutableTests : IntegrationTest
{
    [TestMethod]
    [Timeout(120_000, CooperativeCancellation = true)]
    public async Task HelpVersionAndUnknownArguments_PrintAndExit_WithoutTouchingTheStateDirectory()
    {
        var work = Directory.CreateTempSubdirectory("guestops-it-help-").FullName;
        var state = Path.Combine(work, "state");
        try
        {
            var environment = new Dictionary<string, string> { ["GUESTOPS_STATE_DIR"] = state, ["GUESTOPS_URLS"] = "https://127.0.0.1:0" };
            var help = await RunServerAsync(["--help"], work, environment);
            Assert.AreEqual(0, help.ExitCode, help.ToString());
            StringAssert.Contains(help.StandardOutput, "Usage:");
            StringAssert.Contains(help.StandardOutput, "--state-dir");

            var version = await RunServerAsync(["--version"], work, environment);
            Assert.AreEqual(0, version.ExitCode, version.ToString());
            StringAssert.Matches(version.StandardOutput.Trim(), new System.Text.RegularExpressions.Regex(@"^\d+\.\d+\.\d+"));

            foreach (var unknown in new[] { "--bogus", "serve", "--state-directory=/tmp" })
            {
                var refused = await RunServerAsync([unknown], work, environment);
                Assert.AreEqual(2, refused.ExitCode, refused.ToString());
                StringAssert.Contains(refused.StandardError, unknown.Split('=')[0]);
                StringAssert.Contains(refused.StandardError, "Usage:");
                Assert.IsFalse(refused.StandardOutput.Contains("endpoint", StringComparison.Ordinal), refused.ToString());
            }

            Assert.IsFalse(Directory.Exists(state), "--help, --version and refused arguments must not create or touch the state directory");
            var userHelp = await RunServerAsync(["user", "add", "--help"], work, environment);
            Assert.AreEqual(0, userHelp.ExitCode, userHelp.ToString());
            StringAssert.Contains(userHelp.StandardOutput, "--password-stdin");
            Assert.IsFalse(Directory.Exists(state), "a command's --help does not touch state either");
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    [TestMethod]
    [Timeout(180_000, CooperativeCancellation = true)]
    public async Task SecondServer_OnTheSameStateDirectory_ExitsAtOnceNamingItAndTheFirst_AKilledServerLeavesNoStaleLock()
    {
        var state = Directory.CreateTempSubdirectory("guestops-it-lock-").FullName;
        try
        {
            var options = new ServerOptions { StateDirectory = state };
            var first = await ServerProcess.StartAsync(options);
            try
            {
                var second = await RunServerAsync(
                    [$"--state-dir={state}", "--urls=https://127.0.0.1:0"],
                    state,
                    new Dictionary<string, string> { ["GUESTOPS_ROOT_PASSWORD"] = "Other-Pa55!" });
                Assert.AreEqual(1, second.ExitCode, second.ToString());
                StringAssert.Contains(second.StandardError, state, "the message names the state directory");
                StringAssert.Contains(second.StandardError, $"process {first.ProcessId.ToString(CultureInfo.InvariantCulture)}", "the message names the server holding it");
                Assert.IsFalse(second.StandardOutput.Contains("endpoint", StringComparison.Ordinal), second.ToString());
                Assert.IsFalse((second.StandardOutput + second.StandardError).Contains("   at ", StringComparison.Ordinal), $"one message, no stack trace{Environment.NewLine}{second}");

                using var client = NewClient(first);
                await client.LoginOkAsync(); // the first server is unaffected

                // A crash (SIGKILL) releases the lock with the process: the next server starts on the same directory.
                Assert.IsTrue(GuestWorkers.Signal(first.ProcessId, GuestWorkers.SIGKILL));
                await first.StopAsync();
            }
            finally
            {
                await first.DisposeAsync();
            }

            await using var third = await ServerProcess.StartAsync(options);
            using var again = NewClient(third);
            await again.LoginOkAsync();
        }
        finally
        {
            Directory.Delete(state, recursive: true);
        }
    }

    [TestMethod]
    [DataRow("port-in-use")]
    [DataRow("unbindable-address")]
    [DataRow("no-permission")]
    [DataRow("certificate-not-a-pfx")]
    [DataRow("certificate-wrong-password")]
    [Timeout(180_000, CooperativeCancellation = true)]
    public async Task StartupFailure_IsOneLineWithoutStackTrace_TheFullExceptionOnlyAtDebugLevel(string failure)
    {
        var state = Directory.CreateTempSubdirectory("guestops-it-startfail-").FullName;
        using var blocker = new TcpListener(IPAddress.Loopback, 0);
        blocker.Start();
        try
        {
            var port = ((IPEndPoint)blocker.LocalEndpoint).Port.ToString(CultureInfo.InvariantCulture);
            var environment = new Dictionary<string, string> { ["GUESTOPS_ROOT_PASSWORD"] = "Whatever-1!" };
            List<string> arguments = [$"--state-dir={state}", "--GuestOps:Provider=none"];
            string expected;
            switch (failure)
            {
                case "port-in-use":
                    arguments.Add($"--urls=https://127.0.0.1:{port}");
                    expected = "address already in use";
                    break;
                case "unbindable-address":
                    arguments.Add("--urls=https://192.0.2.254:8443"); // no interface of a test machine has it
                    expected = "GuestOps cannot listen on https://192.0.2.254:8443";
                    break;
                case "no-permission":
                    // Run as the unprivileged user nobody (below), for whom port 443 is out of reach.
                    arguments.Add("--urls=https://127.0.0.1:443");
                    expected = "GuestOps cannot listen on https://127.0.0.1:443: Permission denied";
                    break;
                case "certificate-not-a-pfx":
                    var garbage = Path.Combine(state, "garbage.pfx");
                    await File.WriteAllTextAsync(garbage, "not a certificate");
                    arguments.AddRange(["--urls=https://127.0.0.1:0", $"--GuestOps:CertificatePath={garbage}"]);
                    expected = "GuestOps:CertificatePath";
                    break;
                default:
                    var pfx = Path.Combine(state, "other.pfx");
                    using (var key = System.Security.Cryptography.RSA.Create(2048))
                    {
                        var request = new System.Security.Cryptography.X509Certificates.CertificateRequest("CN=t", key, System.Security.Cryptography.HashAlgorithmName.SHA256, System.Security.Cryptography.RSASignaturePadding.Pkcs1);
                        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
                        await File.WriteAllBytesAsync(pfx, certificate.Export(System.Security.Cryptography.X509Certificates.X509ContentType.Pkcs12, "right-Pa55"));
                    }

                    arguments.AddRange(["--urls=https://127.0.0.1:0", $"--GuestOps:CertificatePath={pfx}", "--GuestOps:CertificatePassword=wrong-Pa55"]);
                    expected = "GuestOps:CertificatePath";
                    break;
            }

            var asNobody = failure == "no-permission";
            if (asNobody)
            {
                File.SetUnixFileMode(state, (UnixFileMode)0b111_101_101);
                Assert.AreEqual(0, (await ProcessRunner.RunAsync("chown", ["nobody", state], TimeSpan.FromSeconds(10))).ExitCode, "chown nobody of the state directory");
                environment["HOME"] = state;
            }

            var run = await RunServerAsync(arguments, state, environment, asNobody);
            Assert.AreNotEqual(0, run.ExitCode, run.ToString());
            StringAssert.Contains(run.StandardError, expected, run.ToString());
            var all = run.StandardOutput + run.StandardError;
            Assert.IsFalse(all.Contains("   at ", StringComparison.Ordinal), $"no stack trace at the default log level{Environment.NewLine}{run}");
            Assert.IsFalse(all.Contains("Hosting failed to start", StringComparison.Ordinal), $"no log entry of the host repeating the failure{Environment.NewLine}{run}");
            Assert.IsTrue(run.StandardError.Split('\n').Count(l => l.StartsWith("GuestOps cannot", StringComparison.Ordinal)) == 1, $"one line says why{Environment.NewLine}{run}");

            var debug = await RunServerAsync([.. arguments, "--Logging:LogLevel:Default=Debug"], state, environment, asNobody);
            Assert.AreNotEqual(0, debug.ExitCode, debug.ToString());
            StringAssert.Contains(debug.StandardError, expected, debug.ToString());
            if (failure is "port-in-use" or "unbindable-address" or "no-permission")
            {
                Assert.IsTrue((debug.StandardOutput + debug.StandardError).Contains("   at ", StringComparison.Ordinal), $"the full exception at Debug level{Environment.NewLine}{debug}");
            }
        }
        finally
        {
            blocker.Stop();
            Directory.Delete(state, recursive: true);
        }
    }

    /// <summary>Runs the server executable to its end (GUESTOPS_* variables of the test run are not inherited), as this
    /// process's user or, with <paramref name="asNobody"/>, as the unprivileged user nobody (setpriv).</summary>
    private static Task<ProcessResult> RunServerAsync(IReadOnlyList<string> arguments, string workingDirectory, IReadOnlyDictionary<string, string> environment, bool asNobody = false) =>
        asNobody
            ? ProcessRunner.RunAsync("setpriv", ["--reuid=nobody", "--regid=nogroup", "--clear-groups", DotnetHost(), RepositoryLayout.ServerDll, .. arguments], TimeSpan.FromSeconds(60), workingDirectory, environment)
            : ProcessRunner.RunAsync(DotnetHost(), [RepositoryLayout.ServerDll, .. arguments], TimeSpan.FromSeconds(60), workingDirectory, environment);

    private static string DotnetHost() =>
        Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet";
}
