using System.Buffers.Binary;
using System.Diagnostics;
using System.Security.Cryptography;
using GuestOps.Channel.Messages;

namespace GuestOps.Host.QemuGuestAgent;

/// <summary>The resident tools stopped answering (they exited, or their pipe is out of step).</summary>
public sealed class ResidentToolsException(string message) : Exception(message);

/// <summary>
/// The host's end of the pushed tools' resident mode (<c>guestops-tools --resident</c>): one process in the guest,
/// started with guest-exec, that serves the requests <c>--exec</c> would serve, without a process start per call. The
/// host reaches it through two named pipes in the tools' root-only directory, opened with guest-file-open in mode
/// <c>r+</c> (never waits for the other end; qemu-ga makes them non-blocking): a request is one frame
/// <c>[length u32][id u32][ChannelRequest JSON]</c> written with guest-file-write + guest-file-flush (one round trip); responses come
/// back as frames <c>[length u32][id u32][last u8][part]</c>, each in the pipe whole, which a poller reads with
/// guest-file-read — the 4-byte header (an empty pipe answers EAGAIN, an error that loses nothing), then exactly the
/// length it names — while calls are outstanding: every millisecond at first, then backing off to 20 ms.
/// </summary>
public sealed class ResidentTools : IAsyncDisposable
{
    /// <summary>How long the resident may take to make its pipes.</summary>
    public static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(10);

    /// <summary>Largest request sent through the pipe (the tools' limit); larger ones run through <c>--exec</c>.</summary>
    public const int MaxRequestBytes = 60 * 1024;

    private const int MaxResponseBytes = 64 * 1024 * 1024;
    private static readonly TimeSpan EagerPolling = TimeSpan.FromMilliseconds(20);
    private static readonly TimeSpan MaxPollInterval = TimeSpan.FromMilliseconds(20);

    /// <summary>The pause between polls while an answer is expected soon. Not zero: back-to-back polls keep this
    /// process and qemu-ga busy on the cores the tools need to answer (a guest call is a PAM check and often a process
    /// start: milliseconds, not one round trip).</summary>
    private static readonly TimeSpan EagerPace = TimeSpan.FromMilliseconds(1);

    private readonly QgaConnection _qga;
    private readonly PollClock _clock;
    private readonly long _input;
    private readonly long _output;
    private readonly SemaphoreSlim _writeGate = new(1, 1);
    private readonly Lock _lock = new();
    private readonly Dictionary<uint, Pending> _pending = [];
    private uint _nextId;
    private bool _polling;
    private volatile string? _failure;

    private ResidentTools(QgaConnection qga, PollClock clock, long pid, long input, long output)
    {
        _qga = qga;
        _clock = clock;
        Pid = pid;
        _input = input;
        _output = output;
    }

    /// <summary>The resident's pid in the guest (its guest-exec).</summary>
    public long Pid { get; }

    /// <summary>False once the resident failed: calls then go through <c>--exec</c> until another one is started.</summary>
    public bool IsUsable => _failure is null;

