using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using GuestOps.Channel.Framing;
using GuestOps.Channel.Messages;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace GuestOps.Channel.Connection;

/// <summary>
/// One established channel between the host-side dispatcher and an in-guest worker, over any duplex
/// <see cref="Stream"/>. Both sides use this class; <see cref="ChannelConnectionOptions.Role"/> decides which end it is.
/// <list type="bullet">
/// <item>Requests are multiplexed by id: any number may be outstanding; responses arrive in any order.</item>
/// <item>Canceling a call sends a <see cref="FrameType.Cancel"/>; the peer's handler sees its token fire.</item>
/// <item>Each call may carry a raw data stream in each direction with credit-based flow control.</item>
/// <item>Heartbeats: a ping every <see cref="ChannelConnectionOptions.HeartbeatInterval"/>; silence longer than
/// <see cref="ChannelConnectionOptions.HeartbeatTimeout"/> closes the connection with
/// <see cref="ChannelCloseReason.HeartbeatTimeout"/>.</item>
/// <item><see cref="Completion"/> / <see cref="Closed"/> report the end, whatever its cause; pending calls then
/// fail with <see cref="ChannelClosedException"/>.</item>
/// </list>
/// Create with <see cref="EstablishAsync"/>, which performs the hello exchange first.
/// </summary>
public sealed partial class ChannelConnection : IAsyncDisposable
{
    private readonly Stream _transport;
    private readonly ChannelConnectionOptions _options;
    private readonly ILogger _logger;
    private readonly FrameReader _reader;
    private readonly FrameWriter _writer;
    private readonly ConcurrentDictionary<uint, ChannelCall> _outgoing = new();
    private readonly ConcurrentDictionary<uint, IncomingCall> _incoming = new();
    private readonly CancellationTokenSource _closing = new();
    private readonly TaskCompletionSource<ChannelCloseInfo> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly SemaphoreSlim _incomingGate;
    private readonly TimeProvider _time;
    private long _nextId;
    private int _closed;
    private int _accepting = 1;
    private int _pongInFlight;
    private long _lastReceived;
    private long _lastRoundTripTicks = -1;
    private Task _readLoop = Task.CompletedTask;
    private Task _heartbeatLoop = Task.CompletedTask;
    private ChannelHello? _peer;

    private ChannelConnection(Stream transport, ChannelConnectionOptions options)
    {
        _transport = transport;
        _options = options;
        _time = options.TimeProvider;
        _logger = (ILogger?)options.LoggerFactory?.CreateLogger<ChannelConnection>() ?? NullLogger.Instance;
        _reader = new FrameReader(transport, ChannelProtocol.MaxHelloSize);
        _writer = new FrameWriter(transport);
        _incomingGate = new SemaphoreSlim(options.MaxConcurrentIncomingRequests);
        _nextId = options.Role == ChannelRole.Host ? -1 : 0; // host ids 1,3,5...; worker ids 2,4,6...
        LocalHello = BuildHello(options);
    }

    /// <summary>This side's hello.</summary>
    public ChannelHello LocalHello { get; }

    /// <summary>The peer's hello (its version, capabilities and, for a worker, the guest's OS facts).</summary>
    public ChannelHello PeerHello => _peer ?? throw new InvalidOperationException("Handshake not completed.");

    /// <summary>The protocol version both sides use.</summary>
    public int NegotiatedVersion { get; private set; }

    public ChannelRole Role => _options.Role;

    /// <summary>Completes (never faults) when the connection has ended, with the reason.</summary>
    public Task<ChannelCloseInfo> Completion => _completion.Task;

    /// <summary>Fires when the connection ends.</summary>
    public CancellationToken Closed => _closing.Token;

    /// <summary>True until the connection starts closing.</summary>
    public bool IsOpen => Volatile.Read(ref _closed) == 0;

