using GuestOps.Channel.Framing;

namespace GuestOps.Channel.Connection;

/// <summary>The (lazily created) pair of data streams attached to one request id on one side.</summary>
internal sealed class CallStreams
{
    private readonly object _lock = new();
    private readonly uint _id;
    private readonly FrameWriter _frames;
    private readonly int _receiveWindow;
    private readonly int _sendCredit;
    private readonly int _chunk;
    private ChannelDataReader? _inbound;
    private ChannelDataWriter? _outbound;
    private Exception? _failure;

    public CallStreams(uint id, FrameWriter frames, int receiveWindow, int sendCredit, int chunk)
    {
        _id = id;
        _frames = frames;
        _receiveWindow = receiveWindow;
        _sendCredit = sendCredit;
        _chunk = chunk;
    }

    public ChannelDataReader? InboundIfCreated
    {
        get
        {
            lock (_lock)
            {
                return _inbound;
            }
        }
    }

    public ChannelDataWriter? OutboundIfCreated
    {
        get
        {
            lock (_lock)
            {
                return _outbound;
            }
        }
    }

    public ChannelDataReader Inbound
    {
        get
        {
            lock (_lock)
            {
                if (_inbound is null)
                {
                    _inbound = new ChannelDataReader(_id, _receiveWindow, GrantCredit);
                    if (_failure is not null)
                    {
                        _inbound.Fail(_failure);
                    }
                }

                return _inbound;
            }
        }
    }

    public ChannelDataWriter Outbound
    {
        get
        {
            lock (_lock)
            {
                if (_outbound is null)
                {
                    _outbound = new ChannelDataWriter(_id, _frames, _sendCredit, _chunk);
                    if (_failure is not null)
                    {
                        _outbound.Fail(_failure);
                    }
                }

                return _outbound;
            }
        }
    }

    /// <summary>Fails both directions (idempotent); readers keep data already received until read.</summary>
    public void Fail(Exception error)
    {
        ChannelDataReader? r;
        ChannelDataWriter? w;
        lock (_lock)
        {
            _failure ??= error;
            r = _inbound;
            w = _outbound;
        }

        r?.Fail(error);
        w?.Fail(error);
    }

    /// <summary>Only the sending direction ends (the peer finished the call and accepts no more data).</summary>
    public void FailOutbound(Exception error)
    {
        ChannelDataWriter? w;
        lock (_lock)
        {
            w = _outbound;
        }

        w?.Fail(error);
    }

    private void GrantCredit(int bytes)
    {
        Span<byte> payload = stackalloc byte[4];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(payload, (uint)bytes);
        _frames.Post(FrameType.DataCredit, _id, payload);
    }
}
