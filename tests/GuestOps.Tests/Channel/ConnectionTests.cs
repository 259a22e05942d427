using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using GuestOps.Channel;
using GuestOps.Channel.Connection;
using GuestOps.Channel.Framing;
using GuestOps.Channel.Messages;

namespace GuestOps.Tests.Channel;

[TestClass]
public sealed class ConnectionTests
{
    private static readonly GuestPasswordCredential Cred = new("alice", "s3cret");

    private static ChannelResponse Echo(IncomingCall call) => call.Request switch
    {
        ListFilesRequest l => ChannelResponse.Success(new ListFilesResult
        {
            Entries = [new GuestFileEntry { Name = l.Path, Type = GuestFileType.File, Size = l.Index }],
            Remaining = l.Index,
        }),
        _ => ChannelResponse.Success(EmptyResult.Instance),
    };

    [TestMethod]
    [Timeout(60_000, CooperativeCancellation = true)]
    public async Task Handshake_ExchangesHellos_OsFacts_AndCapabilities()
    {
        var ct = ChannelTestKit.Timeout(out var cts);
        using var _ = cts;
        var (host, worker) = await ChannelTestKit.ConnectAsync(
            ChannelTestKit.HostOptions(), ChannelTestKit.WorkerOptions(new DelegateHandler((c, _) => ValueTask.FromResult(Echo(c)))), ct);
        await using var h = host;
        await using var w = worker;

        Assert.AreEqual(ChannelProtocol.CurrentVersion, host.NegotiatedVersion);
        Assert.AreEqual(ChannelRole.Worker, host.PeerHello.Role);
        Assert.AreEqual("vm-test", host.PeerHello.Os!.HostName);
        Assert.AreEqual("10.0.0.5", host.PeerHello.Os.IpAddresses[0]);
        Assert.IsTrue(host.PeerSupports(new ListFilesRequest { Path = "/" }));
        Assert.IsFalse(host.PeerSupports(new ValidateCredentialsRequest()), "not advertised by this test worker");
        Assert.IsTrue(host.PeerSupports(ChannelCapabilities.DataStreams));
        Assert.IsNull(worker.PeerHello.Os, "the host sends no OS facts");
    }

    [TestMethod]
    [Timeout(60_000, CooperativeCancellation = true)]
    public async Task Handshake_TooOldWorker_IsDetectedByTheHost()
    {
        var ct = ChannelTestKit.Timeout(out var cts);
        using var _ = cts;
        var (a, b) = ChannelTestKit.CreateStreamPair();
        var hostOptions = new ChannelConnectionOptions
        {
            Role = ChannelRole.Host, ProtocolVersion = 3, MinProtocolVersion = 2, HeartbeatInterval = TimeSpan.Zero,
        };
        var workerOptions = new ChannelConnectionOptions
        {
            Role = ChannelRole.Worker, ProtocolVersion = 1, MinProtocolVersion = 1, HeartbeatInterval = TimeSpan.Zero, Software = "old-tools/0.9",
        };
        var hostTask = ChannelConnection.EstablishAsync(a, hostOptions, ct);
        var workerTask = ChannelConnection.EstablishAsync(b, workerOptions, ct);

        var hostError = await Assert.ThrowsExactlyAsync<ChannelVersionMismatchException>(() => hostTask);
        Assert.IsTrue(hostError.PeerTooOld, "host side: the guest components are out of date");
        Assert.AreEqual("old-tools/0.9", hostError.Peer.Software);
        var workerError = await Assert.ThrowsExactlyAsync<ChannelVersionMismatchException>(() => workerTask);
        Assert.IsFalse(workerError.PeerTooOld, "worker side: it is the worker that is too old");
    }

