using System.Globalization;
using System.Text.Json;
using GuestOps.IntegrationTests.Infrastructure;
using GuestOps.IntegrationTests.Infrastructure.Qemu;

namespace GuestOps.IntegrationTests.Qemu;

/// <summary>
/// Issue 20's acceptance against a real KVM guest: QEMU booting Debian's kernel with busybox, qemu-ga and PAM (see
/// <see cref="QemuGuest"/>), served by the real server through a VM entry <c>Provider: qemu-ga</c>,
/// <c>AgentSocket: &lt;the chardev socket&gt;</c>. The host agent pushes the tools worker through qemu-ga on first
/// contact; pyVmomi (Debian's python3-pyvmomi, python/pyvmomi_qemu_guest.py) then validates credentials (the guest's
/// PAM), lists files, starts a program and reads its exit code, moves 64 MiB each way through the /guestFile URLs,
/// and gets InvalidGuestLogin for a wrong password.
/// </summary>
[TestClass]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class QemuGuestProviderTests : IntegrationTest
{
    private const string VmName = "qemu-guest";
    private const string VmId = "vm-1";

    private static QemuGuest? _guest;
    private static ServerProcess? _server;

    private static QemuGuest Guest => _guest ?? throw new InvalidOperationException("The guest did not start.");

    private static ServerProcess Server => _server ?? throw new InvalidOperationException("The server did not start.");

    [ClassInitialize]
    public static async Task StartAsync(TestContext context)
    {
        _guest = await QemuGuest.StartAsync(memoryMiB: 768, cancellationToken: context.CancellationTokenSource.Token);
        context.WriteLine($"QEMU guest ({_guest.Accelerator}, {_guest.Kernel}) answered guest-ping {_guest.BootTime.TotalSeconds:0.0} s after start.");
        _server = await ServerProcess.StartAsync(new ServerOptions
        {
            VirtualMachineNames = [VmName],
            Environment = new Dictionary<string, string>
            {
                ["GuestOps__VirtualMachines__0__Provider"] = "qemu-ga",
                ["GuestOps__VirtualMachines__0__AgentSocket"] = _guest.AgentSocket,
                // appsettings.json's second VM gets no agent: only the QEMU guest runs.
                ["GuestOps__Provider"] = "none",
                ["GUESTOPS_DEMO_GUEST_PASSWORD"] = "Demo-Pa55!",
            },
        });

        // First contact copies the tools worker into the guest through guest-file-write (slow under TCG).
        using var client = new SoapClient(_server, new ResponseLog());
        await client.LoginOkAsync();
        try
        {
            var took = await GuestSoap.WaitForReadinessAsync(client, VmId, ready: true, TimeSpan.FromMinutes(6), TimeSpan.FromSeconds(1));
            context.WriteLine($"{VmName}: guest.guestOperationsReady after {took.TotalSeconds:0.0} s.");
        }
        catch (AssertFailedException e)
        {
            throw new AssertFailedException($"{e.Message}{Environment.NewLine}{_server.AllOutput}{Environment.NewLine}{_guest.Diagnostics}");
        }
    }

    [ClassCleanup]
    public static async Task StopAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
            _server = null;
        }

        if (_guest is not null)
        {
            await _guest.DisposeAsync();
            _guest = null;
        }
    }

    [TestMethod]
    [Timeout(300_000, CooperativeCancellation = true)]
    public async Task PyVmomi_ValidateCredentials_WrongPassword_AndListFiles()
    {
        var facts = await RunScenarioAsync("auth,files", TimeSpan.FromMinutes(4));
        Assert.IsTrue(facts.GetProperty("validated").GetBoolean(), "ValidateCredentialsInGuest with the guest's password");
        Assert.AreEqual("InvalidGuestLogin", facts.GetProperty("wrongPassword").GetProperty("wsdlName").GetString(), "a wrong password");
        var etc = facts.GetProperty("etcNames").EnumerateArray().Select(e => e.GetString()).ToList();
        CollectionAssert.IsSubsetOf(new[] { "passwd", "shadow", "pam.d" }, etc, "ListFilesInGuest /etc lists the guest's own files, as the guest user");
        await AssertStillServingAsync(Server);
    }

    [TestMethod]
    [Timeout(300_000, CooperativeCancellation = true)]
    public async Task PyVmomi_StartProgram_ListProcessesReportsItsExitCode_AsTheGuestUser()
    {
        var facts = await RunScenarioAsync("programs", TimeSpan.FromMinutes(4));
        var process = facts.GetProperty("process");
        Assert.AreEqual(facts.GetProperty("pid").GetInt64(), process.GetProperty("pid").GetInt64());
        Assert.AreEqual(7, process.GetProperty("exitCode").GetInt32(), "the exit code of /bin/sh -c '...; exit 7'");
        Assert.IsTrue(process.GetProperty("hasEndTime").GetBoolean(), "an exited program has an endTime");
        Assert.AreEqual(QemuGuest.User, process.GetProperty("owner").GetString());
        var startedBy = facts.GetProperty("homeFiles").GetProperty("started-by");
        Assert.AreEqual(1000, startedBy.GetProperty("ownerId").GetInt64(), "the program ran as the guest user, not as the agent's root");
        Assert.AreEqual(5, startedBy.GetProperty("size").GetInt64(), "`id -u` wrote \"1000\\n\"");

        // The calls went to the resident tools (started once through guest-exec, reached through their pipes), not to
        // the one-shot fallback that serves while none runs.
        var output = Server.StandardOutput;
        StringAssert.Contains(output, $"VM {VmName}: resident guestops-tools running", "the host agent started the resident tools in the QEMU guest");
        Assert.IsFalse(output.Contains($"VM {VmName}: the resident guestops-tools", StringComparison.Ordinal), $"the resident tools neither failed to start nor stopped:{Environment.NewLine}{output}");
        await AssertStillServingAsync(Server);
    }

    [TestMethod]
    [Timeout(900_000, CooperativeCancellation = true)]
    public async Task PyVmomi_64MiBUploadAndDownload_ThroughGuestFileUrls_ByteIdentical()
    {
        var facts = await RunScenarioAsync("transfer", TimeSpan.FromMinutes(14));
        Assert.AreEqual(200, facts.GetProperty("putStatus").GetInt32(), "PUT of 64 MiB to the /guestFile URL");
        Assert.AreEqual(64L << 20, facts.GetProperty("downloadSize").GetInt64(), "FileTransferInformation.size");
        Assert.AreEqual(1000, facts.GetProperty("downloadOwner").GetInt64(), "the uploaded file belongs to the guest user");
        Assert.AreEqual(200, facts.GetProperty("getStatus").GetInt32());
        Assert.AreEqual(64L << 20, facts.GetProperty("receivedSize").GetInt64());
        Assert.AreEqual(facts.GetProperty("sentSha256").GetString(), facts.GetProperty("receivedSha256").GetString(), "64 MiB up and down, byte-identical");
        TestContext.WriteLine($"64 MiB: upload {facts.GetProperty("uploadSeconds").GetDouble():0.0} s, download {facts.GetProperty("downloadSeconds").GetDouble():0.0} s ({Guest.Accelerator}).");
        await AssertStillServingAsync(Server);
    }

    /// <summary>Runs python/pyvmomi_qemu_guest.py with <paramref name="steps"/> against the QEMU guest; its facts.</summary>
    private async Task<JsonElement> RunScenarioAsync(string steps, TimeSpan timeout)
    {
        List<string> arguments =
        [
            "--host", "127.0.0.1", "--port", Server.Port.ToString(CultureInfo.InvariantCulture),
            "--user", "root", "--password", Server.RootPassword!,
            "--guest-user", QemuGuest.User, "--guest-password", Guest.Password, "--vm-name", VmName, "--steps", steps,
        ];

        using var pyvmomi = await RunPyVmomiAsync("pyvmomi_qemu_guest.py", arguments, timeout);
        var facts = pyvmomi.Result.GetProperty("facts").Clone();
        TestContext.WriteLine(facts.ToString());
        return facts;
    }
}
