using System.Buffers;
using System.Security.Cryptography;
using System.Text;
using GuestOps.Channel;
using GuestOps.Channel.Connection;
using GuestOps.Channel.Messages;
using GuestOps.Channel.Transport;
using GuestOps.Host.Dispatch;
using Microsoft.Extensions.Logging;

namespace GuestOps.Host.QemuGuestAgent;

/// <summary>What the host agent knows about a qemu-ga guest at a moment (immutable; replaced when it changes).</summary>
public sealed record QemuGuestAgentStatus
{
    public static readonly QemuGuestAgentStatus NotConnected = new();

    /// <summary>qemu-ga answered its last guest-ping.</summary>
    public bool AgentRunning { get; init; }

    public string AgentVersion { get; init; } = "";

    public GuestToolsState Tools { get; init; }

    /// <summary>The QGA command the guest does not allow that guest operations need, if any.</summary>
    public string? BlockedCommand { get; init; }
}

/// <summary>Settings of the qemu-ga provider.</summary>
public sealed record QemuGuestAgentOptions
{
    /// <summary>How often a connected agent is pinged (guest-ping): its readiness.</summary>
    public TimeSpan PingInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Longest wait between attempts to reach an agent that does not answer.</summary>
    public TimeSpan MaxReconnectDelay { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Bytes per guest-file-read / guest-file-write of a transfer (base64 in JSON, so 4/3 of it travel).</summary>
    public int TransferChunk { get; init; } = 4 * 1024 * 1024;

    /// <summary>The guest's PAM service the one-shot worker authenticates with.</summary>
    public string PamService { get; init; } = "guestops-tools";

    /// <summary>Seconds the resident tools keep verified credentials (GuestCredentialCacheSeconds; 0: off).</summary>
    public int CredentialCacheSeconds { get; init; }
}

/// <summary>
/// The <c>qemu-ga</c> provider's half in the host agent: it stands in for the tools worker of a VM whose only agent is
/// qemu-guest-agent. It keeps a QGA connection to the VM's channel socket (resync, guest-info, guest facts, guest-ping
/// every second), pushes the tools into the guest (<see cref="GuestTools"/>), and connects to the VM's dispatcher as
/// its worker, so the dispatcher's deadlines, in-flight limits, transfer slots and readiness work unchanged. Every
/// request the dispatcher sends becomes one guest-exec of <c>guestops-tools --exec</c> with the request on stdin: the
/// guest's PAM checks the credentials and the worker acts as the user. Transfers are staged in the tools' root-only
/// directory: upload bytes are written there with guest-file-write and copied into place by the worker as the user;
/// a download is copied there by the worker (the file opened as the user) and read with guest-file-read.
/// </summary>
public sealed partial class QemuGuestAgentBridge : IChannelRequestHandler, IAsyncDisposable
{
    private readonly string _vmName;
    private readonly string _agentSocket;
    private readonly IChannelConnector _dispatcher;
    private readonly string? _toolsBinary;
    private readonly QemuGuestAgentOptions _options;
    private readonly PollClock _clock;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private GuestTools? _tools;
    private volatile QgaConnection? _qga;
    private volatile ResidentTools? _resident;
    private DateTimeOffset _residentRetry;
    private Task _loop = Task.CompletedTask;

    /// <param name="clock">The host agent's clock for the pauses between polls of qemu-ga.</param>
    public QemuGuestAgentBridge(string vmName, string agentSocket, string dispatcherSocket, string? toolsBinary, QemuGuestAgentOptions options, PollClock clock, ILoggerFactory loggerFactory)
    {
        _clock = clock;
        _vmName = vmName;
        _agentSocket = agentSocket;
        _dispatcher = new UnixSocketChannelConnector(dispatcherSocket);
        _toolsBinary = toolsBinary;
        _options = options;
        _loggerFactory = loggerFactory;
        _logger = loggerFactory.CreateLogger<QemuGuestAgentBridge>();
    }

    private QemuGuestAgentStatus _status = QemuGuestAgentStatus.NotConnected;

    public QemuGuestAgentStatus Status
    {
        get => _status;
        private set
        {
            _status = value;
            StatusChanged?.Invoke();
        }
    }

    /// <summary>Raised after <see cref="Status"/> changed.</summary>
    public event Action? StatusChanged;

    public void Start() => _loop = RunAsync(_stopping.Token);

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        try
        {
            await _loop.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        _stopping.Dispose();
    }

    // ---------------------------------------------------------------- the agent's lifecycle