    [TestMethod]
    [Timeout(60_000, CooperativeCancellation = true)]
    public async Task Handshake_RejectsSameRolePeer_AndGarbage()
    {
        var ct = ChannelTestKit.Timeout(out var cts);
        using var _ = cts;
        var (a, b) = ChannelTestKit.CreateStreamPair();
        var t1 = ChannelConnection.EstablishAsync(a, ChannelTestKit.HostOptions(), ct);
        var t2 = ChannelConnection.EstablishAsync(b, ChannelTestKit.HostOptions(), ct);
        await Assert.ThrowsExactlyAsync<ChannelProtocolException>(() => t1);
        await Assert.ThrowsExactlyAsync<ChannelProtocolException>(() => t2);

        var (c, d) = ChannelTestKit.CreateStreamPair();
        var t3 = ChannelConnection.EstablishAsync(c, ChannelTestKit.HostOptions(), ct);
        await d.WriteAsync(Encoding.ASCII.GetBytes("SSH-2.0-OpenSSH_9.2\r\n"), ct);
        await d.FlushAsync(ct);
        await Assert.ThrowsAsync<ChannelException>(() => t3);
    }

    [TestMethod]
    [Timeout(60_000, CooperativeCancellation = true)]
    public async Task Handshake_TimesOut_WhenPeerIsSilent()
    {
        var (a, _) = ChannelTestKit.CreateStreamPair();
        var options = new ChannelConnectionOptions { Role = ChannelRole.Host, HandshakeTimeout = TimeSpan.FromMilliseconds(200) };
        await Assert.ThrowsExactlyAsync<TimeoutException>(() => ChannelConnection.EstablishAsync(a, options, CancellationToken.None));
    }

    [TestMethod]
    [Timeout(60_000, CooperativeCancellation = true)]
    public async Task ConcurrentRequests_AreMultiplexed_AndAnsweredOutOfOrder()
    {
        var ct = ChannelTestKit.Timeout(out var cts);
        using var _ = cts;
        var handler = new DelegateHandler(async (call, token) =>
        {
            var l = (ListFilesRequest)call.Request;
            await Task.Delay((200 - l.Index) % 7 * 5, token); // later requests often finish first
            return Echo(call);
        });
        var (host, worker) = await ChannelTestKit.ConnectAsync(ChannelTestKit.HostOptions(), ChannelTestKit.WorkerOptions(handler), ct);
        await using var h = host;
        await using var w = worker;

        var tasks = Enumerable.Range(0, 200)
            .Select(i => host.InvokeAsync(new ListFilesRequest { Path = "/p" + i, Index = i, Credential = Cred }, ct))
            .ToArray();
        var results = await Task.WhenAll(tasks);
        for (var i = 0; i < results.Length; i++)
        {
            Assert.AreEqual("/p" + i, results[i].Entries[0].Name);
            Assert.AreEqual(i, results[i].Remaining);
        }

        Assert.AreEqual(0, host.OutstandingCalls);
    }

    [TestMethod]
    [Timeout(60_000, CooperativeCancellation = true)]
    public async Task Cancellation_SendsCancel_HandlerSeesIt_ConnectionStaysUsable()
    {
        var ct = ChannelTestKit.Timeout(out var cts);
        using var _ = cts;
        var handlerCanceled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var handlerStarted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var handler = new DelegateHandler(async (call, token) =>
        {
            if (call.Request is ListFilesRequest { Path: "/slow" })
            {
                handlerStarted.TrySetResult();
                try
                {
                    await Task.Delay(Timeout.Infinite, token);
                }
                catch (OperationCanceledException)
                {
                    handlerCanceled.TrySetResult();
                    throw;
                }
            }

            return Echo(call);
        });
        var (host, worker) = await ChannelTestKit.ConnectAsync(ChannelTestKit.HostOptions(), ChannelTestKit.WorkerOptions(handler), ct);
        await using var h = host;
        await using var w = worker;

        using var callCts = new CancellationTokenSource();
        var slow = host.SendAsync(new ListFilesRequest { Path = "/slow" }, callCts.Token);
        await handlerStarted.Task.WaitAsync(ct);
        callCts.Cancel();
        await Assert.ThrowsAsync<OperationCanceledException>(() => slow);
        await handlerCanceled.Task.WaitAsync(ct);

        var ok = await host.InvokeAsync(new ListFilesRequest { Path = "/fast" }, ct);
        Assert.AreEqual("/fast", ok.Entries[0].Name);
        Assert.IsTrue(host.IsOpen);
    }

