using System.Buffers;
using System.Net.Sockets;
using System.Text.Json;

namespace GuestOps.Host.QemuGuestAgent;

/// <summary>
/// One connection to a qemu-guest-agent (QGA) channel: a unix socket (libvirt's per-domain channel, a QEMU
/// <c>-chardev socket</c>, or <c>qemu-ga -m unix-listen</c>). QGA's protocol is QMP-like JSON, one command at a time,
/// each answer on its own line; it has no notion of sessions, so after every (re)connect the client resynchronizes with
/// <c>guest-sync-delimited</c>: it sends a 0xFF byte (which makes the guest's parser drop whatever half-command an earlier
/// client left), then the sync command with a random id, and discards everything the guest sends until its 0xFF
/// delimiter and the answer carrying that id. Commands are serialized: one in flight at a time.
/// </summary>
public sealed class QgaConnection : IAsyncDisposable
{
    private const byte Delimiter = 0xFF;
    private const int MaxLineBytes = 96 * 1024 * 1024; // guest-file-read of 48 MiB is 64 MiB of base64

    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private byte[] _buffer = new byte[64 * 1024];
    private int _start;
    private int _end;
    private volatile bool _broken;

    private QgaConnection(Socket socket)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: true);
    }

    /// <summary>The socket path.</summary>
    public required string Path { get; init; }

    /// <summary>False once a command failed on the transport (I/O error, timeout, garbage): reconnect.</summary>
    public bool IsUsable => !_broken;

    /// <summary>Connects and resynchronizes within <paramref name="timeout"/>.</summary>
    public static async Task<QgaConnection> ConnectAsync(string path, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        QgaConnection? connection = null;
        try
        {
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            deadline.CancelAfter(timeout);
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(path), deadline.Token).ConfigureAwait(false);
            connection = new QgaConnection(socket) { Path = path };
            await connection.SynchronizeAsync(deadline.Token).ConfigureAwait(false);
            return connection;
        }
        catch (Exception e) when (e is SocketException or IOException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            if (connection is not null)
            {
                await connection.DisposeAsync().ConfigureAwait(false);
            }
            else
            {
                socket.Dispose();
            }

            throw new QgaConnectionException($"qemu-guest-agent at {path} did not answer: {e.Message}", e);
        }
    }

    /// <summary>
    /// Runs one command. <paramref name="arguments"/> writes the members of its <c>arguments</c> object (null: none).
    /// Returns the <c>return</c> value (the caller disposes the document); a QGA error is a <see cref="QgaCommandException"/>,
    /// a transport failure or a timeout a <see cref="QgaConnectionException"/> (the connection is then unusable).
    /// </summary>
    public async Task<JsonDocument> ExecuteAsync(string command, Action<Utf8JsonWriter>? arguments, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var answers = await ExecuteInOrderAsync([(command, arguments)], timeout, cancellationToken).ConfigureAwait(false);
        return answers[0];
    }

    /// <summary>
    /// Runs two commands with one round trip: both are sent at once, the agent runs them in order and answers each on
    /// its own line. Returns both answers (the caller disposes them); when either failed, both were still read (the
    /// stream stays in step) and the first failure is thrown.
    /// </summary>
    public async Task<(JsonDocument First, JsonDocument Second)> ExecuteBothAsync(string first, Action<Utf8JsonWriter>? firstArguments, string second, Action<Utf8JsonWriter>? secondArguments, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var answers = await ExecuteInOrderAsync([(first, firstArguments), (second, secondArguments)], timeout, cancellationToken).ConfigureAwait(false);
        return (answers[0], answers[1]);
    }

    private async Task<JsonDocument[]> ExecuteInOrderAsync((string Command, Action<Utf8JsonWriter>? Arguments)[] commands, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var request = commands.Length == 1 ? Serialize(commands[0].Command, commands[0].Arguments) : [.. commands.SelectMany(c => Serialize(c.Command, c.Arguments))];
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_broken)
            {
                throw new QgaConnectionException($"The connection to qemu-guest-agent at {Path} was lost.");
            }

            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            deadline.CancelAfter(timeout);
            var documents = new JsonDocument[commands.Length];
            var command = commands[0].Command;
            try
            {
                await _stream.WriteAsync(request, deadline.Token).ConfigureAwait(false);
                for (var i = 0; i < commands.Length; i++)
                {
                    command = commands[i].Command;
                    var line = await ReadLineAsync(deadline.Token).ConfigureAwait(false);
                    // The document keeps the memory it parses: give it its own copy, the buffer is reused.
                    documents[i] = JsonDocument.Parse(line.ToArray(), new JsonDocumentOptions { MaxDepth = 64 });
                }

                ShrinkBuffer();
                return Unwrap(commands, documents);
            }
            catch (Exception e) when (e is IOException or SocketException or JsonException or OperationCanceledException or ObjectDisposedException)
            {
                // A command whose answer did not come (or did not parse) leaves the stream at an unknown place.
                _broken = true;
                foreach (var document in documents)
                {
                    document?.Dispose();
                }

                if (e is OperationCanceledException && cancellationToken.IsCancellationRequested)
                {
                    throw;
                }

                throw new QgaConnectionException(e is OperationCanceledException
                    ? $"qemu-guest-agent at {Path} did not answer {command} within {timeout.TotalSeconds:0.#} s."
                    : $"The connection to qemu-guest-agent at {Path} failed during {command}: {e.Message}", e);
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        _broken = true;
        await _stream.DisposeAsync().ConfigureAwait(false);
        _gate.Dispose();
    }

    private async Task SynchronizeAsync(CancellationToken cancellationToken)
    {
        var id = Random.Shared.Next(1, int.MaxValue);
        var sync = Serialize("guest-sync-delimited", w => w.WriteNumber("id", id));
        var request = new byte[sync.Length + 1];
        request[0] = Delimiter;
        sync.CopyTo(request, 1);
        await _stream.WriteAsync(request, cancellationToken).ConfigureAwait(false);

        // Everything before the guest's delimiter is an answer to an earlier client (or an error about our own 0xFF).
        if (!await SkipToDelimiterAsync(cancellationToken).ConfigureAwait(false))
        {
            throw new IOException("The channel closed during guest-sync-delimited.");
        }

        while (true)
        {
            // After it, only the answer carrying our id counts (another client's sync may have raced ours).
            var line = (await ReadLineAsync(cancellationToken).ConfigureAwait(false)).ToArray().AsSpan().TrimStart(Delimiter);
            try
            {
                using var answer = JsonDocument.Parse(line.ToArray());
                if (answer.RootElement.ValueKind == JsonValueKind.Object && answer.RootElement.TryGetProperty("return", out var value)
                    && value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var answered) && answered == id)
                {
                    return;
                }
            }
            catch (JsonException)
            {
                // not the answer: keep looking
            }
        }
    }

    private static byte[] Serialize(string command, Action<Utf8JsonWriter>? arguments)
    {
        var output = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(output))
        {
            writer.WriteStartObject();
            writer.WriteString("execute", command);
            if (arguments is not null)
            {
                writer.WriteStartObject("arguments");
                arguments(writer);
                writer.WriteEndObject();
            }

            writer.WriteEndObject();
        }

        var bytes = new byte[output.WrittenCount + 1];
        output.WrittenSpan.CopyTo(bytes);
        bytes[^1] = (byte)'\n';
        return bytes;
    }

    /// <summary>The answers when each returned; else the first error (every document disposed).</summary>
    private static JsonDocument[] Unwrap((string Command, Action<Utf8JsonWriter>? Arguments)[] commands, JsonDocument[] documents)
    {
        for (var i = 0; i < documents.Length; i++)
        {
            try
            {
                Unwrap(commands[i].Command, documents[i]);
            }
            catch (Exception e) when (e is QgaCommandException or JsonException)
            {
                foreach (var document in documents)
                {
                    document.Dispose();
                }

                throw;
            }
        }

        return documents;
    }

    private static JsonDocument Unwrap(string command, JsonDocument document)
    {
        var root = document.RootElement;
        if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("error", out var error))
        {
            var errorClass = error.TryGetProperty("class", out var c) ? c.GetString() ?? "" : "";
            var description = error.TryGetProperty("desc", out var d) ? d.GetString() ?? "" : "";
            document.Dispose();
            throw new QgaCommandException(command, errorClass, description);
        }

        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("return", out _))
        {
            document.Dispose();
            throw new JsonException($"qemu-guest-agent answered {command} with neither return nor error.");
        }

        return document;
    }

    /// <summary>The return value of an answer document.</summary>
    public static JsonElement Return(JsonDocument document) => document.RootElement.GetProperty("return");

    private async Task<bool> SkipToDelimiterAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var i = Array.IndexOf(_buffer, Delimiter, _start, _end - _start);
            if (i >= 0)
            {
                _start = i + 1;
                return true;
            }

            _start = _end = 0;
            if (!await FillAsync(cancellationToken).ConfigureAwait(false))
            {
                return false;
            }
        }
    }

    /// <summary>The next non-blank line (without its newline); the memory is valid until the next read.</summary>
    private async Task<ReadOnlyMemory<byte>> ReadLineAsync(CancellationToken cancellationToken)
    {
        var searched = 0; // bytes after _start known to hold no newline
        while (true)
        {
            var i = Array.IndexOf(_buffer, (byte)'\n', _start + searched, _end - _start - searched);
            if (i >= 0)
            {
                var line = _buffer.AsMemory(_start, i - _start);
                _start = i + 1;
                searched = 0;
                if (line.Span.IndexOfAnyExcept(" \r\t"u8) < 0)
                {
                    continue;
                }

                return line;
            }

            searched = _end - _start;
            if (!await FillAsync(cancellationToken).ConfigureAwait(false))
            {
                throw new IOException("qemu-guest-agent closed the channel.");
            }
        }
    }

    /// <summary>Returns to a small buffer after a large answer (a file chunk), when nothing is left in it.</summary>
    private void ShrinkBuffer()
    {
        if (_start == _end && _buffer.Length > 16 * 1024 * 1024)
        {
            _buffer = new byte[64 * 1024];
            _start = _end = 0;
        }
    }

    /// <summary>Reads more bytes at the end of the buffer (compacting or growing it first); false at end of stream.</summary>
    private async Task<bool> FillAsync(CancellationToken cancellationToken)
    {
        if (_start > 0 && _end == _buffer.Length)
        {
            Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
            _end -= _start;
            _start = 0;
        }

        if (_end == _buffer.Length)
        {
            if (_buffer.Length >= MaxLineBytes)
            {
                throw new IOException($"An answer of qemu-guest-agent is longer than {MaxLineBytes} bytes.");
            }

            Array.Resize(ref _buffer, Math.Min(_buffer.Length * 2, MaxLineBytes));
        }

        var n = await _stream.ReadAsync(_buffer.AsMemory(_end), cancellationToken).ConfigureAwait(false);
        _end += n;
        return n > 0;
    }
}
