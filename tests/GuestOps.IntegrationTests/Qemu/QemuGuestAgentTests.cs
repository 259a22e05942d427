using System.Security.Cryptography;
using System.Text.Json.Nodes;
using GuestOps.IntegrationTests.Infrastructure.Qemu;

namespace GuestOps.IntegrationTests.Qemu;

/// <summary>
/// The real QEMU test guest on its own, without GuestOps: it boots, its qemu-ga answers on the virtio-serial socket,
/// runs programs and moves files. If these fail, the qemu-ga provider tests against the same guest cannot pass.
/// </summary>
[TestClass]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class QemuGuestAgentTests
{
    private static QemuGuest? _guest;

    public TestContext TestContext { get; set; } = null!;

    private static QemuGuest Guest => _guest ?? throw new InvalidOperationException("The guest did not start.");

    [ClassInitialize]
    public static async Task BootAsync(TestContext context)
    {
        _guest = await QemuGuest.StartAsync(cancellationToken: context.CancellationTokenSource.Token);
        context.WriteLine($"QEMU guest ({_guest.Accelerator}, {_guest.Kernel}) answered guest-ping {_guest.BootTime.TotalSeconds:0.0} s after start.");
    }

    [ClassCleanup]
    public static async Task ShutDownAsync()
    {
        if (_guest is not null)
        {
            await _guest.DisposeAsync();
            _guest = null;
        }
    }

    [TestMethod]
    public async Task Agent_AnswersPing_AndAllowsExecAndFileCommands()
    {
        await using var agent = await Guest.ConnectAsync(cancellationToken: TestContext.CancellationTokenSource.Token);
        await agent.CallAsync("guest-ping");
        var info = (await agent.CallAsync("guest-info"))!;
        TestContext.WriteLine($"qemu-ga {info["version"]}");
        var enabled = info["supported_commands"]!.AsArray()
            .Where(c => (bool)c!["enabled"]!).Select(c => (string)c!["name"]!).ToHashSet();
        foreach (var command in new[] { "guest-exec", "guest-exec-status", "guest-file-open", "guest-file-write", "guest-file-read", "guest-file-close" })
        {
            Assert.Contains(command, enabled, $"{command} must be enabled in the test guest.{Environment.NewLine}{Guest.Diagnostics}");
        }
    }

    [TestMethod]
    public async Task GuestExec_ReportsExitCodesAndOutput()
    {
        var token = TestContext.CancellationTokenSource.Token;
        await using var agent = await Guest.ConnectAsync(cancellationToken: token);
        Assert.AreEqual(0, (await agent.ExecAsync("/bin/true", [], token)).ExitCode, "/bin/true");
        Assert.AreEqual(1, (await agent.ExecAsync("/bin/false", [], token)).ExitCode, "/bin/false");
        var (exitCode, output) = await agent.ExecAsync("/bin/sh", ["-c", "hostname; id -u guest; ls /dev/virtio-ports; exit 7"], token);
        Assert.AreEqual(7, exitCode, output);
        CollectionAssert.AreEqual(new[] { "qemu-guest", "1000", "org.qemu.guest_agent.0" }, output.Split('\n', StringSplitOptions.RemoveEmptyEntries), "the guest's own host name, account and agent port");
    }

    [TestMethod]
    public async Task GuestFileWriteThenRead_ReturnsTheSameBytes()
    {
        var token = TestContext.CancellationTokenSource.Token;
        await using var agent = await Guest.ConnectAsync(cancellationToken: token);
        var data = RandomNumberGenerator.GetBytes(256 << 10);
        var path = "/tmp/raw-" + Guid.NewGuid().ToString("N");

        var handle = (long)(await agent.CallAsync("guest-file-open", new { path, mode = "w" }, token))!;
        var written = (await agent.CallAsync("guest-file-write", new Dictionary<string, object> { ["handle"] = handle, ["buf-b64"] = Convert.ToBase64String(data) }, token))!;
        Assert.AreEqual(data.Length, (int)written["count"]!);
        await agent.CallAsync("guest-file-close", new { handle }, token);

        handle = (long)(await agent.CallAsync("guest-file-open", new { path, mode = "r" }, token))!;
        var read = (await agent.CallAsync("guest-file-read", new { handle, count = data.Length + 1 }, token))!;
        await agent.CallAsync("guest-file-close", new { handle }, token);
        Assert.IsTrue((bool)read["eof"]!, read.ToJsonString()[..Math.Min(200, read.ToJsonString().Length)]);
        CollectionAssert.AreEqual(data, Convert.FromBase64String((string)read["buf-b64"]!), "the bytes read back differ from those written");

        var (exitCode, size) = await agent.ExecAsync("/bin/sh", ["-c", $"wc -c < {path}"], token);
        Assert.AreEqual(0, exitCode);
        Assert.AreEqual(data.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), size.Trim(), "the guest sees the file the agent wrote");
    }

    [TestMethod]
    public async Task Reconnect_ResynchronisesAfterAnAbandonedRequest()
    {
        var token = TestContext.CancellationTokenSource.Token;
        await using (var first = await Guest.ConnectAsync(cancellationToken: token))
        {
            // Leave an answer unread on the channel: the next client must not take it for its own.
            await first.CallAsync("guest-ping", cancellationToken: token);
        }

        await using var second = await Guest.ConnectAsync(cancellationToken: token);
        var info = await second.CallAsync("guest-info", cancellationToken: token);
        Assert.IsInstanceOfType<JsonObject>(info);
        Assert.IsNotNull(info["version"]);
    }
}