    [TestMethod]
    [Timeout(60_000, CooperativeCancellation = true)]
    public async Task GuestErrors_RoundTrip_AndInvokeThrowsThem()
    {
        var ct = ChannelTestKit.Timeout(out var cts);
        using var _ = cts;
        var handler = new DelegateHandler((call, _) => ValueTask.FromResult(
            ChannelResponse.Failure(new GuestError(GuestErrorCode.PermissionDenied, "nope") { Path = "/root", OsError = 13 })));
        var (host, worker) = await ChannelTestKit.ConnectAsync(ChannelTestKit.HostOptions(), ChannelTestKit.WorkerOptions(handler), ct);
        await using var h = host;
        await using var w = worker;

        var ex = await Assert.ThrowsExactlyAsync<GuestErrorException>(() => host.InvokeAsync(new ListFilesRequest { Path = "/root" }, ct));
        Assert.AreEqual(GuestErrorCode.PermissionDenied, ex.Error.Code);
        Assert.AreEqual("/root", ex.Error.Path);
        Assert.AreEqual(13, ex.Error.OsError);
    }

    [TestMethod]
    [Timeout(60_000, CooperativeCancellation = true)]
    public async Task HandlerException_BecomesInternalError()
    {
        var ct = ChannelTestKit.Timeout(out var cts);
        using var _ = cts;
        var handler = new DelegateHandler((_, _) => throw new InvalidOperationException("boom"));
        var (host, worker) = await ChannelTestKit.ConnectAsync(ChannelTestKit.HostOptions(), ChannelTestKit.WorkerOptions(handler), ct);
        await using var h = host;
        await using var w = worker;
        var response = await host.SendAsync(new ValidateCredentialsRequest { Credential = Cred }, ct);
        Assert.AreEqual(GuestErrorCode.InternalError, response.Error!.Code);
        StringAssert.Contains(response.Error.Message, "boom");
    }

    [TestMethod]
    [Timeout(60_000, CooperativeCancellation = true)]
    [DataRow("UpgradeToolsInGuest", GuestErrorCode.UnknownOperation, DisplayName = "an operation of a newer host is unknown")]
    [DataRow("StartProgramInGuest", GuestErrorCode.InvalidArgument, DisplayName = "a known guest method without its programPath is malformed, not unknown")]
    public async Task RequestTheWorkerCannotRead_IsAnswered_UnknownOrMalformed(string operation, GuestErrorCode expected)
    {
        var ct = ChannelTestKit.Timeout(out var cts);
        using var _ = cts;
        var (a, b) = ChannelTestKit.CreateStreamPair();
        var workerTask = ChannelConnection.EstablishAsync(b, ChannelTestKit.WorkerOptions(new DelegateHandler((c, _) => ValueTask.FromResult(Echo(c)))), ct);

        // A raw "host" speaking the protocol by hand.
        await using var writer = new FrameWriter(a);
        await using var reader = new FrameReader(a, 1 << 20);
        var hello = JsonSerializer.SerializeToUtf8Bytes(new ChannelHello { Role = ChannelRole.Host }, ChannelJsonContext.Default.ChannelHello);
        await writer.WriteAsync(FrameType.Hello, 0, hello);
        using (var peerHello = await reader.ReadFrameAsync(ct))
        {
            Assert.AreEqual(FrameType.Hello, peerHello!.Type);
        }

        await using var worker = await workerTask;
        await writer.WriteAsync(FrameType.Request, 1, Encoding.UTF8.GetBytes($$$"""{"op":"{{{operation}}}","credential":{"kind":"password","userName":"a","password":"b"}}"""));
        using var frame = await reader.ReadFrameAsync(ct);
        Assert.AreEqual(FrameType.Response, frame!.Type);
        Assert.AreEqual(1u, frame.StreamId);
        var response = JsonSerializer.Deserialize(frame.Payload, ChannelJsonContext.Default.ChannelResponse)!;
        Assert.AreEqual(expected, response.Error!.Code, response.Error.Message);
    }

