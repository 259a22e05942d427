using System.IO.Pipelines;
using GuestOps.Channel;
using GuestOps.Channel.Connection;
using GuestOps.Channel.Messages;

namespace GuestOps.Tests.Channel;

/// <summary>In-memory transports and helpers for channel tests.</summary>
internal static class ChannelTestKit
{
    public static readonly TimeSpan TestTimeout = TimeSpan.FromSeconds(50);

    /// <summary>Two connected in-memory streams with socket-like buffering (writes block past 64 KiB unread).</summary>
    public static (Stream A, Stream B) CreateStreamPair()
    {
        var ab = new Pipe(new PipeOptions(pauseWriterThreshold: 64 * 1024, resumeWriterThreshold: 32 * 1024));
        var ba = new Pipe(new PipeOptions(pauseWriterThreshold: 64 * 1024, resumeWriterThreshold: 32 * 1024));
        return (new DuplexPipeStream(ba.Reader, ab.Writer), new DuplexPipeStream(ab.Reader, ba.Writer));
    }

    public static ChannelConnectionOptions HostOptions(TimeSpan? heartbeat = null, TimeSpan? heartbeatTimeout = null) => new()
    {
        Role = ChannelRole.Host,
        Software = "test-host",
        HeartbeatInterval = heartbeat ?? TimeSpan.Zero,
        HeartbeatTimeout = heartbeatTimeout ?? TimeSpan.FromSeconds(4),
        HandshakeTimeout = TimeSpan.FromSeconds(5),
    };

    public static ChannelConnectionOptions WorkerOptions(IChannelRequestHandler? handler, TimeSpan? heartbeat = null, int window = ChannelProtocol.DefaultStreamWindow) => new()
    {
        Role = ChannelRole.Worker,
        Software = "test-worker",
        RequestHandler = handler,
        HeartbeatInterval = heartbeat ?? TimeSpan.Zero,
        StreamWindow = window,
        Capabilities = [ChannelCapabilities.ForOperation(ListFilesRequest.OperationName)],
        Os = new GuestOsFacts { HostName = "vm-test", OsFamily = "linux", IpAddresses = ["10.0.0.5"] },
        HandshakeTimeout = TimeSpan.FromSeconds(5),
    };

    /// <summary>Establishes both ends over an in-memory pair.</summary>
    public static async Task<(ChannelConnection Host, ChannelConnection Worker)> ConnectAsync(
        ChannelConnectionOptions host, ChannelConnectionOptions worker, CancellationToken ct)
    {
        var (a, b) = CreateStreamPair();
        var h = ChannelConnection.EstablishAsync(a, host, ct);
        var w = ChannelConnection.EstablishAsync(b, worker, ct);
        await Task.WhenAll(h, w);
        return (await h, await w);
    }

    public static CancellationToken Timeout(out CancellationTokenSource cts)
    {
        cts = new CancellationTokenSource(TestTimeout);
        return cts.Token;
    }
}

/// <summary>An <see cref="IChannelRequestHandler"/> from a lambda.</summary>
internal sealed class DelegateHandler(Func<IncomingCall, CancellationToken, ValueTask<ChannelResponse>> handle) : IChannelRequestHandler
{
    public ValueTask<ChannelResponse> HandleAsync(IncomingCall call, CancellationToken cancellationToken) => handle(call, cancellationToken);
}

/// <summary>A duplex stream over two pipes.</summary>
internal sealed class DuplexPipeStream(PipeReader reader, PipeWriter writer) : Stream
{
    private readonly Stream _read = reader.AsStream();
    private readonly Stream _write = writer.AsStream();

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => _read.ReadAsync(buffer, cancellationToken);

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) => _write.WriteAsync(buffer, cancellationToken);

    public override Task FlushAsync(CancellationToken cancellationToken) => _write.FlushAsync(cancellationToken);

    public override int Read(byte[] buffer, int offset, int count) => _read.Read(buffer, offset, count);

    public override void Write(byte[] buffer, int offset, int count) => _write.Write(buffer, offset, count);

    public override void Flush() => _write.Flush();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            reader.Complete();
            writer.Complete();
        }

        base.Dispose(disposing);
    }
}

/// <summary>Returns at most <paramref name="maxChunk"/> bytes per read, to exercise reassembly of partial reads.</summary>
internal sealed class TrickleStream(Stream inner, int maxChunk) : Stream
{
    public int Reads { get; private set; }

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        Reads++;
        await Task.Yield();
        return await inner.ReadAsync(buffer[..Math.Min(buffer.Length, maxChunk)], cancellationToken);
    }

    public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, Math.Min(count, maxChunk));

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
