using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace GuestOps.Benchmarks;

/// <summary>
/// The baseline of the qemu-ga comparisons: Debian's qemu-ga driven the way a management client drives it, over its
/// unix socket (JSON lines, base64 data, polling), on an agent this program starts without a VM
/// (<c>qemu-ga -m unix-listen</c>).
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
internal sealed class RawQemuGuestAgent : IAsyncDisposable
{
    public const string Binary = "/usr/sbin/qemu-ga";

    private readonly Process _agent;
    private readonly DirectoryInfo _state;
    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private readonly StreamReader _reader;

    private RawQemuGuestAgent(Process agent, DirectoryInfo state, Socket socket)
    {
        _agent = agent;
        _state = state;
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: false);
        _reader = new StreamReader(_stream, Encoding.UTF8, false, 1 << 20);
    }

    /// <summary>Starts <c>qemu-ga -m unix-listen</c> on a socket in a temporary directory and connects to it.</summary>
    public static async Task<RawQemuGuestAgent> StartAsync()
    {
        var state = Directory.CreateTempSubdirectory("guestops-bench-qga-");
        var socketPath = Path.Combine(state.FullName, "qga.sock");
        var agent = Process.Start(new ProcessStartInfo(Binary, ["-m", "unix-listen", "-p", socketPath, "-t", state.FullName])
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        }) ?? throw new InvalidOperationException("qemu-ga did not start.");
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(5);
        while (!File.Exists(socketPath) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath));
        return new RawQemuGuestAgent(agent, state, socket);
    }

    public async Task<JsonElement> CallAsync(string json)
    {
        await _stream.WriteAsync(Encoding.UTF8.GetBytes(json + "\n"));
        var line = await _reader.ReadLineAsync() ?? throw new InvalidOperationException("qemu-ga closed the socket.");
        using var doc = JsonDocument.Parse(line);
        return doc.RootElement.TryGetProperty("return", out var r) ? r.Clone() : throw new InvalidOperationException($"qemu-ga: {line}");
    }

    /// <summary>guest-exec of <paramref name="path"/>, then guest-exec-status without pause until it has exited; the exit code.</summary>
    public async Task<int> ExecAsync(string path)
    {
        var pid = (await CallAsync($$$"""{"execute":"guest-exec","arguments":{"path":"{{{path}}}"}}""")).GetProperty("pid").GetInt64();
        while (true)
        {
            var status = await CallAsync($$$"""{"execute":"guest-exec-status","arguments":{"pid":{{{pid}}}}}""");
            if (status.GetProperty("exited").GetBoolean())
            {
                return status.TryGetProperty("exitcode", out var code) ? code.GetInt32() : -1;
            }
        }
    }

    /// <summary>guest-file-open/write/close of <paramref name="size"/> bytes in <paramref name="chunk"/>-byte base64 chunks,
    /// each encoded by the client as a management client must.</summary>
    public async Task WriteFileAsync(string path, long size, int chunk)
    {
        var block = new byte[chunk];
        new Random(9).NextBytes(block);
        var handle = (await CallAsync($$$"""{"execute":"guest-file-open","arguments":{"path":"{{{path}}}","mode":"w"}}""")).GetInt64();
        for (long sent = 0; sent < size; sent += chunk)
        {
            var b64 = Convert.ToBase64String(block, 0, (int)Math.Min(chunk, size - sent));
            await CallAsync($$$"""{"execute":"guest-file-write","arguments":{"handle":{{{handle}}},"buf-b64":"{{{b64}}}"}}""");
        }

        await CallAsync($$$"""{"execute":"guest-file-close","arguments":{"handle":{{{handle}}}}}""");
    }

    /// <summary>guest-file-open/read/close in <paramref name="chunk"/>-byte reads, each decoded; the bytes received.</summary>
    public async Task<long> ReadFileAsync(string path, int chunk)
    {
        var handle = (await CallAsync($$$"""{"execute":"guest-file-open","arguments":{"path":"{{{path}}}","mode":"r"}}""")).GetInt64();
        long received = 0;
        while (true)
        {
            var r = await CallAsync($$$"""{"execute":"guest-file-read","arguments":{"handle":{{{handle}}},"count":{{{chunk}}}}}""");
            var n = r.GetProperty("count").GetInt64();
            received += Convert.FromBase64String(r.GetProperty("buf-b64").GetString()!).Length;
            if (n == 0 || r.GetProperty("eof").GetBoolean())
            {
                break;
            }
        }

        await CallAsync($$$"""{"execute":"guest-file-close","arguments":{"handle":{{{handle}}}}}""");
        return received;
    }

    public async ValueTask DisposeAsync()
    {
        _reader.Dispose();
        await _stream.DisposeAsync();
        _socket.Dispose();
        _agent.Kill();
        await _agent.WaitForExitAsync();
        _agent.Dispose();
        _state.Delete(recursive: true);
    }
}