    [TestMethod]
    [Timeout(60_000, CooperativeCancellation = true)]
    public async Task HeartbeatLoss_IsDetected_AndFailsPendingCalls()
    {
        var ct = ChannelTestKit.Timeout(out var cts);
        using var _ = cts;
        var (a, b) = ChannelTestKit.CreateStreamPair();
        var hostTask = ChannelConnection.EstablishAsync(
            a, ChannelTestKit.HostOptions(TimeSpan.FromMilliseconds(50), TimeSpan.FromMilliseconds(300)), ct);

        // A worker that completes the hello and then hangs (reads nothing, answers nothing).
        await using var writer = new FrameWriter(b);
        var hello = JsonSerializer.SerializeToUtf8Bytes(new ChannelHello { Role = ChannelRole.Worker }, ChannelJsonContext.Default.ChannelHello);
        await writer.WriteAsync(FrameType.Hello, 0, hello);
        await using var host = await hostTask;

        var pending = host.SendAsync(new ValidateCredentialsRequest { Credential = Cred }, ct);
        var started = DateTime.UtcNow;
        var info = await host.Completion.WaitAsync(ct);
        Assert.AreEqual(ChannelCloseReason.HeartbeatTimeout, info.Reason);
        Assert.IsLessThan(3.0, (DateTime.UtcNow - started).TotalSeconds);
        var ex = await Assert.ThrowsExactlyAsync<ChannelClosedException>(() => pending);
        Assert.AreEqual(ChannelCloseReason.HeartbeatTimeout, ex.Reason);
        Assert.IsTrue(host.Closed.IsCancellationRequested);
    }

    [TestMethod]
    [Timeout(60_000, CooperativeCancellation = true)]
    public async Task Heartbeats_KeepAnIdleConnectionAlive_AndMeasureRoundTrip()
    {
        var ct = ChannelTestKit.Timeout(out var cts);
        using var _ = cts;
        var (host, worker) = await ChannelTestKit.ConnectAsync(
            ChannelTestKit.HostOptions(TimeSpan.FromMilliseconds(50), TimeSpan.FromMilliseconds(2000)),
            ChannelTestKit.WorkerOptions(null, TimeSpan.FromMilliseconds(50)),
            ct);
        await using var h = host;
        await using var w = worker;
        await Task.Delay(2500, ct); // idle for longer than the heartbeat timeout: only pings keep it alive
        Assert.IsTrue(host.IsOpen, host.Completion.IsCompleted ? host.Completion.Result.Message : "");
        Assert.IsTrue(worker.IsOpen, worker.Completion.IsCompleted ? worker.Completion.Result.Message : "");
        Assert.IsNotNull(host.LastRoundTripTime);
    }

    [TestMethod]
    [Timeout(60_000, CooperativeCancellation = true)]
    public async Task PeerDisconnect_FailsPendingCalls_WithPeerDisconnected()
    {
        var ct = ChannelTestKit.Timeout(out var cts);
        using var _ = cts;
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var handler = new DelegateHandler(async (_, token) =>
        {
            started.TrySetResult();
            await Task.Delay(Timeout.Infinite, token);
            return ChannelResponse.Success(EmptyResult.Instance);
        });
        var (host, worker) = await ChannelTestKit.ConnectAsync(ChannelTestKit.HostOptions(), ChannelTestKit.WorkerOptions(handler), ct);
        await using var h = host;
        var pending = host.SendAsync(new ValidateCredentialsRequest(), ct);
        await started.Task.WaitAsync(ct);
        await worker.DisposeAsync(); // abortive: no goodbye

        var ex = await Assert.ThrowsExactlyAsync<ChannelClosedException>(() => pending);
        Assert.AreEqual(ChannelCloseReason.PeerDisconnected, ex.Reason);
        Assert.AreEqual(ChannelCloseReason.PeerDisconnected, (await host.Completion.WaitAsync(ct)).Reason);
        await Assert.ThrowsExactlyAsync<ChannelClosedException>(() => host.SendAsync(new ValidateCredentialsRequest(), ct));
    }