    private async Task RunAsync(CancellationToken stopping)
    {
        var delay = TimeSpan.FromMilliseconds(100);
        var failures = 0;
        while (!stopping.IsCancellationRequested)
        {
            try
            {
                await using var qga = await QgaConnection.ConnectAsync(_agentSocket, QgaCommands.ShortTimeout, stopping).ConfigureAwait(false);
                failures = 0;
                delay = TimeSpan.FromMilliseconds(100);
                await ServeAsync(qga, stopping).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is QgaConnectionException or QgaCommandException or IOException or System.Net.Sockets.SocketException or ChannelException or InvalidOperationException or TimeoutException)
            {
                if (failures++ % 50 == 0)
                {
                    LogAgentUnreachable(_logger, _vmName, _agentSocket, e.Message);
                }
            }
            finally
            {
                _qga = null;
                Status = Status with { AgentRunning = false };
            }

            await Task.Delay(delay, stopping).ConfigureAwait(false);
            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, _options.MaxReconnectDelay.Ticks));
        }
    }

    /// <summary>One agent connection: learn the guest, push the tools, serve as the VM's worker while guest-ping answers.</summary>
    private async Task ServeAsync(QgaConnection qga, CancellationToken stopping)
    {
        await qga.PingAsync(stopping).ConfigureAwait(false);
        var info = await qga.InfoAsync(stopping).ConfigureAwait(false);
        var facts = await qga.FactsAsync(info, stopping).ConfigureAwait(false);
        var blocked = GuestTools.FirstBlocked(info);
        var tools = GuestToolsState.NotInstalled;
        var software = $"qemu-guest-agent/{info.Version}";
        if (blocked is not null)
        {
            LogCommandBlocked(_logger, _vmName, blocked);
        }
        else if (ToolsOnHost() is not { } guestTools)
        {
            LogNoToolsOnHost(_logger, _vmName, _toolsBinary ?? "(none)");
        }
        else
        {
            try
            {
                var (version, pushed) = await guestTools.EnsureInstalledAsync(qga, _clock, stopping).ConfigureAwait(false);
                tools = GuestToolsState.Current;
                software = $"guestops-tools/{version} (through qemu-guest-agent/{info.Version})";
                if (pushed)
                {
                    LogToolsPushed(_logger, _vmName, guestTools.Sha256);
                }
            }
            catch (Exception e) when (e is QgaCommandException or InvalidOperationException or IOException)
            {
                LogPushFailed(_logger, _vmName, e.Message);
            }
        }

        Status = new QemuGuestAgentStatus { AgentRunning = true, AgentVersion = info.Version, Tools = tools, BlockedCommand = blocked };
        _qga = qga;
        var resident = tools == GuestToolsState.Current && info.EnabledCommands.Contains(ResidentCommand);
        _residentRetry = DateTimeOffset.MinValue;
        try
        {
            await ServeChannelAsync(qga, resident, software, facts, stopping).ConfigureAwait(false);
        }
        finally
        {
            if (_resident is { } running)
            {
                _resident = null;
                await running.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    private async Task ServeChannelAsync(QgaConnection qga, bool resident, string software, QgaGuestFacts facts, CancellationToken stopping)
    {
        if (resident)
        {
            await EnsureResidentAsync(qga, stopping).ConfigureAwait(false);
        }

        var transport = await _dispatcher.ConnectAsync(stopping).ConfigureAwait(false);
        await using var channel = await ChannelConnection.EstablishAsync(transport.Stream, new ChannelConnectionOptions
        {
            Role = ChannelRole.Worker,
            Software = software,
            Capabilities = Operations.Select(ChannelCapabilities.ForOperation).ToList(),
            Os = new GuestOsFacts
            {
                HostName = facts.HostName,
                IpAddresses = facts.IpAddresses,
                OsFamily = "linux",
                OsName = facts.OsName,
                KernelVersion = facts.KernelRelease,
                Architecture = facts.Machine,
                WorkerUser = "root",
            },
            RequestHandler = this,
            LoggerFactory = _loggerFactory,
        }, stopping).ConfigureAwait(false);
        LogServing(_logger, _vmName, software);

        while (!stopping.IsCancellationRequested && channel.IsOpen)
        {
            var closed = channel.Completion;
            var tick = Task.Delay(_options.PingInterval, stopping);
            if (await Task.WhenAny(closed, tick).ConfigureAwait(false) == closed)
            {
                return;
            }

            stopping.ThrowIfCancellationRequested();
            await qga.PingAsync(stopping).ConfigureAwait(false); // throws when the agent is gone: the channel closes with it
            if (resident)
            {
                await EnsureResidentAsync(qga, stopping).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Keeps the resident tools running: checks the one there is, starts one when there is none (after a failed
    /// start, not again for <see cref="ResidentRetryDelay"/>). Meanwhile calls run through <c>--exec</c>.</summary>
    private async Task EnsureResidentAsync(QgaConnection qga, CancellationToken stopping)
    {
        if (_resident is { } running)
        {
            if (await running.CheckRunningAsync(stopping).ConfigureAwait(false))
            {
                return;
            }

            LogResidentLost(_logger, _vmName, running.Pid);
            _resident = null;
            await running.DisposeAsync().ConfigureAwait(false);
        }

        if (DateTimeOffset.UtcNow < _residentRetry)
        {
            return;
        }

        try
        {
            var started = await ResidentTools.StartAsync(qga, _clock, _options.PamService, _options.CredentialCacheSeconds, stopping).ConfigureAwait(false);
            _resident = started;
            LogResidentStarted(_logger, _vmName, started.Pid);
        }
        catch (Exception e) when (e is QgaCommandException or ResidentToolsException)
        {
            _residentRetry = DateTimeOffset.UtcNow + ResidentRetryDelay;
            LogResidentFailed(_logger, _vmName, e.Message);
        }
    }

    private GuestTools? ToolsOnHost()
    {
        if (_tools is null && _toolsBinary is not null && File.Exists(_toolsBinary))
        {
            _tools = GuestTools.Load(_toolsBinary);
        }

        return _tools;
    }

    // ---------------------------------------------------------------- requests

    /// <summary>The QGA command the resident tools need beyond <see cref="GuestTools.RequiredCommands"/>; without it,
    /// every call runs through <c>--exec</c>.</summary>
    public const string ResidentCommand = "guest-file-flush";

    private static readonly TimeSpan ResidentRetryDelay = TimeSpan.FromSeconds(30);

    /// <summary>Every guest method: they all run through the one-shot worker.</summary>
    private static readonly string[] Operations = [.. GuestMethods.All.Select(m => m.Name)];

    public async ValueTask<ChannelResponse> HandleAsync(IncomingCall call, CancellationToken cancellationToken)
    {
        var status = Status;
        if (status.BlockedCommand is { } blocked)
        {
            return ChannelResponse.Failure(GuestErrorCode.OperationDisabled,
                $"The guest's qemu-guest-agent does not allow {blocked} (qemu-ga --block-rpcs / --allow-rpcs), which guest operations need to run the tools in the guest.");
        }

        if (status.Tools != GuestToolsState.Current || _qga is not { } qga)
        {
            return ChannelResponse.Failure(GuestErrorCode.OperationDisabled,
                "The guest operations tools could not be installed in this guest through qemu-guest-agent (see the server log).");
        }

        try
        {
            return call.Request switch
            {
                UploadRequest => await UploadAsync(qga, call, cancellationToken).ConfigureAwait(false),
                DownloadRequest => await DownloadAsync(qga, call, cancellationToken).ConfigureAwait(false),
                _ => await CallAsync(qga, call.Request, cancellationToken).ConfigureAwait(false),
            };
        }
        catch (ResidentToolsException e)
        {
            LogCallFailed(_logger, _vmName, call.Request.Operation, e.Message);
            return ChannelResponse.Failure(GuestErrorCode.InternalError, $"The guest's tools failed during the call: {e.Message}");
        }
        catch (QgaCommandException e)
        {
            LogCallFailed(_logger, _vmName, call.Request.Operation, e.Message);
            return ChannelResponse.Failure(GuestErrorCode.InternalError, $"qemu-guest-agent failed the call: {e.Description}");
        }
        catch (QgaConnectionException e)
        {
            // The connection is unusable now: the next guest-ping fails and the VM's worker disconnects until the agent is back.
            LogCallFailed(_logger, _vmName, call.Request.Operation, e.Message);
            return ChannelResponse.Failure(GuestErrorCode.InternalError, $"The connection to the guest's qemu-guest-agent failed during the call: {e.Message}");
        }
    }

    /// <summary>Sends the request to the resident tools, or runs the one-shot worker when none runs (or the request is
    /// larger than the resident's pipe takes).</summary>
    private async Task<ChannelResponse> CallAsync(QgaConnection qga, ChannelRequest request, CancellationToken cancellationToken)
    {
        if (_resident is { IsUsable: true } resident)
        {
            var bytes = ChannelMessageJson.SerializeRequest(request);
            if (bytes.Length <= ResidentTools.MaxRequestBytes)
            {
                return await resident.CallAsync(bytes, cancellationToken).ConfigureAwait(false);
            }
        }

        return await ExecAsync(qga, request, null, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Runs the one-shot worker with the request on stdin and reads its response from stdout.</summary>
    private async Task<ChannelResponse> ExecAsync(QgaConnection qga, ChannelRequest request, string? staging, CancellationToken cancellationToken)
    {
        List<string> arguments = ["--exec", "--state-dir", GuestTools.StateDirectory, "--pam-service", _options.PamService];
        if (staging is not null)
        {
            arguments.AddRange(["--staging", staging]);
        }

        var status = await GuestExec.RunAsync(qga, _clock, GuestTools.GuestBinary, arguments, ChannelMessageJson.SerializeRequest(request), cancellationToken).ConfigureAwait(false);
        if (status.ExitCode == 0 && ChannelMessageJson.DeserializeResponse(status.Output) is { } response)
        {
            return response;
        }

        return ChannelResponse.Failure(GuestErrorCode.InternalError, $"The guest's tools failed ({GuestExec.Describe(status)}).");
    }

    /// <summary>The bytes go to a staging file in the tools' root-only directory (guest-file-write, in chunks as they
    /// arrive); the worker then checks the grant and copies them into place as the user, and removes the staging file.</summary>
    private async Task<ChannelResponse> UploadAsync(QgaConnection qga, IncomingCall call, CancellationToken cancellationToken)
    {
        var staging = NewStagingName();
        var handle = await qga.FileOpenAsync(StagingPath(staging), "w", cancellationToken).ConfigureAwait(false);
        var buffer = ArrayPool<byte>.Shared.Rent(_options.TransferChunk);
        var staged = false;
        try
        {
            try
            {
                var filled = 0;
                while (true)
                {
                    var n = await call.RequestData.ReadAsync(buffer.AsMemory(filled, _options.TransferChunk - filled), cancellationToken).ConfigureAwait(false);
                    if (n > 0)
                    {
                        filled += n;
                        if (filled < _options.TransferChunk)
                        {
                            continue;
                        }
                    }

                    if (filled > 0)
                    {
                        await GuestTools.WriteAllAsync(qga, handle, buffer.AsMemory(0, filled), cancellationToken).ConfigureAwait(false);
                        filled = 0;
                    }

                    if (n == 0)
                    {
                        break;
                    }
                }
            }
            finally
            {
                await qga.FileCloseAsync(handle, CancellationToken.None).ConfigureAwait(false);
            }

            staged = true;
            return await ExecAsync(qga, call.Request, staging, cancellationToken).ConfigureAwait(false);
        }
        catch (ChannelDataAbortedException e)
        {
            return ChannelResponse.Failure(GuestErrorCode.Canceled, $"The upload was interrupted: {e.Message}");
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            if (!staged)
            {
                await DiscardAsync(qga, staging).ConfigureAwait(false);
            }
        }
    }

    /// <summary>The worker copies the granted file (opened as the user) to a staging file in the tools' root-only
    /// directory; its bytes are then read with guest-file-read in chunks and streamed out, and the staging file removed.</summary>
    private async Task<ChannelResponse> DownloadAsync(QgaConnection qga, IncomingCall call, CancellationToken cancellationToken)
    {
        var staging = NewStagingName();
        var response = await ExecAsync(qga, call.Request, staging, cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccess)
        {
            return response; // the worker removed what it staged
        }

        try
        {
            var handle = await qga.FileOpenAsync(StagingPath(staging), "r", cancellationToken).ConfigureAwait(false);
            try
            {
                while (true)
                {
                    var (data, eof) = await qga.FileReadAsync(handle, _options.TransferChunk, cancellationToken).ConfigureAwait(false);
                    if (data.Length > 0)
                    {
                        await call.ResponseData.WriteAsync(data, cancellationToken).ConfigureAwait(false);
                    }

                    if (eof || data.Length == 0)
                    {
                        break;
                    }
                }
            }
            finally
            {
                await qga.FileCloseAsync(handle, CancellationToken.None).ConfigureAwait(false);
            }

            return response;
        }
        finally
        {
            await DiscardAsync(qga, staging).ConfigureAwait(false);
        }
    }

    private async Task DiscardAsync(QgaConnection qga, string staging)
    {
        try
        {
            using var timeout = new CancellationTokenSource(QgaCommands.ShortTimeout);
            await GuestExec.RunAsync(qga, _clock, GuestTools.GuestBinary, ["--discard-staging", staging, "--state-dir", GuestTools.StateDirectory], default, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is QgaCommandException or QgaConnectionException or OperationCanceledException)
        {
            LogDiscardFailed(_logger, _vmName, staging, e.Message);
        }
    }

    private static string NewStagingName() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));

    private static string StagingPath(string name) => $"{GuestTools.StateDirectory}/staging/{name}";
}
