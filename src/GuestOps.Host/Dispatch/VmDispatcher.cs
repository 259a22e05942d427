using GuestOps.Channel;
using GuestOps.Channel.Connection;
using GuestOps.Channel.Messages;
using GuestOps.Channel.Transport;
using Microsoft.Extensions.Logging;

namespace GuestOps.Host.Dispatch;

/// <summary>Limits of one VM's dispatcher.</summary>
public sealed record VmDispatcherOptions
{
    /// <summary>Deadline of one guest call, queueing included.</summary>
    public TimeSpan CallTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Requests in flight to the worker at once; more wait in line (within their deadline).</summary>
    public int MaxInFlight { get; init; } = 32;

    /// <summary>File transfers running in the VM at once (they last longer than calls, so they have their own slots);
    /// more wait in line up to <see cref="CallTimeout"/>.</summary>
    public int MaxTransfers { get; init; } = 16;

    public TimeSpan HeartbeatInterval { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Silence after which the worker counts as gone (heartbeats included): ten missed heartbeats, so that a
    /// machine busy enough to delay the worker's answers for a few seconds does not take a live worker for a hung one.
    /// A worker that dies ends its connection, which is seen at once.</summary>
    public TimeSpan HeartbeatTimeout { get; init; } = TimeSpan.FromSeconds(5);
}

/// <summary>
/// The VMX-like dispatcher of one VM: owns the channel to that VM's tools worker (a unix socket the worker connects
/// to), multiplexes calls over it with a per-call deadline and a bound on calls in flight, and fails fast when no
/// worker answers. A newer worker connection replaces an older one. An echo dispatcher (<see cref="Echo"/>, benchmarks
/// only) has no worker: it answers each call itself at the point where it would send it.
/// </summary>
public sealed partial class VmDispatcher : IAsyncDisposable
{
    private readonly string _vmId;
    private readonly IChannelListener? _listener;
    private readonly ChannelHello? _echo;
    private readonly VmDispatcherOptions _options;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _inFlight;
    private readonly SemaphoreSlim _transfers;
    private readonly CancellationTokenSource _stopping = new();
    private ChannelConnection? _current;
    private string? _outOfDate;
    private Task _acceptLoop = Task.CompletedTask;

    public VmDispatcher(string vmId, IChannelListener listener, VmDispatcherOptions options, ILoggerFactory loggerFactory)
        : this(vmId, listener, null, options, loggerFactory)
    {
    }

    private VmDispatcher(string vmId, IChannelListener? listener, ChannelHello? echo, VmDispatcherOptions options, ILoggerFactory loggerFactory)
    {
        _vmId = vmId;
        _listener = listener;
        _echo = echo;
        _options = options;
        _loggerFactory = loggerFactory;
        _logger = loggerFactory.CreateLogger<VmDispatcher>();
        _inFlight = new SemaphoreSlim(options.MaxInFlight, options.MaxInFlight);
        _transfers = new SemaphoreSlim(options.MaxTransfers, options.MaxTransfers);
    }

    /// <summary>For benchmarks only: a dispatcher with no worker that answers ValidateCredentialsInGuest (any credential)
    /// and ListFilesInGuest (an empty directory) itself, and every other operation with NotSupported. A call takes the
    /// same path as one to a worker (deadline, in-flight slot) up to the send, so a benchmark through it measures the
    /// service's own cost per call. It is always ready; file transfers are not answered.</summary>
    public static VmDispatcher Echo(string vmId, VmDispatcherOptions options, ILoggerFactory loggerFactory) =>
        new(vmId, null, new ChannelHello { Role = ChannelRole.Worker, Software = EchoSoftware }, options, loggerFactory);

    /// <summary>The tools version an echo dispatcher reports.</summary>
    public const string EchoSoftware = "guestops-echo";

    /// <summary>The connected worker's handshake (an echo dispatcher's own), or null.</summary>
    public ChannelHello? Worker => _echo ?? (_current is { IsOpen: true } c ? c.PeerHello : null);

    /// <summary>Raised after <see cref="Worker"/> changed: a worker connected, or the connected one went away.</summary>
    public event Action? WorkerChanged;

    /// <summary>True when a worker is connected and speaks a protocol this dispatcher accepts (an echo dispatcher: always).</summary>
    public bool IsReady => _echo is not null || _current is { IsOpen: true };

