using System.Buffers;

namespace GuestOps.Soap;

/// <summary>A write-then-read memory stream over ArrayPool buffers, for bounded SOAP envelopes.</summary>
public sealed class PooledBufferStream : Stream
{
    private byte[] _buffer;
    private int _length;
    private int _position;

    public PooledBufferStream(int initialCapacity = 4096) => _buffer = ArrayPool<byte>.Shared.Rent(initialCapacity);

    public ReadOnlyMemory<byte> WrittenMemory => _buffer.AsMemory(0, _length);

    public override bool CanRead => true;
    public override bool CanSeek => true;
    public override bool CanWrite => true;
    public override long Length => _length;

    public override long Position
    {
        get => _position;
        set => _position = (int)Math.Clamp(value, 0, _length);
    }

    /// <summary>Reads <paramref name="source"/> to its end into this buffer; false when it exceeds <paramref name="maxBytes"/>.</summary>
    public async Task<bool> FillAsync(Stream source, long maxBytes, CancellationToken cancellationToken)
    {
        while (true)
        {
            if (_buffer.Length - _length < 1024)
            {
                Grow(_length + 1024);
            }

            var read = await source.ReadAsync(_buffer.AsMemory(_length), cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                _position = 0;
                return true;
            }

            _length += read;
            if (_length > maxBytes)
            {
                return false;
            }
        }
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        var n = Math.Min(buffer.Length, _length - _position);
        _buffer.AsSpan(_position, n).CopyTo(buffer);
        _position += n;
        return n;
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        if (_position + buffer.Length > _buffer.Length)
        {
            Grow(_position + buffer.Length);
        }

        buffer.CopyTo(_buffer.AsSpan(_position));
        _position += buffer.Length;
        _length = Math.Max(_length, _position);
    }

    public override long Seek(long offset, SeekOrigin origin)
    {
        Position = origin switch
        {
            SeekOrigin.Begin => offset,
            SeekOrigin.Current => _position + offset,
            _ => _length + offset,
        };
        return _position;
    }

    public override void SetLength(long value)
    {
        if (value > _buffer.Length)
        {
            Grow((int)value);
        }

        _length = (int)value;
        _position = Math.Min(_position, _length);
    }

    public override void Flush() { }

    protected override void Dispose(bool disposing)
    {
        var buffer = _buffer;
        _buffer = [];
        _length = _position = 0;
        if (buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        base.Dispose(disposing);
    }

    private void Grow(int needed)
    {
        var bigger = ArrayPool<byte>.Shared.Rent(Math.Max(needed, _buffer.Length * 2));
        _buffer.AsSpan(0, _length).CopyTo(bigger);
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = bigger;
    }
}
