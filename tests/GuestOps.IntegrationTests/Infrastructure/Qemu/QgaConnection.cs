using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace GuestOps.IntegrationTests.Infrastructure.Qemu;

/// <summary>A QGA error answer: <c>{"error": {"class": ..., "desc": ...}}</c>.</summary>
public sealed class QgaException(string command, string errorClass, string description)
    : Exception($"{command}: {errorClass}: {description}")
{
    public string ErrorClass { get; } = errorClass;
}

/// <summary>
/// A raw QGA client on a unix socket (a QEMU chardev socket or <c>qemu-ga -m unix-listen</c>): JSON commands, one
/// answer line each. <see cref="ConnectAsync"/> resynchronises with guest-sync-delimited first (a 0xFF resets the
/// agent's parser; the answer is preceded by 0xFF), as a client must after connecting to a channel someone used before.
/// </summary>
public sealed class QgaConnection : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private readonly List<byte> _line = [];
    private readonly byte[] _buffer = new byte[1 << 16];
    private int _bufferStart;
    private int _bufferEnd;

    private QgaConnection(Socket socket)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: true);
    }

    /// <summary>Connects and resynchronises; retries guest-sync-delimited every <paramref name="retryInterval"/>
    /// (a booting guest's agent is not listening yet) until <paramref name="cancellationToken"/> fires.</summary>
    public static async Task<QgaConnection> ConnectAsync(string socketPath, TimeSpan retryInterval, CancellationToken cancellationToken)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), cancellationToken);
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        var connection = new QgaConnection(socket);
        try
        {
            await connection.SynchroniseAsync(retryInterval, cancellationToken);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    /// <summary>Runs <paramref name="command"/> and returns its <c>return</c> value; an error answer throws <see cref="QgaException"/>.</summary>
    public async Task<JsonNode?> CallAsync(string command, object? arguments = null, CancellationToken cancellationToken = default)
    {
        var request = new JsonObject { ["execute"] = command };
        if (arguments is not null)
        {
            request["arguments"] = JsonSerializer.SerializeToNode(arguments);
        }

        await SendAsync(Encoding.UTF8.GetBytes(request.ToJsonString() + "\n"), cancellationToken);
        var answer = JsonNode.Parse(await ReadLineAsync(cancellationToken))
            ?? throw new InvalidDataException($"{command}: empty answer");
        if (answer["error"] is { } error)
        {
            throw new QgaException(command, (string?)error["class"] ?? "?", (string?)error["desc"] ?? "?");
        }

        return answer["return"];
    }

    /// <summary>guest-exec of <paramref name="path"/>, then guest-exec-status every 10 ms until it exits: (exit code, stdout).</summary>
    public async Task<(int ExitCode, string Output)> ExecAsync(string path, string[] arguments, CancellationToken cancellationToken)
    {
        var pid = (long)(await CallAsync("guest-exec", new Dictionary<string, object> { ["path"] = path, ["arg"] = arguments, ["capture-output"] = true }, cancellationToken))!["pid"]!;
        while (true)
        {
            var status = (await CallAsync("guest-exec-status", new { pid }, cancellationToken))!;
            if ((bool)status["exited"]!)
            {
                var output = status["out-data"] is { } data ? Encoding.UTF8.GetString(Convert.FromBase64String((string)data!)) : "";
                return ((int?)status["exitcode"] ?? -1, output);
            }

            await Task.Delay(10, cancellationToken);
        }
    }

    public async ValueTask DisposeAsync() => await _stream.DisposeAsync();

    private async Task SendAsync(byte[] bytes, CancellationToken cancellationToken) => await _stream.WriteAsync(bytes, cancellationToken);

    /// <summary>
    /// Sends guest-sync-delimited (after a 0xFF that resets the agent's parser) every <paramref name="retryInterval"/>
    /// while reading sync answers (each after a 0xFF; anything else is skipped), until the answer to the latest sync
    /// arrives: answers to earlier syncs, queued while the guest was booting, come first, and no sync is sent after it.
    /// </summary>
    private async Task SynchroniseAsync(TimeSpan retryInterval, CancellationToken cancellationToken)
    {
        using var sending = new SemaphoreSlim(1);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var latest = 0;
        var synchronised = false;
        var sender = Task.Run(async () =>
        {
            while (true)
            {
                await sending.WaitAsync(stop.Token);
                try
                {
                    if (synchronised)
                    {
                        return;
                    }

                    latest = RandomNumberGenerator.GetInt32(1, int.MaxValue);
                    await SendAsync([0xFF, .. Encoding.UTF8.GetBytes($"{{\"execute\":\"guest-sync-delimited\",\"arguments\":{{\"id\":{latest}}}}}\n")], stop.Token);
                }
                finally
                {
                    sending.Release();
                }

                await Task.Delay(retryInterval, stop.Token);
            }
        }, stop.Token);

        try
        {
            while (!synchronised)
            {
                var marker = await ReadByteAsync(cancellationToken);
                if (marker != 0xFF)
                {
                    continue;
                }

                var answer = JsonNode.Parse(await ReadLineAsync(cancellationToken));
                await sending.WaitAsync(cancellationToken);
                synchronised = answer?["return"] is { } value && (long)value == latest;
                sending.Release();
            }
        }
        finally
        {
            await stop.CancelAsync();
            try
            {
                await sender;
            }
            catch (OperationCanceledException)
            {
            }
        }
    }

    private async Task<string> ReadLineAsync(CancellationToken cancellationToken)
    {
        _line.Clear();
        while (true)
        {
            var b = await ReadByteAsync(cancellationToken);
            if (b == '\n')
            {
                return Encoding.UTF8.GetString(_line.ToArray());
            }

            _line.Add(b);
        }
    }

    private async ValueTask<byte> ReadByteAsync(CancellationToken cancellationToken)
    {
        if (_bufferStart == _bufferEnd)
        {
            _bufferStart = 0;
            _bufferEnd = await _stream.ReadAsync(_buffer, cancellationToken);
            if (_bufferEnd == 0)
            {
                throw new EndOfStreamException("The QGA socket was closed.");
            }
        }

        return _buffer[_bufferStart++];
    }
}
