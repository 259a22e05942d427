namespace GuestOps.Channel.Messages;

/// <summary>
/// The first frame each side sends. Both sides send theirs immediately and then read the peer's; the negotiated
/// version is the lower of the two current versions and must be at least each side's minimum.
/// </summary>
public sealed record ChannelHello
{
    /// <summary>Always <see cref="ChannelProtocol.Magic"/>; anything else is not a channel peer.</summary>
    public string Magic { get; init; } = ChannelProtocol.Magic;

    /// <summary>The newest protocol version the sender speaks.</summary>
    public int Version { get; init; } = ChannelProtocol.CurrentVersion;

    /// <summary>The oldest protocol version the sender accepts from its peer.</summary>
    public int MinVersion { get; init; } = ChannelProtocol.MinimumVersion;

    public ChannelRole Role { get; init; }

    /// <summary>Free-form software name and version, e.g. <c>guestops-tools/0.1.0</c>.</summary>
    public string Software { get; init; } = "";

    /// <summary>What the sender supports (see <see cref="ChannelCapabilities"/>).</summary>
    public IReadOnlyList<string> Capabilities { get; init; } = [];

    /// <summary>The largest frame payload the sender accepts.</summary>
    public int MaxFrameSize { get; init; } = ChannelProtocol.DefaultMaxFrameSize;

    /// <summary>Bytes of a data stream the sender buffers before it grants more credit.</summary>
    public int StreamWindow { get; init; } = ChannelProtocol.DefaultStreamWindow;

    /// <summary>Facts about the guest; sent by the worker only.</summary>
    public GuestOsFacts? Os { get; init; }
}

/// <summary>What the worker reports about its guest in the handshake.</summary>
public sealed record GuestOsFacts
{
    public string HostName { get; init; } = "";

    /// <summary>Non-loopback unicast addresses, IPv4 first, as text.</summary>
    public IReadOnlyList<string> IpAddresses { get; init; } = [];

    /// <summary><c>linux</c>, <c>windows</c> or <c>other</c>.</summary>
    public string OsFamily { get; init; } = "";

    /// <summary>Human-readable OS name, e.g. <c>Debian GNU/Linux 12 (bookworm)</c>.</summary>
    public string OsName { get; init; } = "";

    /// <summary>Kernel or OS build, e.g. <c>Linux 6.1.0-18-amd64 #1 SMP ...</c>.</summary>
    public string KernelVersion { get; init; } = "";

    /// <summary>CPU architecture, e.g. <c>x64</c>, <c>arm64</c>.</summary>
    public string Architecture { get; init; } = "";

    /// <summary>The user the worker runs as (<c>root</c> when it can impersonate).</summary>
    public string WorkerUser { get; init; } = "";
}
