using System.Buffers.Binary;
using GuestOps.Channel;
using GuestOps.Channel.Framing;

namespace GuestOps.Tests.Channel;

[TestClass]
public sealed class FramingTests
{
    [TestMethod]
    [Timeout(60_000, CooperativeCancellation = true)]
    public async Task Frames_RoundTrip_InOrder_WithPayloads()
    {
        var ms = new MemoryStream();
        await using (var writer = new FrameWriter(ms))
        {
            await writer.WriteAsync(FrameType.Hello, 0, "{}"u8);
            await writer.WriteAsync(FrameType.Data, 7, new byte[70_000]);
            writer.Post(FrameType.Ping, 0, new byte[8]);
            await writer.WriteAsync(FrameType.DataEnd, 7, default);
        }

        ms.Position = 0;
        await using var reader = new FrameReader(ms, 1 << 20);
        using (var f = await reader.ReadFrameAsync(CancellationToken.None))
        {
            Assert.AreEqual(FrameType.Hello, f!.Type);
            CollectionAssert.AreEqual("{}"u8.ToArray(), f.Payload.ToArray());
        }

        using (var f = await reader.ReadFrameAsync(CancellationToken.None))
        {
            Assert.AreEqual(FrameType.Data, f!.Type);
            Assert.AreEqual(7u, f.StreamId);
            Assert.AreEqual(70_000, f.Length);
        }

        using (var f = await reader.ReadFrameAsync(CancellationToken.None))
        {
            Assert.AreEqual(FrameType.Ping, f!.Type);
            Assert.AreEqual(8, f.Length);
        }

        using (var f = await reader.ReadFrameAsync(CancellationToken.None))
        {
            Assert.AreEqual(FrameType.DataEnd, f!.Type);
            Assert.AreEqual(0, f.Length);
        }

        Assert.IsNull(await reader.ReadFrameAsync(CancellationToken.None), "clean end of stream at a frame boundary");
    }

    [TestMethod]
    [Timeout(60_000, CooperativeCancellation = true)]
    public async Task Reader_Reassembles_OneByteReads()
    {
        var bytes = new MemoryStream();
        await using (var writer = new FrameWriter(bytes))
        {
            for (var i = 1; i <= 5; i++)
            {
                await writer.WriteAsync(FrameType.Request, (uint)i * 2 + 1, new byte[i * 13]);
            }
        }

        bytes.Position = 0;
        var trickle = new TrickleStream(bytes, 1);
        await using var reader = new FrameReader(trickle, 4096);
        for (var i = 1; i <= 5; i++)
        {
            using var f = await reader.ReadFrameAsync(CancellationToken.None);
            Assert.AreEqual((uint)i * 2 + 1, f!.StreamId);
            Assert.AreEqual(i * 13, f.Length);
        }

        Assert.IsNull(await reader.ReadFrameAsync(CancellationToken.None));
        Assert.IsGreaterThan(100, trickle.Reads);
    }

    [TestMethod]
    [Timeout(60_000, CooperativeCancellation = true)]
    public async Task LargeFrames_AreReadWhole_WhateverSizeTheReadsCome_AndInterleavedWithSmallOnes()
    {
        // Payloads of 32 KiB and more are read from the stream straight into the frame's buffer once the pipe's part
        // is taken: that must hold for any split of the bytes, with small frames before and after.
        var sizes = new[] { 5, 200_000, 0, 32 * 1024, 32 * 1024 - 1, 131_072, 7 };
        var bytes = new MemoryStream();
        await using (var writer = new FrameWriter(bytes))
        {
            for (var i = 0; i < sizes.Length; i++)
            {
                var payload = new byte[sizes[i]];
                for (var b = 0; b < payload.Length; b++)
                {
                    payload[b] = (byte)(b * 7 + i);
                }

                await writer.WriteAsync(FrameType.Data, (uint)i * 2 + 1, payload);
            }
        }

        foreach (var chunk in new[] { 1, 1000, 4096, 65_536, 1 << 20 })
        {
            bytes.Position = 0;
            await using var reader = new FrameReader(new TrickleStream(bytes, chunk), 1 << 20);
            for (var i = 0; i < sizes.Length; i++)
            {
                using var f = await reader.ReadFrameAsync(CancellationToken.None);
                Assert.AreEqual((uint)i * 2 + 1, f!.StreamId, $"chunk {chunk}");
                Assert.AreEqual(sizes[i], f.Length, $"chunk {chunk}");
                for (var b = 0; b < f.Length; b += 997)
                {
                    Assert.AreEqual((byte)(b * 7 + i), f.Payload[b], $"chunk {chunk}, frame {i}, byte {b}");
                }

                if (f.Length > 0)
                {
                    Assert.AreEqual((byte)((f.Length - 1) * 7 + i), f.Payload[f.Length - 1]);
                }
            }

            Assert.IsNull(await reader.ReadFrameAsync(CancellationToken.None), $"chunk {chunk}");
        }
    }

