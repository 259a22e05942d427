using GuestOps.Channel.Connection;
using GuestOps.Channel.Messages;
using GuestOps.Host.Dispatch;
using GuestOps.Tests.Channel;
using Microsoft.Extensions.Logging.Abstractions;

namespace GuestOps.Tests.Host;

/// <summary>
/// A guest call a host agent relays for another process (a cluster's front end): the request's JSON goes to the VM's
/// worker as written and the worker's JSON comes back as it sent it (<see cref="VmDispatcher.InvokeJsonAsync"/>), with
/// the checks and failures of a call the host agent makes itself; the front end reads that JSON as a channel's reader
/// would (<see cref="ChannelMessageJson.ReadResponse"/>).
/// </summary>
[TestClass]
public sealed class RelayedGuestCallTests
{
    private static readonly GuestPasswordCredential Demo = new("demo", "pw");

    private readonly List<ChannelRequest> _seen = [];
    private readonly TaskCompletionSource _canceled = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private DispatcherWithWorker? _host;
    private CancellationTokenSource _timeout = null!;

    private VmDispatcher Dispatcher => _host!.Dispatcher;

    [TestInitialize]
    public async Task StartAsync()
    {
        _timeout = new CancellationTokenSource(ChannelTestKit.TestTimeout);
        _host = await DispatcherWithWorker.StartAsync(HandleAsync, ["ListFilesInGuest"], _timeout.Token);
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
    [Timeout(60_000)]
    public async Task TheRequestReachesTheWorkerAsWritten_AndItsAnswerComesBackAsTheWorkerSentIt()
    {
        var request = new ListFilesRequest { Path = "/tmp", Index = 1, MaxResults = 5, Credential = Demo };

        var json = await Dispatcher.InvokeJsonAsync("ListFilesInGuest", ChannelMessageJson.SerializeRequest(request), _timeout.Token);

        Assert.AreEqual(request, _seen.Single());
        CollectionAssert.AreEqual(ChannelMessageJson.SerializeResponse(Answer(request)), json);
        Assert.AreEqual("/tmp", ((ListFilesResult)ChannelMessageJson.ReadResponse(json).Result!).Entries[0].Name);
    }

    [TestMethod]
    [Timeout(60_000)]
    public async Task AnOperationTheWorkerDoesNotSupport_IsComponentsOutOfDate_AndNotSent()
    {
        var request = new StartProgramRequest { ProgramPath = "/bin/true", Credential = Demo };

        var failed = await Assert.ThrowsExactlyAsync<GuestAgentException>(() =>
            Dispatcher.InvokeJsonAsync(request.Operation, ChannelMessageJson.SerializeRequest(request), _timeout.Token));

        Assert.AreEqual(GuestAgentFailure.ComponentsOutOfDate, failed.Failure);
        Assert.IsEmpty(_seen);
    }

    [TestMethod]
    [Timeout(60_000)]
    public async Task ACanceledCall_IsCanceledAtTheWorker()
    {
        using var call = new CancellationTokenSource();
        var request = new ListFilesRequest { Path = "/slow", Credential = Demo };
        var pending = Dispatcher.InvokeJsonAsync("ListFilesInGuest", ChannelMessageJson.SerializeRequest(request), call.Token);
        while (_seen.Count == 0)
        {
            await Task.Delay(10, _timeout.Token);
        }

        await call.CancelAsync();

        await Assert.ThrowsAsync<OperationCanceledException>(() => pending);
        await _canceled.Task.WaitAsync(_timeout.Token);
    }

    [TestMethod]
    [Timeout(60_000)]
    public async Task TheEchoProvider_AnswersARelayedRequestAsItAnswersItsOwn()
    {
        await using var echo = VmDispatcher.Echo("vm-echo", new VmDispatcherOptions(), NullLoggerFactory.Instance);
        var request = new ListFilesRequest { Path = "/", Credential = Demo };

        var json = await echo.InvokeJsonAsync(request.Operation, ChannelMessageJson.SerializeRequest(request), _timeout.Token);

        CollectionAssert.AreEqual(ChannelMessageJson.SerializeResponse(await echo.InvokeAsync(request, _timeout.Token)), json);
    }

    [TestMethod]
    [Timeout(60_000)]
    public void AResponseThatCannotBeRead_IsAFailureOfThatCall()
    {
        var unknown = ChannelMessageJson.ReadResponse("{\"result\":{\"kind\":\"noSuchResult\"}}"u8);
        Assert.AreEqual(GuestErrorCode.InternalError, unknown.Error?.Code);
        StringAssert.StartsWith(unknown.Error!.Message, "Unreadable response");

        Assert.AreEqual("Empty response.", ChannelMessageJson.ReadResponse("null"u8).Error?.Message);
        Assert.AreEqual(GuestErrorCode.InternalError, ChannelMessageJson.ReadResponse("not json"u8).Error?.Code);
    }

    private static ChannelResponse Answer(ListFilesRequest request) => ChannelResponse.Success(new ListFilesResult
    {
        Entries = [new GuestFileEntry { Name = request.Path, Size = request.Index }],
        Remaining = request.MaxResults ?? 0,
    });

    private async ValueTask<ChannelResponse> HandleAsync(IncomingCall call, CancellationToken cancellationToken)
    {
        lock (_seen)
        {
            _seen.Add(call.Request);
        }

        if (call.Request is ListFilesRequest { Path: "/slow" })
        {
            try
            {
                await Task.Delay(Timeout.Infinite, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                _canceled.TrySetResult();
                throw;
            }
        }

        return call.Request is ListFilesRequest list ? Answer(list) : ChannelResponse.Failure(GuestErrorCode.UnknownOperation, call.Request.Operation);
    }
}
