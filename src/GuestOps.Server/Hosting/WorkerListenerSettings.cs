using System.Globalization;
using System.Net;
using GuestOps.Channel.Transport;
using GuestOps.Host.Enrollment;

namespace GuestOps.Server.Hosting;

/// <summary>
/// The worker listener of the <c>external</c> provider as configured: where it binds
/// (<c>GuestOps:WorkerListenUrl</c>), the address enrollment bundles give workers
/// (<c>GuestOps:WorkerAdvertisedAddress</c>, default derived from the listen URL) and the names its certificate carries.
/// The server and the <c>enroll</c> admin command derive it from the same settings.
/// </summary>
public sealed record WorkerListenerSettings(IPEndPoint ListenEndPoint, string AdvertisedHost, int AdvertisedPort, IReadOnlyList<string> ServerNames)
{
    /// <summary><c>tcp:HOST:PORT</c>, what <c>guestops-tools --connect</c> takes.</summary>
    public string AdvertisedAddress => ChannelEndpoint.Tcp(AdvertisedHost, AdvertisedPort).ToString();

    /// <summary>The settings, or null when <c>GuestOps:WorkerListenUrl</c> is unset.</summary>
    /// <exception cref="GuestOpsConfigurationException">A setting is malformed.</exception>
    public static WorkerListenerSettings? From(GuestOpsOptions options)
    {
        if (string.IsNullOrWhiteSpace(options.WorkerListenUrl))
        {
            return null;
        }

        const string Setting = "GuestOps:WorkerListenUrl (GUESTOPS_WORKER_LISTEN_URL)";
        var (host, port) = HostPort(options.WorkerListenUrl, Setting, defaultPort: null);
        IPAddress address;
        var any = false;
        switch (host)
        {
            case "*" or "+" or "0.0.0.0":
                address = IPAddress.Any;
                any = true;
                break;
            case "::":
                address = IPAddress.IPv6Any;
                any = true;
                break;
            case "localhost":
                address = IPAddress.Loopback;
                break;
            default:
                if (!IPAddress.TryParse(host, out address!))
                {
                    throw new GuestOpsConfigurationException($"{Setting}: '{options.WorkerListenUrl}' must listen on an IP address, *, [::] or localhost (e.g. tcp://0.0.0.0:8902).");
                }

                break;
        }

        var machine = Dns.GetHostName();
        string advertisedHost;
        int advertisedPort;
        if (!string.IsNullOrWhiteSpace(options.WorkerAdvertisedAddress))
        {
            (advertisedHost, advertisedPort) = HostPort(options.WorkerAdvertisedAddress, "GuestOps:WorkerAdvertisedAddress (GUESTOPS_WORKER_ADVERTISED_ADDRESS)", defaultPort: port);
        }
        else
        {
            advertisedHost = any ? machine : address.ToString();
            advertisedPort = port;
        }

        var names = new List<string> { advertisedHost };
        if (!any)
        {
            names.Add(address.ToString());
        }

        names.AddRange([machine, "localhost", "127.0.0.1", "::1"]);
        return new WorkerListenerSettings(new IPEndPoint(address, port), advertisedHost, advertisedPort, names.Distinct(StringComparer.OrdinalIgnoreCase).ToArray());
    }

    public ExternalWorkerGatewayOptions GatewayOptions(string stateDirectory) => new()
    {
        ListenEndPoint = ListenEndPoint,
        StateDirectory = stateDirectory,
        ServerNames = ServerNames,
    };

    /// <summary>Parses <c>tcp://HOST:PORT</c>, <c>tcp:HOST:PORT</c> or <c>HOST:PORT</c> (IPv6 in brackets); the port may be
    /// left out only when <paramref name="defaultPort"/> is given.</summary>
    private static (string Host, int Port) HostPort(string text, string setting, int? defaultPort)
    {
        var rest = text.Trim();
        foreach (var prefix in new[] { "tcp://", "tcp:" })
        {
            if (rest.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
            {
                rest = rest[prefix.Length..];
                break;
            }
        }

        rest = rest.TrimEnd('/');
        string host;
        string? portText;
        if (rest.StartsWith('['))
        {
            var close = rest.IndexOf(']', StringComparison.Ordinal);
            if (close < 0)
            {
                throw new GuestOpsConfigurationException($"{setting}: '{text}' has an unclosed [.");
            }

            host = rest[1..close];
            portText = close + 1 < rest.Length && rest[close + 1] == ':' ? rest[(close + 2)..] : null;
        }
        else
        {
            var colon = rest.LastIndexOf(':');
            host = colon < 0 ? rest : rest[..colon];
            portText = colon < 0 ? null : rest[(colon + 1)..];
        }

        int port;
        if (portText is null)
        {
            port = defaultPort ?? throw new GuestOpsConfigurationException($"{setting}: '{text}' needs a port, e.g. tcp://0.0.0.0:8902.");
        }
        else if (!int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out port) || port > 65535)
        {
            throw new GuestOpsConfigurationException($"{setting}: '{text}' has no valid port.");
        }

        if (host.Length == 0)
        {
            throw new GuestOpsConfigurationException($"{setting}: '{text}' has no host.");
        }

        return (host, port);
    }
}