    [TestMethod]
    [Timeout(60_000, CooperativeCancellation = true)]
    public async Task Reader_Rejects_TruncatedLargeFrame()
    {
        var data = new byte[FrameHeader.Size + 50_000];
        new FrameHeader(FrameType.Data, 1, 100_000).Write(data);
        await using var reader = new FrameReader(new TrickleStream(new MemoryStream(data), 10_000), 1 << 20);
        var ex = await Assert.ThrowsExactlyAsync<ChannelProtocolException>(async () => await reader.ReadFrameAsync(CancellationToken.None));
        StringAssert.Contains(ex.Message, "ended inside a frame");
    }

    [TestMethod]
    [Timeout(60_000, CooperativeCancellation = true)]
    public async Task Reader_Rejects_OversizedFrame_FromTheHeaderAlone()
    {
        var header = new byte[FrameHeader.Size];
        new FrameHeader(FrameType.Data, 1, 5000).Write(header);

        // Only the header is there: the reader must reject without waiting for 5000 payload bytes.
        await using var reader = new FrameReader(new MemoryStream(header), 4096);
        var ex = await Assert.ThrowsExactlyAsync<ChannelProtocolException>(async () => await reader.ReadFrameAsync(CancellationToken.None));
        StringAssert.Contains(ex.Message, "limit is 4096");
    }

    [TestMethod]
    [Timeout(60_000, CooperativeCancellation = true)]
    public async Task Reader_Rejects_TruncatedFrame()
    {
        var data = new byte[FrameHeader.Size + 3];
        new FrameHeader(FrameType.Data, 1, 10).Write(data);
        await using var reader = new FrameReader(new MemoryStream(data), 4096);
        await Assert.ThrowsExactlyAsync<ChannelProtocolException>(async () => await reader.ReadFrameAsync(CancellationToken.None));
    }

    [TestMethod]
    [Timeout(60_000, CooperativeCancellation = true)]
    public async Task Writer_ConcurrentWriters_OverASlowTransport_EveryFrameWhole_EachWritersOrderKept()
    {
        // A transport that takes its time (every write completes asynchronously): the writer that drains must go on
        // asynchronously while others keep queuing, and no frame may be lost, torn or reordered within its writer.
        var sink = new MemoryStream();
        var slow = new YieldingStream(sink);
        const int Writers = 8, FramesEach = 200;
        await using (var writer = new FrameWriter(slow))
        {
            await Task.WhenAll(Enumerable.Range(0, Writers).Select(w => Task.Run(async () =>
            {
                for (var i = 0; i < FramesEach; i++)
                {
                    var payload = new byte[(i % 7) * 100];
                    BinaryPrimitives.WriteInt32BigEndian(payload.Length >= 4 ? payload : new byte[4], i);
                    if (i % 3 == 0)
                    {
                        Assert.IsTrue(writer.Post(FrameType.Data, (uint)w * 2 + 1, payload));
                    }
                    else
                    {
                        await writer.WriteAsync(FrameType.Data, (uint)w * 2 + 1, payload);
                    }
                }
            })));
        }

        sink.Position = 0;
        await using var reader = new FrameReader(sink, 1 << 20);
        var next = new int[Writers];
        for (var n = 0; n < Writers * FramesEach; n++)
        {
            using var f = await reader.ReadFrameAsync(CancellationToken.None);
            var w = (int)(f!.StreamId - 1) / 2;
            var i = next[w]++;
            Assert.AreEqual((i % 7) * 100, f.Length, $"writer {w} frame {i}");
            if (f.Length >= 4)
            {
                Assert.AreEqual(i, BinaryPrimitives.ReadInt32BigEndian(f.Payload));
            }
        }

        Assert.IsNull(await reader.ReadFrameAsync(CancellationToken.None));
        CollectionAssert.AreEqual(Enumerable.Repeat(FramesEach, Writers).ToArray(), next);
    }

