using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using GuestOps.IntegrationTests.Infrastructure;
using GuestOps.Vim;

namespace GuestOps.IntegrationTests;

/// <summary>
/// Acceptance of issue 5, file transfers: InitiateFileTransferToGuest / FromGuest through the typed
/// client, then HTTP PUT / GET of the returned URL without a session cookie, against sandboxed VMs, with generated,
/// checksummed contents. The server's URLs live 4 s here (GUESTOPS_FILE_TRANSFER_LIFETIME) so expiry is testable; every
/// other test uses its URL at once.
/// </summary>
[TestClass]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class GuestFileTransferTests : IntegrationTest
{
    private const string Vm = "vm-1";
    private const int DemoUid = 1000;
    private const string PublicFile = "/tmp/xfer-public.txt";
    private static readonly TimeSpan UrlLifetime = TimeSpan.FromSeconds(4);

    private static GuestServer? _server;

    [ClassInitialize]
    public static async Task StartServerAsync(TestContext context)
    {
        _server = await GuestServer.StartAsync(
            vmNames: ["demo-vm-1", "demo-vm-2"],
            arguments: [$"--GuestOps:FileTransferLifetime={UrlLifetime:c}"]);
        var files = await _server.FilesAsync(Vm);
        files.CreateFile("/root/secret.txt", "root only", 0, 0, (UnixFileMode)0b110_000_000);
        files.CreateFile(PublicFile, "for everyone", 0, 0, (UnixFileMode)0b110_100_100);
    }

    [ClassCleanup]
    public static async Task StopServerAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
            _server = null;
        }
    }

    private static GuestServer Server => _server ?? throw new AssertFailedException("The guest server did not start.");

    private async Task<(TypedGuestClient Typed, GuestOpsClient Demo, GuestFileTransferClient Http, string Dir)> SetUpAsync(string vm = Vm)
    {
        var typed = await ConnectAsync(Server.Server, vm);
        var demo = new GuestOpsClient(typed, vm, "demo", GuestServer.GuestPassword);
        var dir = await demo.CreateTemporaryDirectoryOk("xfer-", "");
        return (typed, demo, new GuestFileTransferClient(Server.Server), dir);
    }

    private static async Task<string> UploadOk(GuestOpsClient client, GuestFileTransferClient http, string path, GeneratedContent content, long size, bool overwrite = false, GuestFileAttributes? attributes = null)
    {
        var url = await client.InitiateFileTransferToGuestOk(path, size, overwrite, attributes);
        var put = await http.PutAsync(url, content);
        Assert.AreEqual(HttpStatusCode.OK, put.Status, $"PUT {path}: {put}");
        return url;
    }

    private static async Task<TransferResponse> DownloadOk(GuestOpsClient client, GuestFileTransferClient http, string path, long expectedSize)
    {
        var info = await client.InitiateFileTransferFromGuestOk(path);
        Assert.AreEqual(expectedSize, info.size, $"FileTransferInformation.size of {path}");
        var get = await http.GetAsync(info.url);
        Assert.AreEqual(HttpStatusCode.OK, get.Status, $"GET {path}: {get}");
        Assert.AreEqual(expectedSize, get.ContentLength, "Content-Length");
        Assert.AreEqual(expectedSize, get.Bytes, "bytes received");
        return get;
    }

    [TestMethod]
    [Timeout(60_000)]
    public async Task UploadThenDownload_0B_1B_1MiB_BytesIdentical()
    {
        var (typed, demo, http, dir) = await SetUpAsync();
        await using var _ = typed;
        using var __ = http;
        foreach (var size in new long[] { 0, 1, 1 << 20 })
        {
            var path = $"{dir}/file-{size}.bin";
            var content = new GeneratedContent(size, seed: (int)size + 1);
            await UploadOk(demo, http, path, content, size);
            var get = await DownloadOk(demo, http, path, size);
            Assert.AreEqual(content.Sha256, get.Sha256, $"{size} bytes round trip");

            var entry = await demo.StatOk(path);
            Assert.AreEqual(size, entry.Size);
            Assert.AreEqual(DemoUid, entry.OwnerId, "the upload is the guest user's");
            Assert.AreEqual(0x81A4, entry.Permissions, "default permissions 0644 (regular file)");
        }

        CollectionAssert.AreEquivalent(new[] { ".", "..", "file-0.bin", "file-1.bin", "file-1048576.bin" }, (await demo.ListOk(dir)).Names.ToList(), "no staging files are left");
    }

    [TestMethod]
    [Timeout(300_000)]
    public async Task UploadThenDownload_1GiB_StreamsAndIsIdentical()
    {
        var (typed, demo, http, dir) = await SetUpAsync();
        await using var _ = typed;
        using var __ = http;
        const long size = 1L << 30;
        var path = $"{dir}/big.bin";
        var content = new GeneratedContent(size, seed: 1234);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        await UploadOk(demo, http, path, content, size);
        var up = clock.Elapsed;
        clock.Restart();
        var get = await DownloadOk(demo, http, path, size);
        TestContext.WriteLine($"1 GiB upload {up.TotalSeconds:0.00} s, download {clock.Elapsed.TotalSeconds:0.00} s");
        Assert.AreEqual(content.Sha256, get.Sha256, "1 GiB round trip");
        File.Delete((await Server.FilesAsync(Vm)).HostPath(path));
    }

    [TestMethod]
    [Timeout(60_000)]
    public async Task InitiateFileTransferToGuest_ChecksUpFront_ExistingDirectoryMissingParentPermissions()
    {
        var (typed, demo, http, dir) = await SetUpAsync();
        await using var _ = typed;
        using var __ = http;
        var path = $"{dir}/exists.txt";
        await UploadOk(demo, http, path, new GeneratedContent(10, 1), 10);

        (await demo.InitiateFileTransferToGuest(path, 5, overwrite: false)).AssertFault("FileAlreadyExists");
        (await demo.InitiateFileTransferToGuest(dir, 5, overwrite: true)).AssertFault("NotAFile");
        (await demo.InitiateFileTransferToGuest($"{dir}/missing/x", 5, overwrite: false)).AssertFault("FileNotFound");
        (await demo.InitiateFileTransferToGuest("/root/x", 5, overwrite: false)).AssertFault("GuestPermissionDenied");
        (await demo.InitiateFileTransferToGuest("relative/x", 5, overwrite: false)).AssertFault("InvalidArgument");
        (await demo.InitiateFileTransferToGuest($"{dir}/neg", -1, overwrite: false)).AssertFault("InvalidArgument");
        (await demo.InitiateFileTransferToGuest($"{dir}/chown", 5, overwrite: false, GuestOpsClient.PosixAttributes(ownerId: 0))).AssertFault("GuestPermissionDenied");
        (await demo.InitiateFileTransferToGuest($"{dir}/win", 5, overwrite: false, new GuestWindowsFileAttributes { hidden = true })).AssertFault("OperationNotSupportedByGuest");
        (await demo.As("demo", "wrong-password").InitiateFileTransferToGuest($"{dir}/x", 5, overwrite: false)).AssertFault("InvalidGuestLogin");
        (await demo.InitiateFileTransferToGuest($"{dir}/huge", 1L << 55, overwrite: false)).AssertFault("NoDiskSpace", "FileFaultFault");

        // overwrite=true replaces the contents (and the old attributes are not kept).
        var replacement = new GeneratedContent(3, 2);
        await UploadOk(demo, http, path, replacement, 3, overwrite: true);
        Assert.AreEqual(replacement.Sha256, (await DownloadOk(demo, http, path, 3)).Sha256);
    }

    [TestMethod]
    [Timeout(60_000)]
    public async Task InitiateFileTransferFromGuest_UnreadableDirectoryMissing_FaultAtInitiate()
    {
        var (typed, demo, http, dir) = await SetUpAsync();
        await using var _ = typed;
        using var __ = http;
        (await demo.InitiateFileTransferFromGuest("/root/secret.txt")).AssertFault("GuestPermissionDenied");
        (await demo.InitiateFileTransferFromGuest(dir)).AssertFault("NotAFile");
        (await demo.InitiateFileTransferFromGuest($"{dir}/missing")).AssertFault("FileNotFound");

        // root may read it: size and attributes come back with the URL.
        var root = demo.As("root", GuestServer.GuestPassword);
        var info = await root.InitiateFileTransferFromGuestOk("/root/secret.txt");
        Assert.AreEqual("root only".Length, info.size);
        var attributes = info.attributes as GuestPosixFileAttributes ?? throw new AssertFailedException($"attributes of type {info.attributes.GetType().Name}");
        Assert.AreEqual(33152, attributes.permissions, "0600 regular file");
        Assert.AreEqual(0, attributes.ownerId);
        var get = await http.GetAsync(info.url);
        Assert.AreEqual(HttpStatusCode.OK, get.Status, get.ToString());
        Assert.AreEqual(Convert.ToHexStringLower(SHA256.HashData("root only"u8)), get.Sha256);
    }

    [TestMethod]
    [Timeout(60_000)]
    public async Task FileAttributes_PermissionsTimesAndOwner_AreApplied()
    {
        var (typed, demo, http, dir) = await SetUpAsync();
        await using var _ = typed;
        using var __ = http;
        var mtime = new DateTime(2021, 3, 4, 5, 6, 7, DateTimeKind.Utc);
        var atime = new DateTime(2022, 1, 2, 3, 4, 5, DateTimeKind.Utc);
        await UploadOk(demo, http, $"{dir}/attrs", new GeneratedContent(100, 3), 100, attributes: GuestOpsClient.PosixAttributes(mtime, atime, permissions: 0b111_101_000));
        var entry = await demo.StatOk($"{dir}/attrs");
        Assert.AreEqual(0x8000 | 0b111_101_000, entry.Permissions, entry.ToString());
        Assert.AreEqual(mtime, entry.ModificationTime);
        Assert.AreEqual(atime, entry.AccessTime);

        // root can give the file away.
        var root = demo.As("root", GuestServer.GuestPassword);
        await UploadOk(root, http, $"{dir}/given", new GeneratedContent(5, 4), 5, attributes: GuestOpsClient.PosixAttributes(ownerId: DemoUid, groupId: DemoUid));
        var given = await demo.StatOk($"{dir}/given");
        Assert.AreEqual(DemoUid, given.OwnerId);
        Assert.AreEqual(DemoUid, given.GroupId);
    }

    [TestMethod]
    [Timeout(60_000)]
    public async Task Urls_AreOneTime_BoundAndUnforgeable_RefusalsHaveNoSideEffect()
    {
        var (typed, demo, http, dir) = await SetUpAsync();
        await using var _ = typed;
        using var __ = http;
        var path = $"{dir}/bound.txt";
        var url = await demo.InitiateFileTransferToGuestOk(path, 4, overwrite: false);
        StringAssert.Matches(url, new System.Text.RegularExpressions.Regex(@"^https://\*:\d+/guestFile\?id=\d+&token=[A-Za-z0-9_-]+$"), "the documented URL form");
        var other = await demo.InitiateFileTransferToGuestOk($"{dir}/other.txt", 4, overwrite: false);
        var download = (await demo.InitiateFileTransferFromGuestOk(PublicFile)).url;

        string Token(string u) => u[(u.IndexOf("token=", StringComparison.Ordinal) + 6)..];
        string Id(string u) => u[(u.IndexOf("id=", StringComparison.Ordinal) + 3)..u.IndexOf('&', StringComparison.Ordinal)];
        var tampered = url[..^2] + (url[^2] == 'A' ? "BB" : "AA");
        var swapped = url.Replace("id=" + Id(url), "id=" + Id(other), StringComparison.Ordinal); // url's token on other's transfer
        var body = "abcd"u8.ToArray();

        Assert.AreEqual(HttpStatusCode.Forbidden, (await http.PutAsync(tampered, body)).Status, "tampered token");
        Assert.AreEqual(HttpStatusCode.Forbidden, (await http.PutAsync(swapped, body)).Status, "token of another transfer (other path)");
        Assert.AreEqual(HttpStatusCode.NotFound, (await http.PutAsync(url.Replace("id=" + Id(url), "id=999999", StringComparison.Ordinal), body)).Status, "unknown id");
        Assert.AreEqual(HttpStatusCode.BadRequest, (await http.PutAsync(url.Replace(Token(url), "", StringComparison.Ordinal), body)).Status, "no token");
        Assert.AreEqual(HttpStatusCode.MethodNotAllowed, (await http.GetAsync(url)).Status, "GET of an upload URL");
        Assert.AreEqual(HttpStatusCode.MethodNotAllowed, (await http.PutAsync(download, body)).Status, "PUT to a download URL");
        Assert.AreEqual(HttpStatusCode.BadRequest, (await http.PutAsync(url, "abcdef"u8.ToArray())).Status, "Content-Length other than fileSize");
        Assert.AreEqual(HttpStatusCode.OK, (await http.PutAsync(url, body)).Status, "after those refusals the genuine URL still works");
        Assert.AreEqual(HttpStatusCode.NotFound, (await http.PutAsync(url, body)).Status, "a used URL is refused");
        Assert.AreEqual("abcd", File.ReadAllText((await Server.FilesAsync(Vm)).HostPath(path)));
        Assert.AreEqual(HttpStatusCode.OK, (await http.PutAsync(other, body)).Status, "the other transfer was not touched by the swapped-id attempt");

        var get = await http.GetAsync(download);
        Assert.AreEqual(HttpStatusCode.OK, get.Status);
        Assert.AreEqual(HttpStatusCode.NotFound, (await http.GetAsync(download)).Status, "a used download URL is refused");
    }

    [TestMethod]
    [Timeout(60_000)]
    public async Task Urls_Expire()
    {
        var (typed, demo, http, dir) = await SetUpAsync();
        await using var _ = typed;
        using var __ = http;
        var url = await demo.InitiateFileTransferToGuestOk($"{dir}/late.txt", 1, overwrite: false);
        await Task.Delay(UrlLifetime + TimeSpan.FromSeconds(1));
        Assert.AreEqual(HttpStatusCode.Gone, (await http.PutAsync(url, "x"u8.ToArray())).Status);
        CollectionAssert.DoesNotContain((await demo.ListOk(dir)).Names.ToList(), "late.txt");
    }

    [TestMethod]
    [Timeout(60_000)]
    public async Task UploadCutOffHalfway_LeavesNoFile_AndKeepsPreviousContents()
    {
        var (typed, demo, http, dir) = await SetUpAsync();
        await using var _ = typed;
        using var __ = http;
        var files = await Server.FilesAsync(Vm);
        var path = $"{dir}/precious.txt";
        await UploadOk(demo, http, path, new GeneratedContent(1000, 5), 1000);
        var before = File.ReadAllBytes(files.HostPath(path));

        // A client that announces 4 MiB, sends half and drops the connection.
        const int size = 4 << 20;
        var url = http.Resolve(await demo.InitiateFileTransferToGuestOk(path, size, overwrite: true));
        await using (var raw = await RawHttpConnection.OpenAsync(Server.Server.BaseUri, CancellationToken.None))
        {
            await raw.SendAsync($"PUT {url.PathAndQuery} HTTP/1.1", [("Host", url.Authority), ("Content-Length", size.ToString(CultureInfo.InvariantCulture))], new byte[size / 2], chunkSize: null, CancellationToken.None);
        }

        // A chunked body that ends short of fileSize.
        var shortUrl = await demo.InitiateFileTransferToGuestOk($"{dir}/short.bin", 1 << 20, overwrite: false);
        var shortPut = await http.PutAsync(shortUrl, new GeneratedContent(1 << 19, 6, announceLength: false));
        Assert.AreEqual(HttpStatusCode.BadRequest, shortPut.Status, shortPut.ToString());

        // A client failing mid-body through HttpClient.
        var failing = await demo.InitiateFileTransferToGuestOk(path, size, overwrite: true);
        await Assert.ThrowsExactlyAsync<HttpRequestException>(() => http.PutAsync(failing, new GeneratedContent(size, 7) { FailAfter = size / 3 }));

        // The worker removes the staging file once the stream is known to be broken.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        List<string> names;
        do
        {
            await Task.Delay(100);
            names = (await demo.ListOk(dir)).Names.ToList();
        }
        while (names.Count != 3 && DateTime.UtcNow < deadline);

        CollectionAssert.AreEquivalent(new[] { ".", "..", "precious.txt" }, names, "no partial or staging file");
        CollectionAssert.AreEqual(before, File.ReadAllBytes(files.HostPath(path)), "the previous contents are intact");
    }

    [TestMethod]
    [Timeout(60_000)]
    public async Task StalledUpload_DoesNotBlockCallsToThisOrOtherVms()
    {
        var (typed, demo, http, dir) = await SetUpAsync();
        await using var _ = typed;
        using var __ = http;
        var other = new GuestOpsClient(typed, "vm-2", "demo", GuestServer.GuestPassword);
        const int size = 64 << 20;
        var url = http.Resolve(await demo.InitiateFileTransferToGuestOk($"{dir}/stalled.bin", size, overwrite: false));
        await using var raw = await RawHttpConnection.OpenAsync(Server.Server.BaseUri, CancellationToken.None);
        await raw.SendAsync($"PUT {url.PathAndQuery} HTTP/1.1", [("Host", url.Authority), ("Content-Length", size.ToString(CultureInfo.InvariantCulture))], new byte[1 << 20], chunkSize: null, CancellationToken.None);

        // The upload now waits for its client; everything else goes on.
        var clock = System.Diagnostics.Stopwatch.StartNew();
        for (var i = 0; i < 10; i++)
        {
            await demo.ListOk(dir);
            await other.ListOk("/tmp");
        }

        Assert.IsTrue(clock.Elapsed < TimeSpan.FromSeconds(5), $"20 calls beside a stalled upload took {clock.Elapsed}");
    }

    [TestMethod]
    [Timeout(120_000)]
    public async Task ConcurrentTransfers_ToBothVms_AllIdentical()
    {
        var (typed, demo, http, dir) = await SetUpAsync();
        var (typed2, demo2, _, dir2) = await SetUpAsync("vm-2");
        await using var _1 = typed;
        await using var _2 = typed2;
        using var __ = http;
        var jobs = Enumerable.Range(0, 8).Select(async i =>
        {
            var (client, d) = i % 2 == 0 ? (demo, dir) : (demo2, dir2);
            var size = (4L << 20) + i;
            var content = new GeneratedContent(size, 100 + i);
            await UploadOk(client, http, $"{d}/c{i}", content, size);
            return (content.Sha256, (await DownloadOk(client, http, $"{d}/c{i}", size)).Sha256);
        }).ToList();
        foreach (var (sent, received) in await Task.WhenAll(jobs))
        {
            Assert.AreEqual(sent, received);
        }
    }
}
