using System.IO.Pipelines;
using GuestOps.Channel.Connection;
using GuestOps.Channel.Messages;
using GuestOps.Host.Dispatch;
using GuestOps.Tests.Channel;

namespace GuestOps.Tests.Host;

/// <summary>
/// A VM dispatcher's data calls seen from above the host agent: request data goes in from a <see cref="PipeReader"/>,
/// response data comes out as a plain <see cref="Stream"/>, and an abort is an <see cref="IOException"/>.
/// </summary>
[TestClass]
public sealed class GuestDataCallTests
{
    private const string Truncate = "truncate";
    private const string Refuse = "refuse";

    private DispatcherWithWorker? _host;
    private CancellationTokenSource _timeout = null!;

    private VmDispatcher Dispatcher => _host!.Dispatcher;

    public TestContext TestContext { get; set; } = null!;

    [TestInitialize]
    public async Task StartAsync()
    {
        _timeout = new CancellationTokenSource(ChannelTestKit.TestTimeout);
        _host = await DispatcherWithWorker.StartAsync(HandleAsync, [new UploadRequest { Grant = "" }.Operation, new DownloadRequest { Grant = "" }.Operation], _timeout.Token);
    }

    [TestCleanup]
    public async Task StopAsync()
    {
        if (_host is not null)
        {
            await _host.DisposeAsync();
        }

        _timeout.Dispose();
    }

    [TestMethod]
    public async Task Upload_SendsTheWholeSourceAndItsEnd()
    {
        var body = new Pipe();
        var data = Enumerable.Range(0, 300_000).Select(i => (byte)i).ToArray();
        var writing = WriteInPiecesAsync(body.Writer, data);
        await using var call = await Dispatcher.StartDataCallAsync(new UploadRequest { Grant = "ok" }, _timeout.Token);

        Assert.IsTrue(await call.SendRequestDataAsync(body.Reader, _timeout.Token));
        await writing;
        var response = await call.GetResponseAsync(_timeout.Token);
        Assert.IsNull(response.Error);
        Assert.AreEqual(data.Length, call.RequestBytes);
        Assert.AreEqual(data.Length, ((PathResult)response.Result!).Path.Length);
    }

    [TestMethod]
    public async Task Upload_StopsWaitingForTheSourceWhenTheWorkerFinishesEarly()
    {
        var body = new Pipe(); // nothing is ever written: only the worker's early answer can end the wait
        await using var call = await Dispatcher.StartDataCallAsync(new UploadRequest { Grant = Refuse }, _timeout.Token);

        Assert.IsFalse(await call.SendRequestDataAsync(body.Reader, _timeout.Token));
        var response = await call.GetResponseAsync(_timeout.Token);
        Assert.AreEqual(GuestErrorCode.TransferNotGranted, response.Error?.Code);
    }

    [TestMethod]
    public async Task Download_ReadsAsAStreamToItsEnd()
    {
        await using var call = await Dispatcher.StartDataCallAsync(new DownloadRequest { Grant = "ok" }, _timeout.Token);
        using var copy = new MemoryStream();

        await call.ResponseData.CopyToAsync(copy, _timeout.Token);
        Assert.AreEqual(200_000, copy.Length);
        Assert.IsNull((await call.GetResponseAsync(_timeout.Token)).Error);
    }

    [TestMethod]
    public async Task Download_AnAbortIsAnIOException()
    {
        await using var call = await Dispatcher.StartDataCallAsync(new DownloadRequest { Grant = Truncate }, _timeout.Token);
        using var copy = new MemoryStream();

        var e = await Assert.ThrowsAsync<IOException>(() => call.ResponseData.CopyToAsync(copy, _timeout.Token));
        Assert.IsInstanceOfType<GuestDataAbortedException>(e);
        StringAssert.Contains(e.Message, "disk gone");
    }

    private static async Task WriteInPiecesAsync(PipeWriter writer, byte[] data)
    {
        for (var i = 0; i < data.Length; i += 4096)
        {
            await writer.WriteAsync(data.AsMemory(i, Math.Min(4096, data.Length - i)));
        }

        await writer.CompleteAsync();
    }

    /// <summary>The worker: an upload is counted (answered as a path of that many characters), a download sends
    /// 200 000 bytes, or aborts after some.</summary>
    private static async ValueTask<ChannelResponse> HandleAsync(IncomingCall call, CancellationToken cancellationToken)
    {
        switch (call.Request)
        {
            case UploadRequest { Grant: Refuse }:
                return ChannelResponse.Failure(GuestErrorCode.TransferNotGranted, "no such grant");
            case UploadRequest:
                var buffer = new byte[65536];
                long total = 0;
                int n;
                while ((n = await call.RequestData.ReadAsync(buffer, cancellationToken)) > 0)
                {
                    total += n;
                }

                return ChannelResponse.Success(new PathResult { Path = new string('x', (int)total) });
            case DownloadRequest { Grant: var grant }:
                var chunk = new byte[50_000];
                for (var i = 0; i < (grant == Truncate ? 1 : 4); i++)
                {
                    await call.ResponseData.WriteAsync(chunk, cancellationToken);
                }

                if (grant == Truncate)
                {
                    await call.ResponseData.AbortAsync("disk gone");
                    return ChannelResponse.Failure(GuestErrorCode.FileAccessError, "disk gone");
                }

                await call.ResponseData.CompleteAsync(cancellationToken);
                return ChannelResponse.Success(EmptyResult.Instance);
            default:
                return ChannelResponse.Failure(GuestErrorCode.UnknownOperation, call.Request.Operation);
        }
    }
}
