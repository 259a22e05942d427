using GuestOps.Channel;
using GuestOps.Channel.Connection;
using GuestOps.Channel.Messages;
using GuestOps.Tests.Channel;
using GuestOps.Tests.Host;
using GuestOps.Tools;
using GuestOps.Tools.Auth;
using GuestOps.Tools.Identity;
using GuestOps.Tools.Impersonation;
using GuestOps.Tools.Processes;
using Microsoft.Extensions.Logging.Abstractions;
using Moq;

namespace GuestOps.Tests.Tools;

/// <summary>
/// The worker's side of file transfers over a real in-memory channel and the real file system (a temporary directory;
/// the test user maps to this process's own uid, so the impersonator just runs the work): grants, staging, rename into
/// place, and that nothing is left behind or changed when a transfer fails.
/// </summary>
[TestClass]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class FileTransferTests
{
    private static readonly GuestPasswordCredential Alice = new("alice", "pw");
    private string _dir = null!;
    private ManualTime _time = null!;

    [TestInitialize]
    public void Init()
    {
        _dir = Directory.CreateTempSubdirectory("guestops-xfer-").FullName;
        _time = new ManualTime(DateTimeOffset.UtcNow);
    }

    [TestCleanup]
    public void Cleanup() => Directory.Delete(_dir, recursive: true);

    private sealed class SameUser : IImpersonator
    {
        public bool CanImpersonateOthers => false;

        public Task<T> RunAsAsync<T>(GuestUser user, Func<T> work, CancellationToken cancellationToken) => Task.FromResult(work());
    }

    private async Task<(ChannelConnection Host, ChannelConnection Worker)> ConnectAsync(CancellationToken ct)
    {
        var pam = new Mock<IGuestAuthenticator>();
        pam.Setup(p => p.AuthenticateAsync("alice", "pw", It.IsAny<CancellationToken>())).ReturnsAsync((AuthenticationResult.Success, ""));
        var users = new Mock<IUserDirectory>();
        users.Setup(u => u.FindByName("alice")).Returns(new GuestUser("alice", GetUid(), GetUid(), [], _dir));
        var auth = new GuestAuthenticationService(pam.Object, users.Object, LoginThrottle.CreateDefault(TimeProvider.System), null, NullLogger<GuestAuthenticationService>.Instance);
        var handler = new GuestRequestHandler(auth, new SameUser(), new HashSet<string>(), NullLogger<GuestRequestHandler>.Instance, users.Object, new StartedPrograms(), _time);
        return await ChannelTestKit.ConnectAsync(ChannelTestKit.HostOptions(), ChannelTestKit.WorkerOptions(handler), ct);
    }

    private static uint GetUid() => uint.Parse(File.ReadAllLines("/proc/self/status").First(l => l.StartsWith("Uid:", StringComparison.Ordinal)).Split('\t', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture);

    private static async Task<ChannelResponse> UploadAsync(ChannelConnection host, string grant, byte[] data, bool abort, CancellationToken ct)
    {
        await using var call = await host.StartCallAsync(new UploadRequest { Grant = grant }, ct);
        try
        {
            await call.RequestData.WriteAsync(data, ct);
            if (abort)
            {
                await call.RequestData.AbortAsync("client went away");
            }
            else
            {
                await call.RequestData.CompleteAsync(ct);
            }
        }
        catch (ChannelDataAbortedException)
        {
            // the worker answered early
        }

        return await call.GetResponseAsync(ct);
    }

    private string[] Leftovers() => Directory.GetFiles(_dir).Select(Path.GetFileName).Where(n => n!.Contains(".guestops-", StringComparison.Ordinal)).ToArray()!;

    [TestMethod]
    [Timeout(60_000, CooperativeCancellation = true)]
    public async Task Upload_StagesThenRenames_WithDefaultPermissions_AndGrantIsSingleUse()
    {
        var ct = ChannelTestKit.Timeout(out var cts);
        using var _ = cts;
        var (host, worker) = await ConnectAsync(ct);
        await using var h = host;
        await using var w = worker;
        var path = Path.Combine(_dir, "up.bin");
        var data = new byte[(3 << 20) + 5];
        Random.Shared.NextBytes(data);

        var grant = await host.InvokeAsync(new InitiateUploadRequest { Path = path, Size = data.Length, Credential = Alice }, ct);
        Assert.AreEqual("alice", grant.User);
        Assert.IsFalse(File.Exists(path), "initiate creates nothing");
        Assert.IsTrue((await UploadAsync(host, grant.Grant, data, abort: false, ct)).IsSuccess);
        CollectionAssert.AreEqual(data, await File.ReadAllBytesAsync(path, ct));
        Assert.AreEqual((UnixFileMode)0b110_100_100, File.GetUnixFileMode(path));
        Assert.AreEqual(0, Leftovers().Length);

        var again = await UploadAsync(host, grant.Grant, data, abort: false, ct);
        Assert.AreEqual(GuestErrorCode.TransferNotGranted, again.Error?.Code);
    }

    [TestMethod]
    [Timeout(60_000, CooperativeCancellation = true)]
    public async Task Upload_ShortLongOrAborted_LeavesNothing_AndTheExistingFileIntact()
    {
        var ct = ChannelTestKit.Timeout(out var cts);
        using var _ = cts;
        var (host, worker) = await ConnectAsync(ct);
        await using var h = host;
        await using var w = worker;
        var path = Path.Combine(_dir, "keep.txt");
        await File.WriteAllTextAsync(path, "original", ct);

        async Task<ChannelResponse> Attempt(int size, byte[] data, bool abort)
        {
            var grant = await host.InvokeAsync(new InitiateUploadRequest { Path = path, Size = size, Overwrite = true, Credential = Alice }, ct);
            return await UploadAsync(host, grant.Grant, data, abort, ct);
        }

        Assert.AreEqual(GuestErrorCode.InvalidArgument, (await Attempt(100, new byte[50], abort: false)).Error?.Code, "short");
        Assert.AreEqual(GuestErrorCode.InvalidArgument, (await Attempt(100, new byte[150], abort: false)).Error?.Code, "long");
        Assert.AreEqual(GuestErrorCode.Canceled, (await Attempt(100, new byte[10], abort: true)).Error?.Code, "aborted");
        Assert.AreEqual("original", await File.ReadAllTextAsync(path, ct));
        Assert.AreEqual(0, Leftovers().Length, string.Join(", ", Leftovers()));
    }

    [TestMethod]
    [Timeout(60_000, CooperativeCancellation = true)]
    public async Task Upload_WithoutOverwrite_RefusesAFileThatAppearedAfterInitiate_AndExpiredGrants()
    {
        var ct = ChannelTestKit.Timeout(out var cts);
        using var _ = cts;
        var (host, worker) = await ConnectAsync(ct);
        await using var h = host;
        await using var w = worker;
        var path = Path.Combine(_dir, "race.txt");
        var grant = await host.InvokeAsync(new InitiateUploadRequest { Path = path, Size = 3, Credential = Alice }, ct);
        await File.WriteAllTextAsync(path, "theirs", ct);
        Assert.AreEqual(GuestErrorCode.FileAlreadyExists, (await UploadAsync(host, grant.Grant, "abc"u8.ToArray(), abort: false, ct)).Error?.Code);
        Assert.AreEqual("theirs", await File.ReadAllTextAsync(path, ct));
        Assert.AreEqual(GuestErrorCode.FileAlreadyExists, (await host.SendAsync(new InitiateUploadRequest { Path = path, Size = 3, Credential = Alice }, ct)).Error?.Code);

        var late = await host.InvokeAsync(new InitiateUploadRequest { Path = Path.Combine(_dir, "late.txt"), Size = 3, LifetimeSeconds = 60, Credential = Alice }, ct);
        _time.Now += TimeSpan.FromSeconds(61);
        Assert.AreEqual(GuestErrorCode.TransferNotGranted, (await UploadAsync(host, late.Grant, "abc"u8.ToArray(), abort: false, ct)).Error?.Code);
        Assert.AreEqual(0, Leftovers().Length);
    }

    [TestMethod]
    [Timeout(60_000, CooperativeCancellation = true)]
    public async Task Download_SendsExactlyTheFile_AndRefusesAFileThatChangedSize()
    {
        var ct = ChannelTestKit.Timeout(out var cts);
        using var _ = cts;
        var (host, worker) = await ConnectAsync(ct);
        await using var h = host;
        await using var w = worker;
        var path = Path.Combine(_dir, "down.bin");
        var data = new byte[(2 << 20) + 3];
        Random.Shared.NextBytes(data);
        await File.WriteAllBytesAsync(path, data, ct);

        var grant = await host.InvokeAsync(new InitiateDownloadRequest { Path = path, Credential = Alice }, ct);
        Assert.AreEqual(data.Length, grant.File!.Size);
        await using (var call = await host.StartCallAsync(new DownloadRequest { Grant = grant.Grant }, ct))
        {
            using var received = new MemoryStream();
            await call.ResponseData.CopyToAsync(received, ct);
            Assert.IsTrue((await call.GetResponseAsync(ct)).IsSuccess);
            CollectionAssert.AreEqual(data, received.ToArray());
        }

        var changed = await host.InvokeAsync(new InitiateDownloadRequest { Path = path, Credential = Alice }, ct);
        await File.AppendAllTextAsync(path, "more", ct);
        await using (var call = await host.StartCallAsync(new DownloadRequest { Grant = changed.Grant }, ct))
        {
            await Assert.ThrowsExactlyAsync<ChannelDataAbortedException>(async () => await call.ResponseData.ReadExactlyAsync(new byte[16], ct), "no byte is sent; the stream is aborted");
            Assert.AreEqual(GuestErrorCode.FileAccessError, (await call.GetResponseAsync(ct)).Error?.Code);
        }

        Assert.AreEqual(GuestErrorCode.NotAFile, (await host.SendAsync(new InitiateDownloadRequest { Path = _dir, Credential = Alice }, ct)).Error?.Code);
        File.CreateSymbolicLink(Path.Combine(_dir, "link"), path);
        Assert.AreEqual(GuestErrorCode.InvalidArgument, (await host.SendAsync(new InitiateDownloadRequest { Path = Path.Combine(_dir, "link"), Credential = Alice }, ct)).Error?.Code);
    }
}