    [TestMethod]
    [Timeout(60_000, CooperativeCancellation = true)]
    public async Task Writer_BorrowedPayloads_AreOnTheWireWhenTheWriteCompletes_SoTheBufferCanBeReused()
    {
        var sink = new MemoryStream();
        var buffer = new byte[100_000];
        await using (var writer = new FrameWriter(new YieldingStream(sink)))
        {
            for (var round = 0; round < 3; round++)
            {
                Array.Fill(buffer, (byte)(round + 1));
                var small = writer.WriteBorrowedAsync(FrameType.Data, 1, buffer.AsMemory(0, 100)); // copied into the batch
                await writer.WriteBorrowedAsync(FrameType.Data, 1, buffer); // written from the buffer itself
                await small;
            }
        }

        sink.Position = 0;
        await using var reader = new FrameReader(sink, 1 << 20);
        for (var round = 0; round < 3; round++)
        {
            foreach (var length in new[] { 100, 100_000 })
            {
                using var f = await reader.ReadFrameAsync(CancellationToken.None);
                Assert.AreEqual(length, f!.Length);
                Assert.IsTrue(f.Payload.IndexOfAnyExcept((byte)(round + 1)) < 0, $"round {round}: the bytes of that round, not a later one");
            }
        }
    }

    [TestMethod]
    [Timeout(60_000, CooperativeCancellation = true)]
    public async Task Writer_TransportFails_FailsTheFrame_AndEveryLaterOne_WithoutHanging()
    {
        var writer = new FrameWriter(new FailingStream());
        await Assert.ThrowsExactlyAsync<ChannelClosedException>(() => writer.WriteAsync(FrameType.Ping, 0, new byte[8]));
        await Assert.ThrowsExactlyAsync<ChannelClosedException>(() => writer.WriteAsync(FrameType.Ping, 0, new byte[8]));
        Assert.IsFalse(writer.Post(FrameType.Ping, 0, new byte[8]));
        await Assert.ThrowsExactlyAsync<IOException>(() => writer.Completion);
        await writer.DisposeAsync();
    }

    [TestMethod]
    [Timeout(60_000, CooperativeCancellation = true)]
    public async Task Writer_AfterComplete_RefusesFrames_AndCompletes()
    {
        var sink = new MemoryStream();
        var writer = new FrameWriter(sink);
        await writer.WriteAsync(FrameType.Hello, 0, "{}"u8);
        writer.Complete();
        await writer.Completion;
        await Assert.ThrowsExactlyAsync<ChannelClosedException>(() => writer.WriteAsync(FrameType.Ping, 0, new byte[8]));
        Assert.IsFalse(writer.Post(FrameType.Ping, 0, new byte[8]));
        await writer.DisposeAsync();
        Assert.AreEqual(FrameHeader.Size + 2, sink.ToArray().Length);
    }

    private sealed class YieldingStream(Stream inner) : Stream
    {
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => inner.Write(buffer, offset, count);

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            await Task.Yield();
            inner.Write(buffer.Span);
        }
    }

    private sealed class FailingStream : Stream
    {
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new IOException("broken pipe");
        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) =>
            ValueTask.FromException(new IOException("broken pipe"));
    }

    [TestMethod]
    public void Header_Layout_IsBigEndian_12Bytes()
    {
        var h = new byte[FrameHeader.Size];
        new FrameHeader(FrameType.Response, 0x01020304, 0x0A0B0C).Write(h);
        Assert.AreEqual((byte)FrameType.Response, h[0]);
        Assert.AreEqual(0x01020304u, BinaryPrimitives.ReadUInt32BigEndian(h.AsSpan(4)));
        Assert.AreEqual(0x0A0B0Cu, BinaryPrimitives.ReadUInt32BigEndian(h.AsSpan(8)));
        var back = FrameHeader.Read(h, int.MaxValue);
        Assert.AreEqual(new FrameHeader(FrameType.Response, 0x01020304, 0x0A0B0C), back);
    }
}
