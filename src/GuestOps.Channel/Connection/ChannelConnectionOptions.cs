using GuestOps.Channel.Messages;
using Microsoft.Extensions.Logging;

namespace GuestOps.Channel.Connection;

/// <summary>Settings of one side of a <see cref="ChannelConnection"/>.</summary>
public sealed class ChannelConnectionOptions
{
    /// <summary>Which end this is; decides request-id parity and which hello fields are sent.</summary>
    public required ChannelRole Role { get; init; }

    /// <summary>Software name/version sent in the hello (diagnostics).</summary>
    public string Software { get; init; } = "guestops";

    /// <summary>
    /// Extra capabilities to advertise, typically <see cref="ChannelCapabilities.ForOperation"/> for each operation the
    /// request handler implements. <see cref="ChannelCapabilities.DataStreams"/> and
    /// <see cref="ChannelCapabilities.Heartbeat"/> are always added.
    /// </summary>
    public IReadOnlyList<string> Capabilities { get; init; } = [];

    /// <summary>Guest facts to report (worker only).</summary>
    public GuestOsFacts? Os { get; init; }

    /// <summary>The newest protocol version to offer. Override only to simulate old peers in tests.</summary>
    public int ProtocolVersion { get; init; } = ChannelProtocol.CurrentVersion;

    /// <summary>The oldest peer version to accept.</summary>
    public int MinProtocolVersion { get; init; } = ChannelProtocol.MinimumVersion;

    /// <summary>Largest frame payload accepted from the peer (advertised; frames above it close the connection).</summary>
    public int MaxFrameSize { get; init; } = ChannelProtocol.DefaultMaxFrameSize;

    /// <summary>Per-stream receive window in bytes (advertised; the peer may have this much unread data in flight).</summary>
    public int StreamWindow { get; init; } = ChannelProtocol.DefaultStreamWindow;

    /// <summary>How long the hello exchange may take.</summary>
    public TimeSpan HandshakeTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How often a ping is sent. <see cref="TimeSpan.Zero"/> or <see cref="Timeout.InfiniteTimeSpan"/> disables heartbeats.</summary>
    public TimeSpan HeartbeatInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Silence (no frame at all received) after which the peer is declared lost.</summary>
    public TimeSpan HeartbeatTimeout { get; init; } = TimeSpan.FromSeconds(4);

    /// <summary>Requests from the peer handled at once; more wait in order.</summary>
    public int MaxConcurrentIncomingRequests { get; init; } = 64;

    /// <summary>Handles requests from the peer; <c>null</c> answers them all with <see cref="GuestErrorCode.NotSupported"/>.</summary>
    public IChannelRequestHandler? RequestHandler { get; init; }

    public ILoggerFactory? LoggerFactory { get; init; }

    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    internal void Validate()
    {
        if (Role is not (ChannelRole.Host or ChannelRole.Worker))
        {
            throw new ArgumentException("Role must be Host or Worker.", nameof(Role));
        }

        if (MaxFrameSize < 1024 || MaxFrameSize > ChannelProtocol.AbsoluteMaxFrameSize)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxFrameSize), MaxFrameSize, "Must be between 1 KiB and 16 MiB.");
        }

        if (StreamWindow < 1024)
        {
            throw new ArgumentOutOfRangeException(nameof(StreamWindow), StreamWindow, "Must be at least 1 KiB.");
        }

        if (MinProtocolVersion > ProtocolVersion)
        {
            throw new ArgumentException("MinProtocolVersion is above ProtocolVersion.", nameof(MinProtocolVersion));
        }

        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(MaxConcurrentIncomingRequests);
    }
}
