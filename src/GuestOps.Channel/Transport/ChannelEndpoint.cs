using System.Globalization;

namespace GuestOps.Channel.Transport;

/// <summary>The kinds of transport a channel can run over.</summary>
public enum ChannelTransportKind
{
    /// <summary>A unix domain stream socket (the simulated guests' virtual serial line).</summary>
    Unix,

    /// <summary>TCP with mutual TLS (a worker in a real VM reaching its host over a network).</summary>
    Tcp,

    /// <summary>AF_VSOCK (hypervisor socket). Parsed, but not implemented: see <see cref="IChannelConnector"/>.</summary>
    Vsock,
}

/// <summary>
/// A transport address in text form: <c>unix:/run/guestops/vm1.sock</c>, <c>tcp:host:port</c> (IPv6 hosts in
/// brackets: <c>tcp:[::1]:9443</c>) or <c>vsock:cid:port</c>.
/// </summary>
public sealed record ChannelEndpoint
{
    private ChannelEndpoint(ChannelTransportKind kind)
    {
        Kind = kind;
    }

    public ChannelTransportKind Kind { get; }

    /// <summary>Socket path (unix).</summary>
    public string? Path { get; private init; }

    /// <summary>Host name or address (tcp).</summary>
    public string? Host { get; private init; }

    /// <summary>Port (tcp, vsock).</summary>
    public int Port { get; private init; }

    /// <summary>Context id (vsock; 2 = the host).</summary>
    public uint Cid { get; private init; }

    public static ChannelEndpoint Unix(string path)
    {
        if (string.IsNullOrEmpty(path) || path.Contains('\0'))
        {
            throw new FormatException("A unix socket path must be non-empty and contain no NUL.");
        }

        return new ChannelEndpoint(ChannelTransportKind.Unix) { Path = path };
    }

    public static ChannelEndpoint Tcp(string host, int port)
    {
        if (string.IsNullOrWhiteSpace(host) || port is <= 0 or > 65535)
        {
            throw new FormatException("A tcp endpoint needs a host and a port in 1..65535.");
        }

        return new ChannelEndpoint(ChannelTransportKind.Tcp) { Host = host, Port = port };
    }

    public static ChannelEndpoint Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var colon = text.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0)
        {
            throw new FormatException($"'{text}' is not an endpoint; expected unix:PATH, tcp:HOST:PORT or vsock:CID:PORT.");
        }

        var scheme = text[..colon];
        var rest = text[(colon + 1)..];
        switch (scheme)
        {
            case "unix":
                return Unix(rest);
            case "tcp":
            {
                var (host, port) = SplitHostPort(rest, text);
                return Tcp(host, port);
            }

            case "vsock":
            {
                var (cid, port) = SplitHostPort(rest, text);
                if (!uint.TryParse(cid, NumberStyles.None, CultureInfo.InvariantCulture, out var c))
                {
                    throw new FormatException($"'{text}': the vsock context id must be a number.");
                }

                return new ChannelEndpoint(ChannelTransportKind.Vsock) { Cid = c, Port = port };
            }

            default:
                throw new FormatException($"Unknown transport '{scheme}' in '{text}'.");
        }
    }

    private static (string Host, int Port) SplitHostPort(string rest, string text)
    {
        var last = rest.LastIndexOf(':');
        if (last <= 0 || !int.TryParse(rest[(last + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var port))
        {
            throw new FormatException($"'{text}' lacks a numeric port.");
        }

        var host = rest[..last];
        if (host.StartsWith('[') && host.EndsWith(']'))
        {
            host = host[1..^1];
        }

        return (host, port);
    }

    public override string ToString() => Kind switch
    {
        ChannelTransportKind.Unix => "unix:" + Path,
        ChannelTransportKind.Tcp => Host!.Contains(':') ? $"tcp:[{Host}]:{Port}" : $"tcp:{Host}:{Port}",
        _ => $"vsock:{Cid}:{Port}",
    };
}