    public void Start()
    {
        if (_listener is not null)
        {
            _acceptLoop = AcceptLoopAsync(_listener, _stopping.Token);
        }
    }

    /// <summary>Sends one request to the worker and returns its response (success or guest error).</summary>
    public Task<ChannelResponse> InvokeAsync(ChannelRequest request, CancellationToken cancellationToken) =>
        CallAsync(
            request.Operation,
            (connection, deadline) => connection is null ? Task.FromResult(EchoAnswer(request)) : connection.SendAsync(request, deadline),
            cancellationToken);

    /// <summary>Like <see cref="InvokeAsync"/> for a request given as its JSON (<see cref="ChannelMessageJson"/>), whose
    /// response comes back as the worker's JSON, neither read here: the guest call of a host agent that relays another
    /// process's requests (a cluster's front end writes the request and reads the response).</summary>
    /// <param name="operation">The request's operation (its JSON type tag): whether the worker supports it is checked
    /// as for <see cref="InvokeAsync"/>.</param>
    public Task<byte[]> InvokeJsonAsync(string operation, byte[] request, CancellationToken cancellationToken) =>
        CallAsync(
            operation,
            (connection, deadline) => connection is null ? Task.FromResult(EchoAnswerJson(request)) : connection.SendJsonAsync(operation, request, deadline),
            cancellationToken);