    [TestMethod]
    [Timeout(60_000, CooperativeCancellation = true)]
    public async Task CleanClose_LetsRunningRequestsFinish_AndPeerSeesGoodbye()
    {
        var ct = ChannelTestKit.Timeout(out var cts);
        using var _ = cts;
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var handler = new DelegateHandler(async (call, token) =>
        {
            started.TrySetResult();
            await release.Task.WaitAsync(token);
            return Echo(call);
        });
        var (host, worker) = await ChannelTestKit.ConnectAsync(ChannelTestKit.HostOptions(), ChannelTestKit.WorkerOptions(handler), ct);
        await using var h = host;
        await using var w = worker;

        var inFlight = host.InvokeAsync(new ListFilesRequest { Path = "/x" }, ct);
        await started.Task.WaitAsync(ct);
        var closing = worker.CloseAsync(ct);
        await Task.Delay(50, ct);
        Assert.IsFalse(closing.IsCompleted, "close waits for the running request");
        release.SetResult();
        Assert.AreEqual("/x", (await inFlight).Entries[0].Name);
        await closing;
        Assert.AreEqual(ChannelCloseReason.PeerClosed, (await host.Completion.WaitAsync(ct)).Reason);
        Assert.AreEqual(ChannelCloseReason.LocalClosed, (await worker.Completion.WaitAsync(ct)).Reason);
    }

    [TestMethod]
    [Timeout(60_000, CooperativeCancellation = true)]
    public async Task DataStream_SlowReader_BlocksOnlyItsWriter_MemoryBoundedByWindow()
    {
        var ct = ChannelTestKit.Timeout(out var cts);
        using var _ = cts;
        const int window = 64 * 1024;
        const int total = 4 * 1024 * 1024;
        var readerReady = new TaskCompletionSource<ChannelDataReader>(TaskCreationOptions.RunContinuationsAsynchronously);
        var startReading = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var handler = new DelegateHandler(async (call, token) =>
        {
            if (call.Request is not ListFilesRequest { Path: "/upload" })
            {
                return Echo(call);
            }

            readerReady.TrySetResult(call.RequestData);
            await startReading.Task.WaitAsync(token);
            using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            var buf = new byte[8192];
            long n = 0;
            int r;
            while ((r = await call.RequestData.ReadAsync(buf, token)) > 0)
            {
                sha.AppendData(buf, 0, r);
                n += r;
                Assert.IsLessThanOrEqualTo(window, call.RequestData.BufferedBytes);
            }

            return ChannelResponse.Success(new ListFilesResult
            {
                Entries = [new GuestFileEntry { Name = Convert.ToHexString(sha.GetHashAndReset()), Size = n }],
            });
        });
        var (host, worker) = await ChannelTestKit.ConnectAsync(
            ChannelTestKit.HostOptions(), ChannelTestKit.WorkerOptions(handler, window: window), ct);
        await using var h = host;
        await using var w = worker;

        var data = RandomNumberGenerator.GetBytes(total);
        await using var call = await host.StartCallAsync(new ListFilesRequest { Path = "/upload" }, ct);
        var upload = Task.Run(async () =>
        {
            await call.RequestData.WriteAsync(data, ct);
            await call.RequestData.CompleteAsync(ct);
        }, ct);
        var workerReader = await readerReady.Task.WaitAsync(ct);

        // The worker does not read: the writer must stall after one window.
        await Task.Delay(300, ct);
        Assert.IsFalse(upload.IsCompleted, "writer must wait for credit");
        Assert.IsLessThanOrEqualTo((long)window, call.RequestData.BytesSent);
        Assert.IsLessThanOrEqualTo(window, workerReader.BufferedBytes);
        Assert.AreEqual(0, call.RequestData.AvailableCredit);

        // No head-of-line blocking: other requests on the same connection still complete.
        var other = await host.InvokeAsync(new ListFilesRequest { Path = "/other" }, ct);
        Assert.AreEqual("/other", other.Entries[0].Name);

        startReading.SetResult();
        await upload.WaitAsync(ct);
        var response = await call.GetResponseAsync(ct);
        var entry = ((ListFilesResult)response.Result!).Entries[0];
        Assert.AreEqual((long)total, entry.Size);
        Assert.AreEqual(Convert.ToHexString(SHA256.HashData(data)), entry.Name);
    }

