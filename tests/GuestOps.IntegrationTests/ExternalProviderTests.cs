using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using GuestOps.IntegrationTests.Infrastructure;

namespace GuestOps.IntegrationTests;

/// <summary>
/// The <c>external</c> provider end to end: the real server with two external VMs (and one sandboxed VM beside them) and
/// a loopback worker listener; the admin's <c>GuestOps.Server enroll</c>; the real NativeAOT worker (published next to
/// the server) running <c>enroll</c> and then <c>--connect</c> the way an owner runs it in a real VM. The "real VM" is a
/// bubblewrap sandbox with its own /etc, accounts and host name (this machine's users are never touched); without
/// bubblewrap or root the worker runs as a plain process and only a wrong password is tried.
/// </summary>
[TestClass]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class ExternalProviderTests : IntegrationTest
{
    private const string VmA = "vm-1";
    private const string VmB = "vm-2";
    private const string SandboxedVm = "vm-3";
    internal const string GuestUser = "owner";
    internal const string GuestPassword = "Ext-Guest-Pa55!";

    [TestMethod]
    [Timeout(240_000, CooperativeCancellation = true)]
    public async Task ExternalVm_Enrolls_Connects_AndRefusesCertificatesNotEnrolledForIt()
    {
        var workerBinary = Path.Combine(Path.GetDirectoryName(RepositoryLayout.ServerDll)!, "guestops-tools");
        Assert.IsTrue(File.Exists(workerBinary), $"The server build publishes the worker next to itself: {workerBinary} is missing.");
        var sandboxed = SandboxAvailable();
        var work = Directory.CreateTempSubdirectory("guestops-ext-").FullName;
        var port = LoopbackPort.Free();
        var settings = new Dictionary<string, string>
        {
            ["GuestOps__VirtualMachines__0__Provider"] = "external",
            ["GuestOps__VirtualMachines__1__Provider"] = "external",
            ["GUESTOPS_WORKER_LISTEN_URL"] = $"tcp://127.0.0.1:{port}",
            ["GUESTOPS_DEMO_GUEST_PASSWORD"] = "Demo-Pa55!",
        };
        var names = new[] { "ext-vm-a", "ext-vm-b", "sandboxed-vm" };
        var workers = new List<GuestWorker>();
        // 0755: the sandboxed VM's guest root may be an unprivileged host uid (user namespace) that must reach its folder.
        var state = Path.Combine(work, "state");
        Directory.CreateDirectory(state, (UnixFileMode)0b111_101_101);
        File.SetUnixFileMode(work, (UnixFileMode)0b111_101_101);
        await using var server = await ServerProcess.StartAsync(new ServerOptions { VirtualMachineNames = names, Environment = settings, StateDirectory = state });
        try
        {
            await WaitForLogAsync(server, $"Worker listener for external VMs: tcp:127.0.0.1:{port}", TimeSpan.FromSeconds(10));
            await using var client = await ConnectAsync(server);
            Assert.IsFalse(await client.IsReadyAsync(VmA), "no worker has connected yet");

            // The admin: a one-time bundle for ext-vm-a.
            var adminEnvironment = new Dictionary<string, string>(settings) { ["GUESTOPS_STATE_DIR"] = server.StateDirectory };
            for (var i = 0; i < names.Length; i++)
            {
                adminEnvironment[$"GuestOps__VirtualMachines__{i}__Name"] = names[i];
            }

            var bundlePath = Path.Combine(work, "ext-vm-a.json");
            var admin = await ProcessRunner.RunAsync(DotnetHost(), [RepositoryLayout.ServerDll, "enroll", "--vm", "ext-vm-a", "--out", bundlePath], TimeSpan.FromSeconds(60), work, adminEnvironment);
            Assert.AreEqual(0, admin.ExitCode, admin.ToString());
            StringAssert.Contains(admin.StandardOutput, $"written to {bundlePath}");
            Assert.AreEqual(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(bundlePath));
            using (var bundle = JsonDocument.Parse(await File.ReadAllTextAsync(bundlePath)))
            {
                Assert.AreEqual(VmA, bundle.RootElement.GetProperty("vmId").GetString());
                Assert.AreEqual($"tcp:127.0.0.1:{port}", bundle.RootElement.GetProperty("address").GetString());
                var token = bundle.RootElement.GetProperty("token").GetString()!;
                var store = await File.ReadAllTextAsync(Path.Combine(server.StateDirectory, "enrollment", "enrollments.json"));
                Assert.DoesNotContain(token, store, "the server keeps only the token's hash");
            }

            // The VM owner, inside "the VM": enroll, then a second enroll with the same bundle is refused.
            var guestA = await Guest.CreateAsync(Path.Combine(work, "guest-a"), "ext-guest-a", sandboxed);
            File.Copy(bundlePath, Path.Combine(guestA.Exchange, "bundle.json"));
            var enrolled = await guestA.RunToolsAsync(workerBinary, ["enroll", "--bundle", guestA.InGuest("bundle.json"), "--out", guestA.InGuest("pki")]);
            Assert.AreEqual(0, enrolled.ExitCode, enrolled.ToString());
            StringAssert.Contains(enrolled.StandardOutput, "Enrolled as VM ext-vm-a (vm-1)");
            Assert.AreEqual(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(guestA.Exchange, "pki", "worker.key")));
            var replay = await guestA.RunToolsAsync(workerBinary, ["enroll", "--bundle", guestA.InGuest("bundle.json"), "--out", guestA.InGuest("pki-again")]);
            Assert.AreEqual(1, replay.ExitCode, replay.ToString());
            StringAssert.Contains(replay.StandardError, "tokenUsed");
            Assert.IsFalse(Directory.Exists(Path.Combine(guestA.Exchange, "pki-again")), "nothing is written for a refused enrollment");

            // ... and connect: the VM becomes ready and answers guest calls with its own accounts.
            workers.Add(guestA.StartWorker(workerBinary, port, "pki"));
            await WaitForReadyAsync(client, server, VmA, true, TimeSpan.FromSeconds(20), workers[^1]);
            var properties = await client.Connection.PropertiesAsync(TypedGuestClient.VmRef(VmA), ["guest.hostName", "guest.toolsRunningStatus"]);
            Assert.AreEqual("guestToolsRunning", properties["guest.toolsRunningStatus"]);
            if (sandboxed)
            {
                Assert.AreEqual("ext-guest-a", properties["guest.hostName"]);
                (await new GuestOpsClient(client, VmA, GuestUser, GuestPassword).ValidateCredentials()).AssertOk();
            }

            (await new GuestOpsClient(client, VmA, GuestUser, GuestPassword + "-wrong").ValidateCredentials()).AssertFault("InvalidGuestLogin", "GuestOperationsFaultFault");
            Assert.IsFalse(await client.IsReadyAsync(VmB), "VM A's certificate serves VM A only");

            // Certificates that are not the one enrolled for the VM they name are refused: one this CA signed for VM B
            // without an enrollment (as if someone had the CA's signature but not the record), and one for the
            // sandboxed VM, which is not external.
            var forgedB = await guestA.IssueWithServerCaAsync(server.StateDirectory, VmB, "forged-b");
            var forgedSandboxed = await guestA.IssueWithServerCaAsync(server.StateDirectory, SandboxedVm, "forged-sandboxed");
            workers.Add(guestA.StartWorker(workerBinary, port, forgedB));
            workers.Add(guestA.StartWorker(workerBinary, port, forgedSandboxed));
            await WaitForLogAsync(server, $"is not the enrolled certificate of VM {VmB}", TimeSpan.FromSeconds(15));
            await WaitForLogAsync(server, $"VM {SandboxedVm} is not an external VM", TimeSpan.FromSeconds(15));
            Assert.IsFalse(await client.IsReadyAsync(VmB), "a certificate not enrolled for VM B cannot connect as VM B");
            Assert.IsTrue(await client.IsReadyAsync(VmA), "refused workers do not disturb the connected one");
            foreach (var refused in workers.Skip(1))
            {
                refused.Stop();
            }

            // Re-enrollment replaces VM A's certificate: the worker holding the old one is disconnected and refused.
            var second = Path.Combine(work, "ext-vm-a-2.json");
            admin = await ProcessRunner.RunAsync(DotnetHost(), [RepositoryLayout.ServerDll, "enroll", "--vm", "ext-vm-a", "--out", second], TimeSpan.FromSeconds(60), work, adminEnvironment);
            Assert.AreEqual(0, admin.ExitCode, admin.ToString());
            File.Copy(second, Path.Combine(guestA.Exchange, "bundle-2.json"));
            enrolled = await guestA.RunToolsAsync(workerBinary, ["enroll", "--bundle", guestA.InGuest("bundle-2.json"), "--out", guestA.InGuest("pki-2")]);
            Assert.AreEqual(0, enrolled.ExitCode, enrolled.ToString());
            await WaitForLogAsync(server, "no longer admitted", TimeSpan.FromSeconds(15));
            await WaitForReadyAsync(client, server, VmA, false, TimeSpan.FromSeconds(10), workers[0]);
            workers.Add(guestA.StartWorker(workerBinary, port, "pki-2"));
            await WaitForReadyAsync(client, server, VmA, true, TimeSpan.FromSeconds(20), workers[^1]);

            if (sandboxed)
            {
                await WaitForReadyAsync(client, server, SandboxedVm, true, TimeSpan.FromSeconds(30), null);
            }

            await AssertStillServingAsync(server);
        }
        finally
        {
            foreach (var worker in workers)
            {
                worker.Stop();
            }

            TestContext.WriteLine(string.Join(Environment.NewLine, workers.Select(w => w.Output)));
            await server.StopAsync();
            Directory.Delete(work, recursive: true);
        }
    }

    private static async Task WaitForReadyAsync(TypedGuestClient client, ServerProcess server, string vmId, bool ready, TimeSpan timeout, GuestWorker? worker)
    {
        try
        {
            await client.WaitForReadinessAsync(vmId, ready, timeout, TimeSpan.FromMilliseconds(100));
        }
        catch (AssertFailedException e)
        {
            throw new AssertFailedException($"{e.Message}{Environment.NewLine}{server.AllOutput}{Environment.NewLine}--- worker ---{Environment.NewLine}{worker?.Output}", e);
        }
    }

    private static async Task WaitForLogAsync(ServerProcess server, string text, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (!server.AllOutput.Contains(text, StringComparison.Ordinal))
        {
            if (clock.Elapsed > timeout)
            {
                throw new AssertFailedException($"The server did not log '{text}' within {timeout.TotalSeconds:0} s.{Environment.NewLine}{server.AllOutput}");
            }

            await Task.Delay(100);
        }
    }

    internal static bool SandboxAvailable() =>
        Environment.UserName == "root" && File.Exists("/usr/bin/bwrap") && File.Exists("/usr/bin/mkpasswd")
        && RuntimeInformation.ProcessArchitecture is Architecture.X64 or Architecture.Arm64;

    internal static string DotnetHost()
    {
        var host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        return !string.IsNullOrEmpty(host) && File.Exists(host) ? host : "dotnet";
    }

    /// <summary>A long-running worker process; its output is kept for failure messages.</summary>
    internal sealed class GuestWorker(Process process, StringBuilder output)
    {
        public string Output
        {
            get
            {
                lock (output)
                {
                    return output.ToString();
                }
            }
        }

        public void Stop()
        {
            try
            {
                if (!process.HasExited)
                {
                    process.Kill(entireProcessTree: true);
                    process.WaitForExit(5000);
                }
            }
            catch (InvalidOperationException)
            {
            }
        }
    }

    /// <summary>
    /// A stand-in for a real VM: a bubblewrap sandbox with its own PID/UTS/IPC namespaces and host name, its own
    /// /etc (passwd, shadow, group, a PAM service for the worker), /root and /tmp, the host's /usr read-only and the
    /// host's network (the listener is on loopback). <see cref="Exchange"/> is its /var/lib/guestops, where the bundle
    /// goes in and the certificate comes out. Without a sandbox, the same folder is used directly.
    /// </summary>
    internal sealed class Guest
    {
        private const string GuestDirectory = "/var/lib/guestops";

        private Guest(string root, string hostName, bool sandboxed)
        {
            Root = root;
            HostName = hostName;
            Sandboxed = sandboxed;
        }

        public string Root { get; }

        public string HostName { get; }

        public bool Sandboxed { get; }

        /// <summary>The host-side path of the guest's /var/lib/guestops.</summary>
        public string Exchange => Path.Combine(Root, "exchange");

        public static async Task<Guest> CreateAsync(string root, string hostName, bool sandboxed)
        {
            var guest = new Guest(root, hostName, sandboxed);
            foreach (var dir in new[] { "etc/pam.d", "root", "tmp", "exchange", $"home/{GuestUser}" })
            {
                Directory.CreateDirectory(Path.Combine(root, dir));
            }

            if (!sandboxed)
            {
                return guest;
            }

            File.SetUnixFileMode(Path.Combine(root, "tmp"), (UnixFileMode)0x3FF);
            var etc = Path.Combine(root, "etc");
            await File.WriteAllTextAsync(Path.Combine(etc, "passwd"), $"root:x:0:0:root:/root:/bin/sh\n{GuestUser}:x:1000:1000::/home/{GuestUser}:/bin/sh\n");
            await File.WriteAllTextAsync(Path.Combine(etc, "group"), $"root:x:0:\n{GuestUser}:x:1000:\n");
            await File.WriteAllTextAsync(Path.Combine(etc, "shadow"), $"root:*:19000:0:99999:7:::\n{GuestUser}:{await HashAsync(GuestPassword)}:19000:0:99999:7:::\n");
            File.SetUnixFileMode(Path.Combine(etc, "shadow"), UnixFileMode.UserRead | UnixFileMode.UserWrite);
            await File.WriteAllTextAsync(Path.Combine(etc, "nsswitch.conf"), "passwd: files\ngroup: files\nshadow: files\nhosts: files\n");
            await File.WriteAllTextAsync(Path.Combine(etc, "hosts"), $"127.0.0.1 localhost {hostName}\n");
            await File.WriteAllTextAsync(Path.Combine(etc, "pam.d", "guestops-tools"), "auth required pam_unix.so\naccount required pam_unix.so\n");
            return guest;
        }

        /// <summary>The path the worker sees for a file of <see cref="Exchange"/>.</summary>
        public string InGuest(string name) => Sandboxed ? $"{GuestDirectory}/{name}" : Path.Combine(Exchange, name);

        public Task<ProcessResult> RunToolsAsync(string workerBinary, IReadOnlyList<string> arguments)
        {
            var (file, args) = Command(workerBinary, arguments);
            return ProcessRunner.RunAsync(file, args, TimeSpan.FromSeconds(60), Root);
        }

        public GuestWorker StartWorker(string workerBinary, int port, string pkiFolder) => StartWorker(workerBinary, $"tcp:127.0.0.1:{port}", pkiFolder);

        /// <summary>The worker with <c>--connect <paramref name="connect"/></c> (one endpoint, or several separated by commas).</summary>
        public GuestWorker StartWorker(string workerBinary, string connect, string pkiFolder)
        {
            var (file, args) = Command(workerBinary,
            [
                "--connect", connect,
                "--tls-cert", InGuest($"{pkiFolder}/worker.crt"), "--tls-key", InGuest($"{pkiFolder}/worker.key"), "--tls-ca", InGuest($"{pkiFolder}/ca.crt"),
                "--pam-service", "guestops-tools", "--reconnect-max", "300", "--log-level", "debug",
            ]);
            var start = new ProcessStartInfo(file)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                RedirectStandardInput = true,
                UseShellExecute = false,
            };
            foreach (var a in args)
            {
                start.ArgumentList.Add(a);
            }

            var output = new StringBuilder();
            var process = new Process { StartInfo = start };
            void Append(string? line)
            {
                if (line is not null)
                {
                    lock (output)
                    {
                        output.Append(pkiFolder).Append(": ").Append(line).Append('\n');
                    }
                }
            }

            process.OutputDataReceived += (_, e) => Append(e.Data);
            process.ErrorDataReceived += (_, e) => Append(e.Data);
            process.Start();
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            return new GuestWorker(process, output);
        }

        /// <summary>
        /// Writes into <see cref="Exchange"/>/<paramref name="folder"/> a worker certificate for <paramref name="vmId"/>
        /// signed with the server's own CA key, but never enrolled: what a holder of the CA's signature without the
        /// enrollment record would present.
        /// </summary>
        public async Task<string> IssueWithServerCaAsync(string stateDirectory, string vmId, string folder)
        {
            var enrollment = Path.Combine(stateDirectory, "enrollment");
            using var caKey = ECDsa.Create();
            caKey.ImportFromPem(await File.ReadAllTextAsync(Path.Combine(enrollment, "ca.key")));
            using var caPublic = X509CertificateLoader.LoadCertificateFromFile(Path.Combine(enrollment, "ca.crt"));
            using var ca = caPublic.CopyWithPrivateKey(caKey);
            using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var request = new CertificateRequest($"CN={vmId}, OU=GuestOps VM worker, O=GuestOps", key, HashAlgorithmName.SHA256);
            var san = new SubjectAlternativeNameBuilder();
            san.AddUri(new Uri("urn:guestops:vm:" + vmId));
            request.CertificateExtensions.Add(san.Build());
            request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
            request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.2")], false));
            using var issued = request.Create(ca, DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddDays(1), RandomNumberGenerator.GetBytes(12));
            var dir = Path.Combine(Exchange, folder);
            Directory.CreateDirectory(dir);
            await File.WriteAllTextAsync(Path.Combine(dir, "worker.crt"), issued.ExportCertificatePem());
            await File.WriteAllTextAsync(Path.Combine(dir, "worker.key"), key.ExportPkcs8PrivateKeyPem());
            await File.WriteAllTextAsync(Path.Combine(dir, "ca.crt"), caPublic.ExportCertificatePem());
            return folder;
        }

        private (string File, List<string> Arguments) Command(string workerBinary, IReadOnlyList<string> arguments)
        {
            if (!Sandboxed)
            {
                return (workerBinary, arguments.ToList());
            }

            var args = new List<string>
            {
                "--die-with-parent", "--unshare-pid", "--unshare-uts", "--unshare-ipc", "--hostname", HostName,
                "--ro-bind", "/usr", "/usr",
                "--symlink", "usr/bin", "/bin", "--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64", "--symlink", "usr/sbin", "/sbin",
                "--proc", "/proc", "--dev", "/dev",
                "--bind", Path.Combine(Root, "etc"), "/etc",
                "--bind", Path.Combine(Root, "home"), "/home",
                "--bind", Path.Combine(Root, "root"), "/root",
                "--bind", Path.Combine(Root, "tmp"), "/tmp",
                "--bind", Exchange, GuestDirectory,
                "--ro-bind", workerBinary, "/opt/guestops/guestops-tools",
                "--setenv", "HOME", "/root", "--chdir", "/",
                "/opt/guestops/guestops-tools",
            };
            args.AddRange(arguments);
            return ("/usr/bin/bwrap", args);
        }

        private static async Task<string> HashAsync(string password)
        {
            var start = new ProcessStartInfo("/usr/bin/mkpasswd", ["-m", "sha-512", "--stdin"])
            {
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                UseShellExecute = false,
            };
            using var process = Process.Start(start)!;
            await process.StandardInput.WriteAsync(password);
            process.StandardInput.Close();
            var hash = (await process.StandardOutput.ReadToEndAsync()).Trim();
            await process.WaitForExitAsync();
            Assert.IsTrue(process.ExitCode == 0 && hash.StartsWith("$6$", StringComparison.Ordinal), "mkpasswd failed");
            return hash;
        }
    }
}
