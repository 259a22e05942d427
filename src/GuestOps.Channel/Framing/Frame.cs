using System.Buffers;

namespace GuestOps.Channel.Framing;

/// <summary>
/// A received frame. Its payload lives in an <see cref="ArrayPool{T}"/> buffer owned by this instance until
/// <see cref="Dispose"/> (or until ownership is moved with <see cref="DetachPayload"/>).
/// </summary>
internal sealed class Frame : IDisposable
{
    private byte[]? _buffer;

    public Frame(FrameHeader header, byte[]? pooledBuffer)
    {
        Header = header;
        _buffer = pooledBuffer;
    }

    public FrameHeader Header { get; }

    public FrameType Type => Header.Type;

    public uint StreamId => Header.StreamId;

    public int Length => Header.PayloadLength;

    public ReadOnlySpan<byte> Payload => _buffer is null ? default : _buffer.AsSpan(0, Length);

    public ReadOnlyMemory<byte> PayloadMemory => _buffer is null ? default : _buffer.AsMemory(0, Length);

    /// <summary>Moves ownership of the pooled buffer to the caller, who must return it to <see cref="ArrayPool{T}.Shared"/>.</summary>
    public byte[]? DetachPayload()
    {
        var b = _buffer;
        _buffer = null;
        return b;
    }

    public void Dispose()
    {
        var b = _buffer;
        _buffer = null;
        if (b is not null)
        {
            ArrayPool<byte>.Shared.Return(b);
        }
    }
}