    /// <summary>Round trip of the last answered ping, if any.</summary>
    public TimeSpan? LastRoundTripTime
    {
        get
        {
            var t = Interlocked.Read(ref _lastRoundTripTicks);
            return t < 0 ? null : TimeSpan.FromTicks(t);
        }
    }

    /// <summary>Number of requests sent by this side still registered (not yet disposed).</summary>
    public int OutstandingCalls => _outgoing.Count;

    /// <summary>Number of peer requests being handled.</summary>
    public int ActiveIncomingCalls => _incoming.Count;

    /// <summary>Whether the peer advertised <paramref name="capability"/>.</summary>
    public bool PeerSupports(string capability) => PeerHello.Capabilities.Contains(capability, StringComparer.Ordinal);

    /// <summary>Whether the peer implements the request's operation (false: the peer is out of date).</summary>
    public bool PeerSupports(ChannelRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return PeerSupports(ChannelCapabilities.ForOperation(request.Operation));
    }

    /// <summary>
    /// Sends this side's hello, reads and checks the peer's, then starts the read and heartbeat loops. The transport is
    /// owned by the connection from here on (also when this method throws).
    /// </summary>
    /// <exception cref="ChannelVersionMismatchException">No common protocol version.</exception>
    /// <exception cref="ChannelProtocolException">The peer is not a channel peer of the opposite role.</exception>
    /// <exception cref="TimeoutException">The peer did not complete the hello in time.</exception>
    public static async Task<ChannelConnection> EstablishAsync(Stream transport, ChannelConnectionOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(transport);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var connection = new ChannelConnection(transport, options);
        try
        {
            await connection.HandshakeAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        connection.Start();
        return connection;
    }

    /// <summary>Sends a request and waits for its response (no data streams).</summary>
    public async Task<ChannelResponse> SendAsync(ChannelRequest request, CancellationToken cancellationToken)
    {
        var call = await StartCallAsync(request, cancellationToken).ConfigureAwait(false);
        await using (call.ConfigureAwait(false))
        {
            return await call.GetResponseAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Sends a request given as its JSON (<see cref="ChannelMessageJson"/>) and returns the peer's response as the JSON it
    /// sent, neither read here (no data streams): for a process that relays requests from another one, which wrote the
    /// request and reads the response (<see cref="ChannelMessageJson.ReadResponse"/>).
    /// </summary>
    /// <param name="operation">The request's operation (its JSON type tag), for the log.</param>
    public async Task<byte[]> SendJsonAsync(string operation, byte[] request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(operation);
        ArgumentNullException.ThrowIfNull(request);
        var call = await StartCallAsync(operation, request, keepsJson: true, cancellationToken).ConfigureAwait(false);
        await using (call.ConfigureAwait(false))
        {
            return await call.GetResponseJsonAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Sends a request and returns its typed result, or throws <see cref="GuestErrorException"/>.</summary>
    public async Task<TResult> InvokeAsync<TResult>(IChannelRequest<TResult> request, CancellationToken cancellationToken)
        where TResult : ChannelResult
    {
        var typed = request as ChannelRequest ?? throw new ArgumentException("Not a ChannelRequest.", nameof(request));
        var response = await SendAsync(typed, cancellationToken).ConfigureAwait(false);
        if (response.Error is { } error)
        {
            throw new GuestErrorException(error);
        }

        return response.Result as TResult
               ?? throw new ChannelProtocolException($"The peer answered {typed.Operation} with {response.Result?.GetType().Name ?? "no result"}.");
    }

    /// <summary>
    /// Sends a request and returns the call, for requests with data streams: write
    /// <see cref="ChannelCall.RequestData"/>, read <see cref="ChannelCall.ResponseData"/>, await
    /// <see cref="ChannelCall.GetResponseAsync"/>, then dispose the call.
    /// </summary>
    public Task<ChannelCall> StartCallAsync(ChannelRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        cancellationToken.ThrowIfCancellationRequested();
        ThrowIfNotAccepting();
        return StartCallAsync(request.Operation, JsonSerializer.SerializeToUtf8Bytes(request, ChannelJsonContext.Default.ChannelRequest), keepsJson: false, cancellationToken);
    }

    private async Task<ChannelCall> StartCallAsync(string operation, byte[] payload, bool keepsJson, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        ThrowIfNotAccepting();
        if (payload.Length > PeerHello.MaxFrameSize)
        {
            throw new ArgumentException($"The request is {payload.Length} bytes; the peer accepts at most {PeerHello.MaxFrameSize}.", nameof(payload));
        }

        var id = (uint)Interlocked.Add(ref _nextId, 2);
        var call = new ChannelCall(this, id, operation, keepsJson, NewStreams(id));
        _outgoing[id] = call;
        if (!IsOpen)
        {
            call.OnConnectionClosed(ClosedError());
            _outgoing.TryRemove(id, out _);
            throw ClosedError();
        }

        try
        {
            await _writer.WriteAsync(FrameType.Request, id, payload).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await call.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        catch (ChannelClosedException)
        {
            await call.DisposeAsync().ConfigureAwait(false);
            throw ClosedError();
        }

        LogRequestSent(id, operation);
        return call;
    }

    /// <summary>
    /// Closes cleanly: stops accepting new requests, lets requests from the peer that are being handled finish
    /// (until <paramref name="cancellationToken"/>), sends a goodbye, then closes the transport. Calls of this side
    /// still waiting fail with <see cref="ChannelClosedException"/>.
    /// </summary>
    public async Task CloseAsync(CancellationToken cancellationToken = default)
    {
        if (!IsOpen)
        {
            return;
        }

        Volatile.Write(ref _accepting, 0);
        try
        {
            while (!_incoming.IsEmpty && IsOpen)
            {
                await Task.Delay(10, cancellationToken).ConfigureAwait(false);
            }

            if (IsOpen)
            {
                await _writer.WriteAsync(FrameType.Goodbye, 0, "closing"u8).WaitAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or ChannelException or IOException)
        {
            // Fall through to the hard close.
        }

        Abort(ChannelCloseReason.LocalClosed, "Closed by this side.");
        await WaitForLoopsAsync().ConfigureAwait(false);
    }

    /// <summary>Closes immediately (no goodbye wait) and releases the transport.</summary>
    public async ValueTask DisposeAsync()
    {
        Abort(ChannelCloseReason.LocalClosed, "Disposed.");
        await WaitForLoopsAsync().ConfigureAwait(false);
        await _writer.DisposeAsync().ConfigureAwait(false);
        await _reader.DisposeAsync().ConfigureAwait(false);
    }

    internal void PostCancel(uint id)
    {
        if (IsOpen)
        {
            _writer.Post(FrameType.Cancel, id, ReadOnlySpan<byte>.Empty);
        }
    }

    internal void Unregister(ChannelCall call) => _outgoing.TryRemove(new KeyValuePair<uint, ChannelCall>(call.Id, call));

    private static ChannelHello BuildHello(ChannelConnectionOptions o)
    {
        var caps = new List<string> { ChannelCapabilities.DataStreams, ChannelCapabilities.Heartbeat };
        foreach (var c in o.Capabilities)
        {
            if (!caps.Contains(c, StringComparer.Ordinal))
            {
                caps.Add(c);
            }
        }

        return new ChannelHello
        {
            Version = o.ProtocolVersion,
            MinVersion = o.MinProtocolVersion,
            Role = o.Role,
            Software = o.Software,
            Capabilities = caps,
            MaxFrameSize = o.MaxFrameSize,
            StreamWindow = o.StreamWindow,
            Os = o.Role == ChannelRole.Worker ? o.Os : null,
        };
    }

    private async Task HandshakeAsync(CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.HandshakeTimeout);
        try
        {
            var hello = JsonSerializer.SerializeToUtf8Bytes(LocalHello, ChannelJsonContext.Default.ChannelHello);
            var send = _writer.WriteAsync(FrameType.Hello, 0, hello);
            using var frame = await _reader.ReadFrameAsync(timeout.Token).ConfigureAwait(false)
                              ?? throw new ChannelClosedException(ChannelCloseReason.PeerDisconnected, "The peer closed the connection during the handshake.");
            if (frame.Type != FrameType.Hello || frame.StreamId != 0)
            {
                throw new ChannelProtocolException($"Expected a hello frame, got {frame.Type}.");
            }

            ChannelHello peer;
            try
            {
                peer = JsonSerializer.Deserialize(frame.Payload, ChannelJsonContext.Default.ChannelHello)
                       ?? throw new ChannelProtocolException("Empty hello.");
            }
            catch (JsonException ex)
            {
                throw new ChannelProtocolException("The peer's hello is not valid.", ex);
            }

            if (peer.Magic != ChannelProtocol.Magic)
            {
                throw new ChannelProtocolException($"The peer is not a guestops channel peer (magic '{peer.Magic}').");
            }

            var expected = _options.Role == ChannelRole.Host ? ChannelRole.Worker : ChannelRole.Host;
            if (peer.Role != expected)
            {
                throw new ChannelProtocolException($"The peer's role is {peer.Role}; expected {expected}.");
            }

            var negotiated = Math.Min(LocalHello.Version, peer.Version);
            if (negotiated < LocalHello.MinVersion || negotiated < peer.MinVersion)
            {
                throw new ChannelVersionMismatchException(
                    $"No common protocol version: this side speaks {LocalHello.MinVersion}..{LocalHello.Version}, the peer {peer.MinVersion}..{peer.Version}.",
                    LocalHello,
                    peer);
            }

            if (peer.MaxFrameSize < 1024 || peer.StreamWindow < 1024)
            {
                throw new ChannelProtocolException($"The peer's limits are unusable (frame {peer.MaxFrameSize}, window {peer.StreamWindow}).");
            }

            await send.WaitAsync(timeout.Token).ConfigureAwait(false);
            _peer = peer;
            NegotiatedVersion = negotiated;
            _reader.MaxPayload = _options.MaxFrameSize;
            LogHandshake(_options.Role, peer.Role, peer.Software, negotiated);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"The peer did not complete the handshake within {_options.HandshakeTimeout}.");
        }
    }

    private void Start()
    {
        Volatile.Write(ref _lastReceived, _time.GetTimestamp());
        _readLoop = Task.Run(ReadLoopAsync);
        if (_options.HeartbeatInterval > TimeSpan.Zero && _options.HeartbeatInterval != Timeout.InfiniteTimeSpan)
        {
            _heartbeatLoop = Task.Run(HeartbeatLoopAsync);
        }
    }

    private async Task ReadLoopAsync()
    {
        try
        {
            while (true)
            {
                var frame = await _reader.ReadFrameAsync(_closing.Token).ConfigureAwait(false);
                if (frame is null)
                {
                    Abort(ChannelCloseReason.PeerDisconnected, "The peer closed the transport without a goodbye.");
                    return;
                }

                using (frame)
                {
                    Volatile.Write(ref _lastReceived, _time.GetTimestamp());
                    if (!Dispatch(frame))
                    {
                        return;
                    }
                }
            }
        }
        catch (OperationCanceledException) when (_closing.IsCancellationRequested)
        {
        }
        catch (ChannelProtocolException ex)
        {
            LogProtocolError(ex.Message);
            Abort(ChannelCloseReason.ProtocolError, ex.Message, ex);
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or System.Net.Sockets.SocketException)
        {
            if (IsOpen)
            {
                Abort(ChannelCloseReason.TransportError, $"Reading the transport failed: {ex.Message}", ex);
            }
        }
        catch (Exception ex)
        {
            LogUnexpected(ex);
            Abort(ChannelCloseReason.TransportError, $"Unexpected failure in the read loop: {ex.Message}", ex);
        }
    }

    /// <summary>Handles one frame. Never blocks on the writer. Returns false when the loop must end.</summary>
    private bool Dispatch(Frame frame)
    {
        switch (frame.Type)
        {
            case FrameType.Request:
                OnRequest(frame);
                break;
            case FrameType.Response:
                OnResponse(frame);
                break;
            case FrameType.Cancel:
                if (!IsLocalId(frame.StreamId) && _incoming.TryGetValue(frame.StreamId, out var canceled))
                {
                    canceled.OnPeerCanceled();
                }

                break;
            case FrameType.Data:
                if (FindStreams(frame.StreamId) is { } dataStreams)
                {
                    dataStreams.Inbound.OnData(frame.DetachPayload(), frame.Length);
                }

                break;
            case FrameType.DataEnd:
                FindStreams(frame.StreamId)?.Inbound.OnEnd();
                break;
            case FrameType.DataAbort:
                FindStreams(frame.StreamId)?.Inbound.Fail(new ChannelDataAbortedException(
                    frame.Length == 0 ? "The peer aborted the data stream." : $"The peer aborted the data stream: {Encoding.UTF8.GetString(frame.Payload)}"));
                break;
            case FrameType.DataCredit:
                if (frame.Length != 4)
                {
                    throw new ChannelProtocolException("Bad credit frame.");
                }

                FindStreams(frame.StreamId)?.OutboundIfCreated?.AddCredit((int)Math.Min(BinaryPrimitives.ReadUInt32BigEndian(frame.Payload), int.MaxValue));
                break;
            case FrameType.Ping:
                SendPong(frame.Payload);
                break;
            case FrameType.Pong:
                if (frame.Length == 8)
                {
                    var sent = BinaryPrimitives.ReadInt64BigEndian(frame.Payload);
                    Interlocked.Exchange(ref _lastRoundTripTicks, _time.GetElapsedTime(sent).Ticks);
                }

                break;
            case FrameType.Goodbye:
                Abort(ChannelCloseReason.PeerClosed, frame.Length == 0 ? "The peer closed the connection." : $"The peer closed the connection: {Encoding.UTF8.GetString(frame.Payload)}");
                return false;
            case FrameType.Hello:
                throw new ChannelProtocolException("Unexpected second hello.");
            default:
                LogUnknownFrame((byte)frame.Type, frame.StreamId);
                break;
        }

        return true;
    }

    private void OnRequest(Frame frame)
    {
        var id = frame.StreamId;
        if (id == 0 || IsLocalId(id))
        {
            throw new ChannelProtocolException($"The peer used request id {id}, which is not in its id space.");
        }

        ChannelRequest? request = null;
        GuestError? rejection = null;
        try
        {
            request = JsonSerializer.Deserialize(frame.Payload, ChannelJsonContext.Default.ChannelRequest);
        }
        catch (Exception ex) when (ex is JsonException or NotSupportedException or InvalidOperationException)
        {
            rejection = ClassifyBadRequest(frame.Payload, ex);
        }

        if (rejection is null && request is null)
        {
            rejection = new GuestError(GuestErrorCode.InvalidArgument, "Empty request.");
        }

        if (rejection is null && (Volatile.Read(ref _accepting) == 0 || !IsOpen))
        {
            rejection = new GuestError(GuestErrorCode.Canceled, "The connection is closing.");
        }

        if (rejection is null && _options.RequestHandler is null)
        {
            rejection = new GuestError(GuestErrorCode.NotSupported, $"This side ({_options.Role}) accepts no requests.");
        }

        if (rejection is not null)
        {
            LogRequestRejected(id, rejection.Code, rejection.Message);
            PostResponse(id, ChannelResponse.Failure(rejection));
            return;
        }

        var call = new IncomingCall(this, id, request!, NewStreams(id), _closing.Token);
        if (!_incoming.TryAdd(id, call))
        {
            call.Dispose();
            throw new ChannelProtocolException($"Duplicate request id {id}.");
        }

        _ = RunIncomingAsync(call);
    }

    private static GuestError ClassifyBadRequest(ReadOnlySpan<byte> payload, Exception ex)
    {
        string? op = null;
        try
        {
            var reader = new Utf8JsonReader(payload);
            if (reader.Read() && reader.TokenType == JsonTokenType.StartObject)
            {
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    var isOp = reader.ValueTextEquals("op"u8);
                    if (!reader.Read())
                    {
                        break;
                    }

                    if (isOp && reader.TokenType == JsonTokenType.String)
                    {
                        op = reader.GetString();
                        break;
                    }

                    reader.Skip();
                }
            }
        }
        catch (JsonException)
        {
        }

        if (op is not null && GuestMethods.Find(op) is null)
        {
            return new GuestError(GuestErrorCode.UnknownOperation, $"Operation '{op}' is not supported by this version.");
        }

        return new GuestError(GuestErrorCode.InvalidArgument, $"Malformed request: {ex.Message}");
    }

    private async Task RunIncomingAsync(IncomingCall call)
    {
        ChannelResponse response;
        var token = call.CancellationToken;
        try
        {
            await _incomingGate.WaitAsync(token).ConfigureAwait(false);
            try
            {
                LogRequestReceived(call.Id, call.Request.Operation);
                response = await _options.RequestHandler!.HandleAsync(call, token).ConfigureAwait(false);
            }
            finally
            {
                _incomingGate.Release();
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            response = ChannelResponse.Failure(GuestErrorCode.Canceled, "The request was canceled.");
        }
        catch (Exception ex)
        {
            LogHandlerFailed(ex, call.Id, call.Request.Operation);
            response = ChannelResponse.Failure(GuestErrorCode.InternalError, $"{ex.GetType().Name}: {ex.Message}");
        }

        try
        {
            if (call.Streams.OutboundIfCreated is { IsFinished: false } data)
            {
                if (response.IsSuccess)
                {
                    await data.CompleteAsync(CancellationToken.None).ConfigureAwait(false);
                }
                else
                {
                    await data.AbortAsync(response.Error!.Message).ConfigureAwait(false);
                }
            }

            if (IsOpen)
            {
                var bytes = JsonSerializer.SerializeToUtf8Bytes(response, ChannelJsonContext.Default.ChannelResponse);
                await _writer.WriteAsync(FrameType.Response, call.Id, bytes).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is ChannelException or IOException or ObjectDisposedException)
        {
            // The connection ended; the peer will not see this response.
        }
        finally
        {
            _incoming.TryRemove(call.Id, out _);
            call.Streams.Fail(new ChannelDataAbortedException($"Call {call.Id} has ended."));
            call.Dispose();
        }
    }

    private void OnResponse(Frame frame)
    {
        var id = frame.StreamId;
        if (!IsLocalId(id))
        {
            throw new ChannelProtocolException($"Response for id {id}, which this side never used.");
        }

        if (!_outgoing.TryGetValue(id, out var call))
        {
            LogLateResponse(id);
        }
        else if (call.KeepsJson)
        {
            call.OnResponseJson(frame.Payload.ToArray());
        }
        else
        {
            // A newer peer may send a result type this build does not know: that call fails, the connection stays.
            call.OnResponse(ChannelMessageJson.ReadResponse(frame.Payload));
        }
    }

    private void PostResponse(uint id, ChannelResponse response)
    {
        var bytes = JsonSerializer.SerializeToUtf8Bytes(response, ChannelJsonContext.Default.ChannelResponse);
        _writer.Post(FrameType.Response, id, bytes);
    }

    private void SendPong(ReadOnlySpan<byte> payload)
    {
        // At most one pong queued at a time: a peer flooding pings cannot grow our write queue.
        if (Interlocked.Exchange(ref _pongInFlight, 1) != 0)
        {
            return;
        }

        _ = _writer.WriteAsync(FrameType.Pong, 0, payload).ContinueWith(
            static (_, state) => Volatile.Write(ref ((ChannelConnection)state!)._pongInFlight, 0),
            this,
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
    }

    private async Task HeartbeatLoopAsync()
    {
        var interval = _options.HeartbeatInterval;
        var timeout = _options.HeartbeatTimeout;
        try
        {
            using var timer = new PeriodicTimer(interval, _time);
            var ping = new byte[8];
            while (await timer.WaitForNextTickAsync(_closing.Token).ConfigureAwait(false))
            {
                var silence = _time.GetElapsedTime(Volatile.Read(ref _lastReceived));
                if (silence > timeout)
                {
                    LogHeartbeatLost(silence.TotalMilliseconds);
                    Abort(ChannelCloseReason.HeartbeatTimeout, $"Nothing received from the peer for {silence.TotalMilliseconds:F0} ms.");
                    return;
                }

                BinaryPrimitives.WriteInt64BigEndian(ping, _time.GetTimestamp());
                _writer.Post(FrameType.Ping, 0, ping);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private void Abort(ChannelCloseReason reason, string message, Exception? error = null)
    {
        if (Interlocked.Exchange(ref _closed, 1) != 0)
        {
            return;
        }

        Volatile.Write(ref _accepting, 0);
        var info = new ChannelCloseInfo(reason, message, error);
        _closeInfo = info;
        try
        {
            _closing.Cancel();
        }
        catch (AggregateException)
        {
            // Callbacks registered by users failed; the connection still closes.
        }

        _writer.Complete();
        var closed = new ChannelClosedException(reason, message, error);
        foreach (var call in _outgoing.Values)
        {
            call.OnConnectionClosed(closed);
        }

        foreach (var call in _incoming.Values)
        {
            call.Streams.Fail(new ChannelDataAbortedException(message, closed));
        }

        // Closing the transport unblocks the reader; let queued frames (a goodbye) go first, briefly.
        _ = CloseTransportAsync();
        LogClosed(reason, message);
        _completion.TrySetResult(info);
    }

    private ChannelCloseInfo? _closeInfo;

    private async Task CloseTransportAsync()
    {
        try
        {
            await _writer.Completion.WaitAsync(TimeSpan.FromSeconds(1)).ConfigureAwait(false);
        }
        catch (Exception)
        {
            // Writer failed or timed out: close anyway.
        }

        try
        {
            await _transport.DisposeAsync().ConfigureAwait(false);
        }
        catch (Exception)
        {
            // Already closed.
        }
    }

    private async Task WaitForLoopsAsync()
    {
        try
        {
            await Task.WhenAll(_readLoop, _heartbeatLoop).WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
        }
        catch (Exception)
        {
            // Loops end on their own once the transport is closed.
        }
    }

    private ChannelClosedException ClosedError()
    {
        var info = _closeInfo;
        return info is null
            ? new ChannelClosedException(ChannelCloseReason.LocalClosed, "The connection is closing.")
            : new ChannelClosedException(info.Reason, info.Message, info.Error);
    }

    private void ThrowIfNotAccepting()
    {
        if (!IsOpen || Volatile.Read(ref _accepting) == 0)
        {
            throw ClosedError();
        }
    }

    private bool IsLocalId(uint id) => id != 0 && (id % 2 == 1) == (_options.Role == ChannelRole.Host);

    private CallStreams? FindStreams(uint id)
    {
        if (IsLocalId(id))
        {
            return _outgoing.TryGetValue(id, out var c) ? c.Streams : null;
        }

        return _incoming.TryGetValue(id, out var i) ? i.Streams : null;
    }

    private CallStreams NewStreams(uint id) =>
        new(id, _writer, _options.StreamWindow, PeerHello.StreamWindow, Math.Min(ChannelProtocol.MaxDataChunk, PeerHello.MaxFrameSize));
}
