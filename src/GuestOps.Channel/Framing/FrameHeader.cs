using System.Buffers.Binary;

namespace GuestOps.Channel.Framing;

/// <summary>
/// The fixed 12-byte frame header: <c>type:u8 flags:u8 reserved:u16 streamId:u32be length:u32be</c>, followed by
/// <c>length</c> payload bytes. Flags and reserved bits are written as zero and ignored on receipt.
/// </summary>
public readonly record struct FrameHeader(FrameType Type, uint StreamId, int PayloadLength, byte Flags = 0)
{
    /// <summary>Size of the encoded header in bytes.</summary>
    public const int Size = 12;

    /// <summary>Writes the header into <paramref name="destination"/> (at least <see cref="Size"/> bytes).</summary>
    public void Write(Span<byte> destination)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(PayloadLength);
        destination[0] = (byte)Type;
        destination[1] = Flags;
        destination[2] = 0;
        destination[3] = 0;
        BinaryPrimitives.WriteUInt32BigEndian(destination[4..], StreamId);
        BinaryPrimitives.WriteUInt32BigEndian(destination[8..], (uint)PayloadLength);
    }

    /// <summary>Reads a header; rejects payload lengths above <paramref name="maxPayload"/>.</summary>
    /// <exception cref="ChannelProtocolException">The declared payload length exceeds the limit.</exception>
    public static FrameHeader Read(ReadOnlySpan<byte> source, int maxPayload)
    {
        var type = (FrameType)source[0];
        var flags = source[1];
        var id = BinaryPrimitives.ReadUInt32BigEndian(source[4..]);
        var length = BinaryPrimitives.ReadUInt32BigEndian(source[8..]);
        if (length > (uint)maxPayload)
        {
            throw new ChannelProtocolException(
                $"Frame of type {type} declares a {length}-byte payload; the limit is {maxPayload} bytes.");
        }

        return new FrameHeader(type, id, (int)length, flags);
    }
}
