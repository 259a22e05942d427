using System.Security.Cryptography;
using System.Text.Json;
using GuestOps.IntegrationTests.Infrastructure;

namespace GuestOps.IntegrationTests.Clients;

/// <summary>
/// Issue 8's acceptance of the <c>guestops</c> command line: every command as a separate process against the real
/// server with sandboxed VMs, configured as a govc user would (GOVC_URL, GOVC_INSECURE, GOVC_VM, GOVC_GUEST_LOGIN).
/// </summary>
[TestClass]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class GuestOpsCliTests
{
    private static GuestServer? _server;

    public TestContext TestContext { get; set; } = null!;

    private static GuestServer Server => _server ?? throw new AssertFailedException("The guest server did not start.");

    [ClassInitialize]
    public static async Task StartServerAsync(TestContext context) => _server = await GuestServer.StartAsync();

    [ClassCleanup]
    public static async Task StopServerAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
            _server = null;
        }
    }

    private static GuestOpsCli NewCli(string user = "demo") => new(Server.Server, "demo-vm-1", $"{user}:{GuestServer.GuestPassword}");

    /// <summary>A fresh guest directory for one test, in demo's home.</summary>
    private static async Task<string> WorkDirectoryAsync(GuestOpsCli cli) => (await cli.OkAsync("mktemp", "-d", "--prefix", "cli-", "--dir", "/home/demo")).Trim();

    [TestMethod]
    public async Task Help_ListsEveryCommand_AndEachCommandHasCompleteHelp()
    {
        using var cli = NewCli();
        var help = await cli.OkAsync("--help");
        string[] commands = ["login", "logout", "vms", "wait-ready", "validate", "ls", "exists", "mkdir", "rm", "rmdir", "mv", "mktemp", "chmod", "chown", "touch", "upload", "download", "start", "ps", "kill", "env", "run"];
        foreach (var command in commands)
        {
            StringAssert.Contains(help, $"  {command} ", $"guestops --help lists {command}");
            var commandHelp = await cli.OkAsync(command, "--help");
            StringAssert.Contains(commandHelp, "Description:", command);
            StringAssert.Contains(commandHelp, $"guestops {command}", command);
            foreach (var option in new[] { "--url", "-k, --insecure", "-vm", "-l, --guest-login", "--json" })
            {
                StringAssert.Contains(commandHelp, option, $"{command} --help documents {option}");
            }
        }
    }

    [TestMethod]
    public async Task Login_CachesTheSessionOwnerOnly_LaterCommandsNeedNoPassword_LogoutEndsIt()
    {
        using var cli = NewCli();
        var login = await cli.OkAsync("login");
        StringAssert.Contains(login, "Logged in");
        var files = Directory.GetFiles(cli.SessionDirectory);
        Assert.AreEqual(1, files.Length, string.Join(", ", files));
        Assert.AreEqual(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(files[0]), "the cached session is 0600");
        Assert.AreEqual(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(cli.SessionDirectory), "the cache folder is 0700");
        Assert.IsFalse(File.ReadAllText(files[0]).Contains(Server.Server.RootPassword!, StringComparison.Ordinal), "no password in the cache");

        var noPassword = new Dictionary<string, string> { ["GOVC_PASSWORD"] = "" };
        var vms = await cli.RunAsync(["vms"], noPassword);
        Assert.AreEqual(0, vms.ExitCode, $"the cached session serves the next command without a password{Environment.NewLine}{vms}");

        StringAssert.Contains(await cli.OkAsync("logout"), "Logged out");
        Assert.AreEqual(0, Directory.GetFiles(cli.SessionDirectory).Length, "logout removes the cached session");
        var after = await cli.RunAsync(["vms"], noPassword);
        Assert.AreEqual(2, after.ExitCode, after.ToString());
        StringAssert.Contains(after.StandardError, "guestops login");
    }

    [TestMethod]
    public async Task Vms_ListsEveryVmReady_AndFindsAVmByNameInventoryPathAndUuid()
    {
        using var cli = NewCli();
        var table = await cli.OkAsync("vms");
        StringAssert.Contains(table, "demo-vm-1");
        StringAssert.Contains(table, "demo-vm-2");
        using var json = JsonDocument.Parse(await cli.OkAsync("vms", "--json"));
        var vms = json.RootElement.EnumerateArray().ToDictionary(v => v.GetProperty("name").GetString()!);
        Assert.IsTrue(vms["demo-vm-1"].GetProperty("guestOperationsReady").GetBoolean());
        Assert.AreEqual("poweredOn", vms["demo-vm-2"].GetProperty("powerState").GetString());
        var uuid = vms["demo-vm-2"].GetProperty("uuid").GetString()!;

        foreach (var vm in new[] { "demo-vm-2", "ha-datacenter/vm/demo-vm-2", "/ha-datacenter/vm/demo-vm-2", uuid })
        {
            var hostName = await cli.OkAsync("-vm", vm, "run", "--", "hostname");
            Assert.AreEqual("demo-vm-2", hostName.Trim(), $"-vm {vm}");
        }

        var missing = await cli.RunAsync("-vm", "no-such-vm", "validate");
        Assert.AreEqual(1, missing.ExitCode, missing.ToString());
        StringAssert.Contains(missing.StandardError, "No VM is named 'no-such-vm'");
        Assert.AreEqual(0, (await cli.RunAsync("wait-ready", "--timeout", "10")).ExitCode);
    }

    [TestMethod]
    public async Task Validate_AcceptsTheGuestPassword_AWrongOneExitsNonZeroNamingInvalidGuestLogin()
    {
        using var cli = NewCli();
        StringAssert.Contains(await cli.OkAsync("validate"), "accepts the credentials of demo");
        var wrong = await cli.RunAsync("-l", "demo:not-the-password", "validate");
        Assert.AreNotEqual(0, wrong.ExitCode, wrong.ToString());
        var lines = wrong.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.AreEqual(1, lines.Length, $"one line: {wrong}");
        StringAssert.StartsWith(lines[0], "guestops: InvalidGuestLogin: ");
        Assert.IsFalse(wrong.StandardError.Contains("not-the-password", StringComparison.Ordinal), "the password is never printed");

        var wrongRun = await cli.RunAsync(["run", "--", "true"], new Dictionary<string, string> { ["GOVC_GUEST_LOGIN"] = "demo:bad" });
        Assert.AreNotEqual(0, wrongRun.ExitCode);
        StringAssert.Contains(wrongRun.StandardError, "InvalidGuestLogin");
    }

    [TestMethod]
    public async Task Sspi_NtlmAndNegotiateLogonsGiveATicket_CommandsRunAsThatAccount_AWrongPasswordIsInvalidGuestLogin()
    {
        using var cli = NewCli();
        StringAssert.Contains(await cli.OkAsync("--sspi", "validate"), "accepts the SSPI ticket");
        Assert.AreEqual("demo\n", await cli.OkAsync("--sspi", "run", "--", "id", "-un"));
        var negotiate = await cli.RunAsync("--sspi", "--sspi-package", "Negotiate", "-l", $"DEMO-VM-1\\root:{GuestServer.GuestPassword}", "run", "--", "id", "-un");
        Assert.AreEqual(0, negotiate.ExitCode, negotiate.ToString());
        Assert.AreEqual("root\n", negotiate.StandardOutput);
        var wrong = await cli.RunAsync("--sspi", "-l", "demo:wrong", "validate");
        Assert.AreEqual(1, wrong.ExitCode, wrong.ToString());
        StringAssert.StartsWith(wrong.StandardError, "guestops: InvalidGuestLogin: ");
    }

    /// <summary>27 guestops processes; each starts WCF (the contract's description and one XmlSerializer generation for
    /// its operations) before its first call, about a second of CPU, so the class default of 60 s is too short under load.</summary>
    [TestMethod]
    [Timeout(180_000)] // some twenty CLI runs, each a process start: a minute on a loaded machine
    public async Task FileCommands_MkdirTouchLsExistsChmodChownMvMktempRmRmdir()
    {
        using var cli = NewCli();
        using var root = NewCli("root");
        var work = await WorkDirectoryAsync(cli);
        await cli.OkAsync("mkdir", "-p", $"{work}/a/b");
        await cli.OkAsync("touch", $"{work}/a/file.txt");
        await cli.OkAsync("touch", "-d", "2020-01-02T03:04:05Z", $"{work}/a/file.txt");
        await cli.OkAsync("chmod", "0600", $"{work}/a/file.txt");
        await root.OkAsync("chown", "0:0", $"{work}/a/file.txt");

        using (var listing = JsonDocument.Parse(await cli.OkAsync("ls", "--json", $"{work}/a")))
        {
            var entries = listing.RootElement.EnumerateArray().ToDictionary(e => e.GetProperty("path").GetString()!);
            CollectionAssert.AreEquivalent(new[] { "b", "file.txt" }, entries.Keys.ToList());
            Assert.AreEqual("directory", entries["b"].GetProperty("type").GetString());
            Assert.AreEqual("600", entries["file.txt"].GetProperty("permissions").GetString());
            Assert.AreEqual(0, entries["file.txt"].GetProperty("ownerId").GetInt32());
            StringAssert.StartsWith(entries["file.txt"].GetProperty("modificationTime").GetString(), "2020-01-02T03:04:05");
        }

        var human = await cli.OkAsync("ls", "-a", $"{work}/a");
        StringAssert.Contains(human, "-rw-------");
        StringAssert.Contains(human, "file.txt");
        StringAssert.Contains(human, " ..");

        Assert.AreEqual($"{work}/a/b: directory", (await cli.OkAsync("exists", $"{work}/a/b")).Trim());
        Assert.AreEqual($"{work}/a/file.txt: file", (await cli.OkAsync("exists", $"{work}/a/file.txt")).Trim());
        var absent = await cli.RunAsync("exists", $"{work}/a/none");
        Assert.AreEqual(1, absent.ExitCode, absent.ToString());

        await root.OkAsync("mv", $"{work}/a/file.txt", $"{work}/a/moved.txt");
        await cli.OkAsync("mv", $"{work}/a/b", $"{work}/a/c");
        Assert.AreEqual(0, (await cli.RunAsync("exists", $"{work}/a/c")).ExitCode);
        Assert.AreEqual(1, (await cli.RunAsync("exists", $"{work}/a/b")).ExitCode);

        var temporaryFile = (await cli.OkAsync("mktemp", "--suffix", ".tmp")).Trim();
        StringAssert.EndsWith(temporaryFile, ".tmp");
        Assert.AreEqual(0, (await cli.RunAsync("exists", temporaryFile)).ExitCode);
        await cli.OkAsync("rm", temporaryFile);
        Assert.AreEqual(1, (await cli.RunAsync("exists", temporaryFile)).ExitCode);

        var notEmpty = await cli.RunAsync("rmdir", $"{work}/a");
        Assert.AreEqual(1, notEmpty.ExitCode);
        StringAssert.StartsWith(notEmpty.StandardError, "guestops: DirectoryNotEmpty: ");
        var missing = await cli.RunAsync("rm", $"{work}/nothing");
        StringAssert.StartsWith(missing.StandardError, "guestops: FileNotFound: ");
        await cli.OkAsync("rmdir", "-r", work);
        Assert.AreEqual(1, (await cli.RunAsync("exists", work)).ExitCode);
    }

    [TestMethod]
    [Timeout(180_000)]
    public async Task UploadAndDownload_100MiB_AreByteIdentical()
    {
        using var cli = NewCli();
        var work = await WorkDirectoryAsync(cli);
        var local = Path.Combine(cli.Home, "big.bin");
        var data = new byte[100 << 20];
        new Random(8).NextBytes(data);
        await File.WriteAllBytesAsync(local, data);
        var expected = Convert.ToHexString(SHA256.HashData(data));
        data = [];

        var upload = await cli.RunAsync(["upload", local, $"{work}/"], null, TimeSpan.FromMinutes(2));
        Assert.AreEqual(0, upload.ExitCode, upload.ToString());
        StringAssert.Contains(upload.StandardError, $"upload {work}/big.bin: 100.0 MiB in", "a plain progress line when not on a terminal");
        var again = await cli.RunAsync(["upload", local, $"{work}/big.bin"], null);
        StringAssert.StartsWith(again.StandardError, "guestops: FileAlreadyExists: ", again.ToString());

        var copy = Path.Combine(cli.Home, "copy.bin");
        var download = await cli.RunAsync(["download", $"{work}/big.bin", copy], null, TimeSpan.FromMinutes(2));
        Assert.AreEqual(0, download.ExitCode, download.ToString());
        await using (var stream = File.OpenRead(copy))
        {
            Assert.AreEqual(expected, Convert.ToHexString(await SHA256.HashDataAsync(stream)), "the downloaded file is byte-identical");
        }

        var refused = await cli.RunAsync("download", $"{work}/big.bin", copy);
        Assert.AreEqual(1, refused.ExitCode, "an existing local file is kept without --force");
        await cli.OkAsync("rmdir", "-r", work);
    }

    [TestMethod]
    public async Task Run_PrintsStdoutAndStderr_AndExitsWithTheProgramsExitCode()
    {
        using var cli = NewCli();
        var run = await cli.RunAsync("run", "--", "sh", "-c", "echo out; echo err >&2; exit 7");
        Assert.AreEqual(7, run.ExitCode, run.ToString());
        Assert.AreEqual("out\n", run.StandardOutput);
        Assert.AreEqual("err\n", run.StandardError);

        var quoting = await cli.OkAsync("run", "--", "/bin/echo", "it's", "a b", "$HOME", "*");
        Assert.AreEqual("it's a b $HOME *\n", quoting, "arguments reach the program as given, not re-interpreted by the guest shell");

        using var json = JsonDocument.Parse(await cli.OkAsync("run", "--json", "--cwd", "/tmp", "-e", "GREETING=hi", "--", "sh", "-c", "echo $GREETING $(pwd)"));
        Assert.AreEqual(0, json.RootElement.GetProperty("exitCode").GetInt32());
        Assert.AreEqual("hi /tmp\n", json.RootElement.GetProperty("stdout").GetString());

        var streamed = await cli.RunAsync("run", "--stream", "--", "sh", "-c", "for i in 1 2 3; do echo line $i; sleep 0.3; done; echo done >&2; exit 3");
        Assert.AreEqual(3, streamed.ExitCode, streamed.ToString());
        Assert.AreEqual("line 1\nline 2\nline 3\n", streamed.StandardOutput);
        Assert.AreEqual("done\n", streamed.StandardError);

        var timedOut = await cli.RunAsync("run", "--timeout", "1", "--", "sleep", "30");
        Assert.AreEqual(124, timedOut.ExitCode, timedOut.ToString());
        StringAssert.Contains(timedOut.StandardError, "did not finish within 1 s");

        var leftovers = await cli.OkAsync("ls", "--match", "^guestops-run-", "/tmp/vmware-demo");
        Assert.AreEqual("", leftovers, "run removes its output files");
    }

    [TestMethod]
    public async Task StartPsKillEnv()
    {
        using var cli = NewCli();
        var pid = (await cli.OkAsync("start", "/bin/sleep", "--", "300")).Trim();
        using (var running = JsonDocument.Parse(await cli.OkAsync("ps", "--json", "--pid", pid)))
        {
            var process = running.RootElement.EnumerateArray().Single();
            Assert.AreEqual("demo", process.GetProperty("owner").GetString());
            Assert.AreEqual(JsonValueKind.Null, process.GetProperty("exitCode").ValueKind, "a running program has no exit code");
        }

        StringAssert.Contains(await cli.OkAsync("ps"), "/bin/sleep");
        await cli.OkAsync("kill", pid);
        using (var ended = JsonDocument.Parse(await cli.OkAsync("ps", "--json", "--pid", pid)))
        {
            Assert.AreEqual(128 + 15, ended.RootElement.EnumerateArray().Single().GetProperty("exitCode").GetInt32(), "killed by SIGTERM");
        }

        var unknown = await cli.RunAsync("kill", "999999");
        StringAssert.StartsWith(unknown.StandardError, "guestops: GuestProcessNotFound: ");

        CollectionAssert.AreEquivalent(new[] { "HOME=/home/demo", "USER=demo" }, (await cli.OkAsync("env", "HOME", "USER")).Split('\n', StringSplitOptions.RemoveEmptyEntries));
        using var all = JsonDocument.Parse(await cli.OkAsync("env", "--json"));
        Assert.AreEqual("/home/demo", all.RootElement.GetProperty("HOME").GetString());
    }

    [TestMethod]
    public async Task Connection_ThumbprintPinning_CertificateVerification_AndGuestopsVariables()
    {
        using var cli = NewCli();
        var strict = await cli.RunAsync(["vms"], new Dictionary<string, string> { ["GOVC_INSECURE"] = "" });
        Assert.AreEqual(1, strict.ExitCode, strict.ToString());
        StringAssert.Contains(strict.StandardError, "is not trusted (SHA-256 ");
        var thumbprint = strict.StandardError.Split("SHA-256 ")[1][..64];

        var pinned = await cli.RunAsync(["vms", "--thumbprint", thumbprint], new Dictionary<string, string> { ["GOVC_INSECURE"] = "" });
        Assert.AreEqual(0, pinned.ExitCode, pinned.ToString());
        var wrongPin = await cli.RunAsync(["vms", "--thumbprint", new string('0', 64)], null);
        StringAssert.Contains(wrongPin.StandardError, "does not match the pinned thumbprint");

        var guestopsVariables = new Dictionary<string, string>
        {
            ["GOVC_URL"] = "", ["GOVC_PASSWORD"] = "", ["GOVC_INSECURE"] = "", ["GOVC_VM"] = "", ["GOVC_GUEST_LOGIN"] = "",
            ["GUESTOPS_URL"] = $"127.0.0.1:{Server.Server.Port}",
            ["GUESTOPS_USERNAME"] = "root",
            ["GUESTOPS_PASSWORD"] = Server.Server.RootPassword!,
            ["GUESTOPS_INSECURE"] = "true",
            ["GUESTOPS_VM"] = "demo-vm-1",
            ["GUESTOPS_GUEST_LOGIN"] = "demo",
            ["GUESTOPS_GUEST_PASSWORD"] = GuestServer.GuestPassword,
        };
        var viaGuestops = await cli.RunAsync(["validate"], guestopsVariables);
        Assert.AreEqual(0, viaGuestops.ExitCode, viaGuestops.ToString());

        var noVm = await cli.RunAsync(["ls", "/"], new Dictionary<string, string> { ["GOVC_VM"] = "" });
        Assert.AreEqual(2, noVm.ExitCode);
        StringAssert.Contains(noVm.StandardError, "No VM: give -vm");
    }

    [TestMethod]
    public async Task ExplicitCredentials_WinOverACachedSession_AWrongOneFails()
    {
        using var cli = NewCli();
        StringAssert.Contains(await cli.OkAsync("login"), "Logged in");
        var cached = new Dictionary<string, string> { ["GOVC_PASSWORD"] = "" };
        Assert.AreEqual(0, (await cli.RunAsync(["vms"], cached)).ExitCode, "the cached session serves a command without a password");

        var url = $"https://root:not-the-password@127.0.0.1:{Server.Server.Port}/sdk";
        foreach (var (arguments, environment, how) in new (string[], Dictionary<string, string>, string)[]
        {
            (["vms", "--password", "not-the-password"], cached, "--password"),
            (["vms"], new Dictionary<string, string> { ["GOVC_PASSWORD"] = "not-the-password" }, "GOVC_PASSWORD"),
            (["vms"], new Dictionary<string, string> { ["GOVC_PASSWORD"] = "", ["GUESTOPS_PASSWORD"] = "not-the-password" }, "GUESTOPS_PASSWORD"),
            (["vms"], new Dictionary<string, string> { ["GOVC_PASSWORD"] = "", ["GOVC_URL"] = url }, "the URL's password"),
        })
        {
            var wrong = await cli.RunAsync(arguments, environment);
            Assert.AreEqual(1, wrong.ExitCode, $"{how}: an explicit wrong password must fail, not use the cached session{Environment.NewLine}{wrong}");
            StringAssert.StartsWith(wrong.StandardError, "guestops: InvalidLogin", how);
        }

        Assert.AreEqual(0, (await cli.RunAsync(["vms"], cached)).ExitCode, "the cached session still serves commands without a password");
    }

    [TestMethod]
    public async Task Errors_AreOneLine_TheFullExceptionOnlyWithDebug()
    {
        using var cli = NewCli();
        using var closed = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        closed.Start();
        var port = ((System.Net.IPEndPoint)closed.LocalEndpoint).Port;
        closed.Stop();
        var unreachable = new Dictionary<string, string> { ["GOVC_URL"] = $"https://root@127.0.0.1:{port}/sdk" };
        var plain = await cli.RunAsync(["vms"], unreachable);
        Assert.AreEqual(1, plain.ExitCode, plain.ToString());
        Assert.AreEqual(1, plain.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length, $"one line{Environment.NewLine}{plain}");
        StringAssert.StartsWith(plain.StandardError, "guestops: Cannot reach");

        var debug = await cli.RunAsync(["vms", "--debug"], unreachable);
        Assert.AreEqual(1, debug.ExitCode, debug.ToString());
        StringAssert.StartsWith(debug.StandardError, "guestops: Cannot reach", "the same line first");
        StringAssert.Contains(debug.StandardError, "   at ", "then the full exception");
    }

    /// <summary>The password prompt on a real terminal (a pseudo-terminal): echo is already off when the prompt appears,
    /// and the typed password is never shown.</summary>
    [TestMethod]
    public async Task PasswordPrompt_TurnsEchoOffBeforeThePromptAppears()
    {
        using var cli = NewCli();
        const string Script = """
            import os, pty, select, sys, termios, time
            pid, fd = pty.fork()
            if pid == 0:
                os.execvp(sys.argv[1], sys.argv[1:])
            seen = b""
            deadline = time.time() + 60
            while b"Password for" not in seen and time.time() < deadline:
                if select.select([fd], [], [], 1)[0]:
                    try:
                        chunk = os.read(fd, 4096)
                    except OSError:
                        break
                    if not chunk:
                        break
                    seen += chunk
            echo = termios.tcgetattr(fd)[3] & termios.ECHO
            os.write(fd, os.environ["TYPED_PASSWORD"].encode() + b"\n")
            while True:
                try:
                    chunk = os.read(fd, 4096)
                except OSError:
                    break
                if not chunk:
                    break
                seen += chunk
            _, status = os.waitpid(pid, 0)
            print("ECHO-AT-PROMPT=" + ("on" if echo else "off"))
            print("EXIT=%d" % os.waitstatus_to_exitcode(status))
            print("OUTPUT=" + seen.decode(errors="replace"))
            """;
        var environment = new Dictionary<string, string>(cli.Environment) { ["GOVC_PASSWORD"] = "", ["TYPED_PASSWORD"] = Server.Server.RootPassword! };
        var run = await ProcessRunner.RunAsync("/usr/bin/python3", ["-c", Script, ClientTools.Dotnet, ClientTools.CliDll, "login"], TimeSpan.FromSeconds(90), cli.Home, environment);
        Assert.AreEqual(0, run.ExitCode, run.ToString());
        StringAssert.Contains(run.StandardOutput, "ECHO-AT-PROMPT=off", $"echo must be off when the prompt appears{Environment.NewLine}{run}");
        StringAssert.Contains(run.StandardOutput, "EXIT=0", run.ToString());
        StringAssert.Contains(run.StandardOutput, "Logged in", run.ToString());
        Assert.IsFalse(run.StandardOutput.Contains(Server.Server.RootPassword!, StringComparison.Ordinal), $"the typed password is never echoed{Environment.NewLine}{run}");
    }
}