    /// <summary>Starts the resident and opens its pipes.</summary>
    public static async Task<ResidentTools> StartAsync(QgaConnection qga, PollClock clock, string pamService, int credentialCacheSeconds, CancellationToken cancellationToken)
    {
        var token = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        var directory = $"{GuestTools.StateDirectory}/resident/{token}";
        var pid = await qga.ExecAsync(GuestTools.GuestBinary,
            ["--resident", "--token", token, "--state-dir", GuestTools.StateDirectory, "--pam-service", pamService,
                "--credential-cache-ttl", credentialCacheSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture)], default, cancellationToken).ConfigureAwait(false);
        var elapsed = Stopwatch.StartNew();
        var backoff = new PollBackoff(TimeSpan.Zero, MaxPollInterval);
        while (true)
        {
            var status = await qga.ExecStatusAsync(pid, cancellationToken).ConfigureAwait(false);
            if (status.Exited)
            {
                throw new ResidentToolsException($"The resident tools exited at start ({GuestExec.Describe(status)}).");
            }

            long input;
            try
            {
                input = await qga.FileOpenAsync(directory + ".in", "r+", cancellationToken).ConfigureAwait(false);
            }
            catch (QgaCommandException) when (elapsed.Elapsed < StartTimeout)
            {
                await backoff.WaitAsync(elapsed.Elapsed, clock, cancellationToken).ConfigureAwait(false);
                continue;
            }

            // The resident names the output pipe before the input pipe's turn comes: both exist now.
            var output = await qga.FileOpenAsync(directory + ".out", "r+", cancellationToken).ConfigureAwait(false);
            return new ResidentTools(qga, clock, pid, input, output);
        }
    }

    /// <summary>Whether the resident still runs (guest-exec-status of its pid); marks it failed when not.</summary>
    public async Task<bool> CheckRunningAsync(CancellationToken cancellationToken)
    {
        if (_failure is not null)
        {
            return false;
        }

        try
        {
            var status = await _qga.ExecStatusAsync(Pid, cancellationToken).ConfigureAwait(false);
            if (!status.Exited)
            {
                return true;
            }

            Fail($"The resident tools exited ({GuestExec.Describe(status)}).");
        }
        catch (QgaCommandException e)
        {
            Fail($"The resident tools are gone ({e.Description}).");
        }

        return false;
    }

    /// <summary>Sends one request and waits for its response.</summary>
    public async Task<ChannelResponse> CallAsync(ReadOnlyMemory<byte> request, CancellationToken cancellationToken)
    {
        var pending = new Pending();
        uint id;
        lock (_lock)
        {
            ThrowIfFailed();
            id = ++_nextId;
            _pending.Add(id, pending);
        }

        try
        {
            var frame = new byte[8 + request.Length];
            BinaryPrimitives.WriteUInt32BigEndian(frame, (uint)(4 + request.Length));
            BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(4), id);
            request.CopyTo(frame.AsMemory(8));
            await _writeGate.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                // One frame per write: a short write (the pipe full) would leave the stream out of step.
                var written = await _qga.FileWriteFlushedAsync(_input, frame, cancellationToken).ConfigureAwait(false);
                if (written != frame.Length)
                {
                    Fail($"The resident tools' pipe took {written} of {frame.Length} bytes.");
                }
            }
            catch (QgaCommandException e)
            {
                Fail($"The resident tools' pipe failed: {e.Description}");
            }
            finally
            {
                _writeGate.Release();
            }

            ThrowIfFailed();
            EnsurePolling();
            var response = await pending.Completion.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
            return ChannelMessageJson.DeserializeResponse(response)
                ?? throw new ResidentToolsException("The resident tools answered something that is not a channel response.");
        }
        finally
        {
            lock (_lock)
            {
                _pending.Remove(id);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        Fail("The resident tools were closed.");
        foreach (var handle in new[] { _input, _output })
        {
            try
            {
                await _qga.FileCloseAsync(handle, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception e) when (e is QgaCommandException or QgaConnectionException)
            {
                // the agent or its handle is gone already
            }
        }

        _writeGate.Dispose();
    }

    private void EnsurePolling()
    {
        lock (_lock)
        {
            if (_polling || _pending.Count == 0)
            {
                return;
            }

            _polling = true;
        }

        _ = Task.Run(PollAsync);
    }

    /// <summary>Reads response frames while calls are outstanding.</summary>
    private async Task PollAsync()
    {
        var clock = Stopwatch.StartNew();
        var backoff = new PollBackoff(EagerPolling, MaxPollInterval, EagerPace);
        var header = new byte[4];
        try
        {
            while (true)
            {
                lock (_lock)
                {
                    if (_pending.Count == 0 || _failure is not null)
                    {
                        _polling = false;
                        return;
                    }
                }

                if (!await TryReadAsync(header).ConfigureAwait(false))
                {
                    await backoff.WaitAsync(clock.Elapsed, _clock, CancellationToken.None).ConfigureAwait(false);
                    continue;
                }

                var length = BinaryPrimitives.ReadUInt32BigEndian(header);
                if (length < 5 || length > MaxResponseBytes)
                {
                    Fail($"The resident tools' pipe is out of step (a frame of {length} bytes).");
                    continue;
                }

                var body = new byte[length];
                if (!await TryReadAsync(body).ConfigureAwait(false))
                {
                    Fail("The resident tools' pipe ended inside a frame.");
                    continue;
                }

                Deliver(BinaryPrimitives.ReadUInt32BigEndian(body), body[4] != 0, body.AsMemory(5));
                clock.Restart();
                backoff.Reset();
            }
        }
        catch (Exception e) when (e is QgaConnectionException or OperationCanceledException or FormatException or InvalidOperationException
                                       or KeyNotFoundException or System.Text.Json.JsonException)
        {
            Fail($"Reading the resident tools' answers failed: {e.Message}");
            lock (_lock)
            {
                _polling = false;
            }
        }
    }

    /// <summary>Reads exactly <paramref name="buffer"/>'s length; false when the pipe is empty (EAGAIN).</summary>
    private async Task<bool> TryReadAsync(byte[] buffer)
    {
        try
        {
            var (data, _) = await _qga.FileReadAsync(_output, buffer.Length, CancellationToken.None).ConfigureAwait(false);
            if (data.Length == 0)
            {
                return false;
            }

            if (data.Length != buffer.Length)
            {
                Fail($"The resident tools' pipe gave {data.Length} of {buffer.Length} bytes.");
                return false;
            }

            data.CopyTo(buffer, 0);
            return true;
        }
        catch (QgaCommandException e) when (e.Description.Contains("temporarily unavailable", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }
        catch (QgaCommandException e)
        {
            Fail($"The resident tools' pipe failed: {e.Description}");
            return false;
        }
    }

    private void Deliver(uint id, bool last, ReadOnlyMemory<byte> part)
    {
        Pending? pending;
        lock (_lock)
        {
            _pending.TryGetValue(id, out pending);
        }

        if (pending is null)
        {
            return; // a call that was canceled meanwhile
        }

        pending.Received.Write(part.Span);
        if (last)
        {
            pending.Completion.TrySetResult(pending.Received.ToArray());
        }
    }

    private void Fail(string reason)
    {
        List<Pending> waiting;
        lock (_lock)
        {
            _failure ??= reason;
            waiting = [.. _pending.Values];
        }

        foreach (var pending in waiting)
        {
            pending.Completion.TrySetException(new ResidentToolsException(_failure));
        }
    }

    private void ThrowIfFailed()
    {
        if (_failure is { } failure)
        {
            throw new ResidentToolsException(failure);
        }
    }

    private sealed class Pending
    {
        public TaskCompletionSource<byte[]> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public MemoryStream Received { get; } = new();
    }
}