    [TestMethod]
    [Timeout(60_000, CooperativeCancellation = true)]
    public async Task DataStream_Download_FromWorker_ArrivesIntact_BeforeTheResponse()
    {
        var ct = ChannelTestKit.Timeout(out var cts);
        using var _ = cts;
        var data = RandomNumberGenerator.GetBytes(1_000_003);
        var handler = new DelegateHandler(async (call, token) =>
        {
            for (var off = 0; off < data.Length; off += 100_000)
            {
                await call.ResponseData.WriteAsync(data.AsMemory(off, Math.Min(100_000, data.Length - off)), token);
            }

            return ChannelResponse.Success(EmptyResult.Instance); // the connection ends the data stream first
        });
        var (host, worker) = await ChannelTestKit.ConnectAsync(ChannelTestKit.HostOptions(), ChannelTestKit.WorkerOptions(handler), ct);
        await using var h = host;
        await using var w = worker;

        await using var call = await host.StartCallAsync(new ValidateCredentialsRequest(), ct);
        using var received = new MemoryStream();
        await call.ResponseData.CopyToAsync(received, ct);
        var response = await call.GetResponseAsync(ct);
        Assert.IsTrue(response.IsSuccess);
        CollectionAssert.AreEqual(data, received.ToArray());
    }

    [TestMethod]
    [Timeout(60_000, CooperativeCancellation = true)]
    public async Task DataStream_AbortedBySender_SurfacesToReader()
    {
        var ct = ChannelTestKit.Timeout(out var cts);
        using var _ = cts;
        var handler = new DelegateHandler(async (call, token) =>
        {
            await call.ResponseData.WriteAsync(new byte[1000], token);
            return ChannelResponse.Failure(GuestErrorCode.FileAccessError, "disk went away");
        });
        var (host, worker) = await ChannelTestKit.ConnectAsync(ChannelTestKit.HostOptions(), ChannelTestKit.WorkerOptions(handler), ct);
        await using var h = host;
        await using var w = worker;

        await using var call = await host.StartCallAsync(new ValidateCredentialsRequest(), ct);
        var buf = new byte[4096];
        var ex = await Assert.ThrowsExactlyAsync<ChannelDataAbortedException>(async () =>
        {
            while (await call.ResponseData.ReadAsync(buf, ct) > 0)
            {
            }
        });
        StringAssert.Contains(ex.Message, "disk went away");
        Assert.AreEqual(GuestErrorCode.FileAccessError, (await call.GetResponseAsync(ct)).Error!.Code);
    }

    [TestMethod]
    public void PasswordCredential_IsRedacted_InToString()
    {
        var request = new ListFilesRequest { Path = "/", Credential = new GuestPasswordCredential("bob", "hunter2") };
        var text = request.ToString();
        StringAssert.Contains(text, "bob");
        Assert.IsFalse(text.Contains("hunter2", StringComparison.Ordinal), text);
    }

    [TestMethod]
    public void Messages_UseStableWireNames()
    {
        var json = Encoding.UTF8.GetString(JsonSerializer.SerializeToUtf8Bytes<ChannelRequest>(
            new ListFilesRequest { Path = "/tmp", MaxResults = 2, Credential = new GuestPasswordCredential("u", "p") },
            ChannelJsonContext.Default.ChannelRequest));
        Assert.AreEqual("""{"op":"ListFilesInGuest","path":"/tmp","index":0,"maxResults":2,"credential":{"kind":"password","userName":"u","password":"p"}}""", json);

        var back = (ListFilesRequest)JsonSerializer.Deserialize(json, ChannelJsonContext.Default.ChannelRequest)!;
        Assert.AreEqual(2, back.MaxResults);
        Assert.AreEqual("u", ((GuestPasswordCredential)back.Credential!).UserName);

        var error = Encoding.UTF8.GetString(JsonSerializer.SerializeToUtf8Bytes(
            ChannelResponse.Failure(GuestErrorCode.InvalidLogin, "bad"), ChannelJsonContext.Default.ChannelResponse));
        Assert.AreEqual("""{"error":{"code":2,"message":"bad"}}""", error);
    }
}