    /// <summary>One call to the worker by <paramref name="send"/> (given null for the echo provider) within the call's
    /// deadline and an in-flight slot; a deadline passed or a worker gone is a <see cref="GuestAgentException"/>.</summary>
    private async Task<T> CallAsync<T>(string operation, Func<ChannelConnection?, CancellationToken, Task<T>> send, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(_options.CallTimeout);
        var connection = _echo is null ? Connected(operation) : null;
        await WaitForSlotAsync(_inFlight, deadline.Token, cancellationToken).ConfigureAwait(false);
        try
        {
            return await send(connection, deadline.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            LogTimedOut(_logger, _vmId, operation);
            throw new GuestAgentException(GuestAgentFailure.TimedOut, $"The guest agent of VM {_vmId} did not answer within {_options.CallTimeout.TotalSeconds:0.#} s.");
        }
        catch (ChannelException e)
        {
            throw new GuestAgentException(GuestAgentFailure.Unavailable, $"The guest agent of VM {_vmId} went away during the call.", e);
        }
        finally
        {
            _inFlight.Release();
        }
    }

    /// <summary>Takes a slot of <paramref name="slots"/> (<see cref="_inFlight"/> or <see cref="_transfers"/>) within
    /// the call's deadline; when the deadline passes first, the call fails as TimedOut, saying which slots were all busy.</summary>
    private async Task WaitForSlotAsync(SemaphoreSlim slots, CancellationToken deadline, CancellationToken cancellationToken)
    {
        try
        {
            await slots.WaitAsync(deadline).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            var busy = ReferenceEquals(slots, _transfers)
                ? $"{_options.MaxTransfers} file transfers are running"
                : "too many guest operations in progress";
            throw new GuestAgentException(GuestAgentFailure.TimedOut, $"VM {_vmId}: {busy}; none finished within {_options.CallTimeout.TotalSeconds:0.#} s.");
        }
    }

    /// <summary>
    /// Starts a call with data streams (a file transfer). Only the start is bounded by the call deadline (waiting for
    /// a transfer slot included); the transfer then runs as long as data flows, and ends when the worker goes away.
    /// </summary>
    public async Task<GuestDataCall> StartDataCallAsync(ChannelRequest request, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(_options.CallTimeout);
        var connection = Connected(request.Operation);
        await WaitForSlotAsync(_transfers, deadline.Token, cancellationToken).ConfigureAwait(false);
        try
        {
            var call = await connection.StartCallAsync(request, deadline.Token).ConfigureAwait(false);
            return new GuestDataCall(call, _vmId, () => _transfers.Release());
        }
        catch (Exception e)
        {
            _transfers.Release();
            if (e is ChannelException)
            {
                throw new GuestAgentException(GuestAgentFailure.Unavailable, $"The guest agent of VM {_vmId} went away.", e);
            }

            if (e is OperationCanceledException && !cancellationToken.IsCancellationRequested)
            {
                throw new GuestAgentException(GuestAgentFailure.TimedOut, $"The guest agent of VM {_vmId} did not accept the transfer within {_options.CallTimeout.TotalSeconds:0.#} s.");
            }

            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        if (_listener is not null)
        {
            await _listener.DisposeAsync().ConfigureAwait(false);
        }

        try
        {
            await _acceptLoop.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        if (Interlocked.Exchange(ref _current, null) is { } connection)
        {
            await connection.DisposeAsync().ConfigureAwait(false);
        }

        _stopping.Dispose();
    }

    private static ChannelResponse EchoAnswer(ChannelRequest request) => request switch
    {
        ValidateCredentialsRequest => ChannelResponse.Success(EmptyResult.Instance),
        ListFilesRequest => ChannelResponse.Success(new ListFilesResult()),
        _ => ChannelResponse.Failure(GuestErrorCode.NotSupported, $"The echo provider (benchmarks only) does not answer {request.Operation}."),
    };

    /// <summary>The echo provider's answer to a request given as its JSON, as JSON.</summary>
    private static byte[] EchoAnswerJson(byte[] request) => ChannelMessageJson.SerializeResponse(
        ChannelMessageJson.DeserializeRequest(request) is { } parsed
            ? EchoAnswer(parsed)
            : ChannelResponse.Failure(GuestErrorCode.InvalidArgument, "The echo provider (benchmarks only) could not read the request."));

    private ChannelConnection Connected(string operation)
    {
        if (_echo is not null)
        {
            throw new GuestAgentException(GuestAgentFailure.Unavailable, $"VM {_vmId} has the echo provider (benchmarks only), which answers no {operation}.");
        }

        var connection = _current;
        if (connection is not { IsOpen: true })
        {
            if (_outOfDate is { } reason)
            {
                throw new GuestAgentException(GuestAgentFailure.ComponentsOutOfDate, $"The guest agent of VM {_vmId} is out of date: {reason}");
            }

            throw new GuestAgentException(GuestAgentFailure.Unavailable, $"The guest agent of VM {_vmId} is not running.");
        }

        if (!connection.PeerSupports(ChannelCapabilities.ForOperation(operation)))
        {
            throw new GuestAgentException(GuestAgentFailure.ComponentsOutOfDate, $"The guest agent of VM {_vmId} ({connection.PeerHello.Software}) does not support {operation}.");
        }

        return connection;
    }

    private async Task AcceptLoopAsync(IChannelListener listener, CancellationToken stopping)
    {
        while (!stopping.IsCancellationRequested)
        {
            ChannelTransportConnection transport;
            try
            {
                transport = await listener.AcceptAsync(stopping).ConfigureAwait(false);
            }
            catch (Exception) when (stopping.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                LogAcceptFailed(_logger, _vmId, e);
                await Task.Delay(TimeSpan.FromMilliseconds(100), stopping).ConfigureAwait(false);
                continue;
            }

            _ = EstablishAsync(transport, stopping);
        }
    }

    private async Task EstablishAsync(ChannelTransportConnection transport, CancellationToken stopping)
    {
        ChannelConnection connection;
        try
        {
            connection = await ChannelConnection.EstablishAsync(transport.Stream, new ChannelConnectionOptions
            {
                Role = ChannelRole.Host,
                Software = "guestops-host",
                HeartbeatInterval = _options.HeartbeatInterval,
                HeartbeatTimeout = _options.HeartbeatTimeout,
                LoggerFactory = _loggerFactory,
            }, stopping).ConfigureAwait(false);
        }
        catch (ChannelVersionMismatchException e)
        {
            _outOfDate = e.Message;
            LogOutOfDate(_logger, _vmId, e.Message);
            return;
        }
        catch (Exception e)
        {
            LogHandshakeFailed(_logger, _vmId, e);
            return;
        }

        _outOfDate = null;
        var previous = Interlocked.Exchange(ref _current, connection);
        LogConnected(_logger, _vmId, connection.PeerHello.Software, connection.PeerHello.Os?.HostName ?? "?");
        WorkerChanged?.Invoke();
        if (previous is not null)
        {
            await previous.DisposeAsync().ConfigureAwait(false);
        }

        var closed = await connection.Completion.ConfigureAwait(false);
        if (Interlocked.CompareExchange(ref _current, null, connection) == connection)
        {
            LogDisconnected(_logger, _vmId, closed.Reason.ToString(), closed.Message);
        }

        WorkerChanged?.Invoke();

        await connection.DisposeAsync().ConfigureAwait(false);
    }
}
