using System.Diagnostics;
using GuestOps.Channel;
using GuestOps.Channel.Connection;
using GuestOps.Channel.Messages;
using GuestOps.Channel.Transport;

namespace GuestOps.Tests.Tools;

/// <summary>
/// The real worker process, in a bubblewrap guest with real PAM (pam_unix over a generated shadow file) and real
/// impersonation, driven through the channel exactly as the host-side dispatcher will drive it.
/// </summary>
[TestClass]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class WorkerProcessTests
{
    private static readonly Dictionary<string, (uint Uid, string Password)> Users = new()
    {
        ["alice"] = (1001, "alice-pw-1"),
        ["bob"] = (1002, "bob-pw-2"),
    };

    public TestContext TestContext { get; set; } = null!;

    private static GuestPasswordCredential As(string user, string? password = null) => new(user, password ?? Users[user].Password);

    private static async Task<(GuestSandbox Sandbox, UnixSocketChannelListener Listener, ChannelConnection Host)> StartAsync(string hostName, CancellationToken ct, params string[] workerArgs)
    {
        var why = GuestSandbox.Unavailable();
        if (why is not null)
        {
            Assert.Inconclusive("Sandboxed worker tests skipped: " + why);
        }

        var sandbox = await GuestSandbox.CreateAsync(hostName, Users);
        var listener = UnixSocketChannelListener.Start(sandbox.SocketPath);
        sandbox.StartWorker(workerArgs);
        try
        {
            var accept = listener.AcceptAsync(ct).AsTask();
            if (await Task.WhenAny(accept, sandbox.WorkerExited) != accept)
            {
                Assert.Fail("The worker exited before connecting:\n" + sandbox.WorkerLog);
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

    [TestMethod]
    [Timeout(60_000, CooperativeCancellation = true)]
    public async Task RealWorker_AuthenticatesWithPam_ImpersonatesUsers_AndListsWithReferenceSemantics()
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(TestContext.CancellationToken);
        cts.CancelAfter(TimeSpan.FromSeconds(50));
        var ct = cts.Token;
        var (sandbox, listener, host) = await StartAsync("guest-vm-1", ct);
        await using var _s = sandbox;
        await using var _l = listener;
        await using var _h = host;
        try
        {
            // Handshake facts come from inside the guest.
            var os = host.PeerHello.Os!;
            Assert.AreEqual("guest-vm-1", os.HostName);
            Assert.AreEqual("linux", os.OsFamily);
            Assert.AreEqual("root", os.WorkerUser);
            Assert.IsTrue(host.PeerSupports(new ListFilesRequest { Path = "/" }));
            Assert.IsTrue(host.PeerSupports(new ValidateCredentialsRequest()));

            // ValidateCredentials through real PAM.
            Assert.IsTrue((await host.SendAsync(new ValidateCredentialsRequest { Credential = As("alice") }, ct)).IsSuccess);
            var sw = Stopwatch.StartNew();
            var wrong = await host.SendAsync(new ValidateCredentialsRequest { Credential = As("alice", "nope") }, ct);
            Assert.AreEqual(GuestErrorCode.InvalidLogin, wrong.Error?.Code);
            Assert.IsLessThan(1500L, sw.ElapsedMilliseconds, "pam_unix's blocking 2 s fail delay is replaced by the worker's throttle");
            Assert.AreEqual(GuestErrorCode.InvalidLogin, (await host.SendAsync(new ValidateCredentialsRequest { Credential = As("mallory", "x") }, ct)).Error?.Code);
            Assert.AreEqual(GuestErrorCode.InvalidLogin, (await host.SendAsync(new ValidateCredentialsRequest(), ct)).Error?.Code);

            // Impersonation: bob cannot list alice's 0700 home; alice can.
            var denied = await host.SendAsync(new ListFilesRequest { Path = "/home/alice", Credential = As("bob") }, ct);
            Assert.AreEqual(GuestErrorCode.PermissionDenied, denied.Error?.Code, denied.Error?.Message);
            var mine = await host.InvokeAsync(new ListFilesRequest { Path = "/home/alice", Credential = As("alice") }, ct);
            CollectionAssert.AreEqual(new[] { ".", "..", "secret.txt" }, mine.Entries.Select(e => e.Name).ToArray());
            var secret = mine.Entries[2];
            Assert.AreEqual(1001u, secret.Uid);
            Assert.AreEqual("alice's secret\n".Length, secret.Size);

            // Paging over 120 entries (118 files + . and ..), as govc does it.
            var many = Path.Combine(sandbox.Root, "tmp", "many");
            Directory.CreateDirectory(many);
            for (var i = 0; i < 118; i++)
            {
                await File.WriteAllTextAsync(Path.Combine(many, $"f{i:D3}"), "x", ct);
            }

            var names = new List<string>();
            var index = 0;
            while (true)
            {
                var page = await host.InvokeAsync(new ListFilesRequest { Path = "/tmp/many", Index = index, Credential = As("bob") }, ct);
                names.AddRange(page.Entries.Select(e => e.Name));
                index += page.Entries.Count;
                if (page.Remaining == 0)
                {
                    break;
                }
            }

            Assert.HasCount(120, names.Distinct());

            // Argument errors come back as InvalidArgument, missing files as FileNotFound.
            Assert.AreEqual(GuestErrorCode.InvalidArgument, (await host.SendAsync(new ListFilesRequest { Path = "tmp", Credential = As("bob") }, ct)).Error?.Code);
            Assert.AreEqual(GuestErrorCode.InvalidArgument, (await host.SendAsync(new ListFilesRequest { Path = "/tmp", MatchPattern = "(", Credential = As("bob") }, ct)).Error?.Code);
            Assert.AreEqual(GuestErrorCode.FileNotFound, (await host.SendAsync(new ListFilesRequest { Path = "/nope", Credential = As("bob") }, ct)).Error?.Code);

            // The guest sees only its own processes: /proc inside shows a fresh PID namespace.
            var procs = await host.InvokeAsync(new ListFilesRequest { Path = "/proc", MatchPattern = "^[0-9]+$", Credential = As("bob") }, ct);
            Assert.IsLessThan(10, procs.Entries.Count + procs.Remaining);
        }
        catch
        {
            Console.WriteLine(sandbox.WorkerLog);
            throw;
        }
    }

    [TestMethod]
    [Timeout(60_000, CooperativeCancellation = true)]
    public async Task RealWorker_Reconnects_WhenTheHostDropsTheConnection_AndDeathIsSeenAtOnce()
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(TestContext.CancellationToken);
        cts.CancelAfter(TimeSpan.FromSeconds(50));
        var ct = cts.Token;
        var (sandbox, listener, host) = await StartAsync("guest-vm-2", ct);
        await using var _s = sandbox;
        await using var _l = listener;
        try
        {
            await host.DisposeAsync(); // e.g. the dispatcher restarted
            var sw = Stopwatch.StartNew();
            var transport = await listener.AcceptAsync(ct).AsTask().WaitAsync(TimeSpan.FromSeconds(5), ct);
            // This side never times the peer out, so only the connection itself can tell it that the worker died. It
            // still sends its pings: the worker times out a silent host (4 s), which a loaded machine can exceed.
            await using var again = await ChannelConnection.EstablishAsync(
                transport.Stream, new ChannelConnectionOptions { Role = ChannelRole.Host, HeartbeatTimeout = TimeSpan.MaxValue }, ct);
            Assert.IsLessThan(3000L, sw.ElapsedMilliseconds);
            Assert.IsTrue((await again.SendAsync(new ValidateCredentialsRequest { Credential = As("bob") }, ct)).IsSuccess);

            // kill -9 of the worker: the host sees the connection end from the socket (no heartbeat is involved).
            sandbox.KillWorker();
            var info = await again.Completion.WaitAsync(TimeSpan.FromSeconds(30), ct);
            // A killed peer ends the stream (PeerDisconnected) or resets it (TransportError), depending on timing.
            Assert.IsTrue(info.Reason is ChannelCloseReason.PeerDisconnected or ChannelCloseReason.TransportError, info.Reason.ToString());
        }
        catch
        {
            Console.WriteLine(sandbox.WorkerLog);
            throw;
        }
    }
}
