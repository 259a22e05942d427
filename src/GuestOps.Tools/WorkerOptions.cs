using System.CommandLine;
using System.Globalization;
using GuestOps.Channel.Messages;
using GuestOps.Channel.Transport;
using GuestOps.Tools.Sspi;
using Microsoft.Extensions.Logging;

namespace GuestOps.Tools;

/// <summary>The worker's command line.</summary>
public sealed record WorkerOptions
{
    public const string Usage = """
        usage: guestops-tools --connect ENDPOINT [options]
               guestops-tools enroll --bundle FILE --out DIR   (a real VM's one-time enrollment; enroll --help)
               guestops-tools --exec [--state-dir DIR] [--pam-service NAME] [--staging NAME]
                                      (one request on stdin, its response on stdout: pushed tools run through qemu-ga)

          --connect ENDPOINT          unix:/path/to.sock | tcp:HOST:PORT (needs --tls-*) | vsock:CID:PORT (not yet);
                                      several tcp:HOST:PORT,tcp:HOST:PORT are tried in turn (host agents of a cluster)
          --pam-service NAME          PAM service used to check passwords (default guestops-tools)
          --credential-cache-ttl SEC  cache verified credentials for SEC seconds (default 0 = off)
          --disable OPERATION         answer OPERATION (e.g. ListFilesInGuest) with "disabled" (repeatable)
          --heartbeat-interval MS     ping interval (default 1000)
          --heartbeat-timeout MS      silence before the host is declared lost (default 4000)
          --reconnect-max MS          longest wait between reconnect attempts (default 2000)
          --user-threads N            impersonation threads (default 4)
          --ntlm-user-file FILE       gss-ntlmssp user database (DOMAIN:user:password lines) for SSPI logons
          --krb5-keytab FILE          Kerberos keytab for SSPI logons with Kerberos
          --sspi-domain NAME          NTLM domain / Kerberos realm whose users map to guest accounts (repeatable)
          --ticket-ttl SEC            an SSPI ticket unused this long expires (default 1800)
          --max-tickets N             live SSPI tickets at most (default 1024)
          --tls-cert FILE             PEM client certificate (tcp)
          --tls-key FILE              PEM private key of --tls-cert (tcp)
          --tls-ca FILE               PEM CA certificate the host's certificate must chain to (tcp)
          --tls-server-name NAME      name expected in the host's certificate (default: HOST)
          --log-level LEVEL           trace|debug|information|warning|error (default information)
          --version | --help
        """;

    /// <summary>The first of <see cref="Endpoints"/>.</summary>
    public ChannelEndpoint Endpoint => Endpoints[0];

    /// <summary>Where the host agents listen, in the order they are tried (one, or several tcp: ones).</summary>
    public required IReadOnlyList<ChannelEndpoint> Endpoints { get; init; }

    public string PamService { get; init; } = "guestops-tools";

    public TimeSpan CredentialCacheTtl { get; init; } = TimeSpan.Zero;

    public IReadOnlySet<string> DisabledOperations { get; init; } = new HashSet<string>(StringComparer.Ordinal);

    public TimeSpan HeartbeatInterval { get; init; } = TimeSpan.FromSeconds(1);

    public TimeSpan HeartbeatTimeout { get; init; } = TimeSpan.FromSeconds(4);

    public TimeSpan ReconnectMax { get; init; } = TimeSpan.FromSeconds(2);

    public int UserThreads { get; init; } = 4;

    /// <summary>SSPI logons (AcquireCredentialsInGuest) and the tickets they issue.</summary>
    public SspiOptions Sspi { get; init; } = new();

    public string? TlsCertificate { get; init; }

    public string? TlsKey { get; init; }

    public string? TlsCa { get; init; }

    public string? TlsServerName { get; init; }

    public LogLevel LogLevel { get; init; } = LogLevel.Information;

    /// <summary>Parses arguments. Returns null with <paramref name="error"/> set on bad input; null without error for --help/--version (text in <paramref name="info"/>).</summary>
    public static WorkerOptions? Parse(IReadOnlyList<string> args, out string? error, out string? info)
    {
        info = null;
        var help = ToolsCommandLine.Flag("--help", "-h");
        var version = ToolsCommandLine.Flag("--version");
        var connect = ToolsCommandLine.Value<IReadOnlyList<ChannelEndpoint>?>("--connect", ParseEndpoints, null);
        var pam = ToolsCommandLine.Value("--pam-service", PlainServiceName, "guestops-tools");
        var ttl = ToolsCommandLine.Value("--credential-cache-ttl", v => TimeSpan.FromSeconds(Number(v, 0, 3600)), TimeSpan.Zero);
        var disable = ToolsCommandLine.Repeatable("--disable", v => GuestMethods.Find(v)?.Name
            ?? throw new FormatException($"--disable {v}: no such guest method (names as in vSphere, e.g. ListFilesInGuest)."));
        var hbInterval = ToolsCommandLine.Value("--heartbeat-interval", v => TimeSpan.FromMilliseconds(Number(v, 0, 600_000)), TimeSpan.FromSeconds(1));
        var hbTimeout = ToolsCommandLine.Value("--heartbeat-timeout", v => TimeSpan.FromMilliseconds(Number(v, 10, 3_600_000)), TimeSpan.FromSeconds(4));
        var reconnect = ToolsCommandLine.Value("--reconnect-max", v => TimeSpan.FromMilliseconds(Number(v, 10, 600_000)), TimeSpan.FromSeconds(2));
        var threads = ToolsCommandLine.Value("--user-threads", v => Number(v, 1, 64), 4);
        var ntlmUsers = ToolsCommandLine.Value<string?>("--ntlm-user-file", v => v, null);
        var keytab = ToolsCommandLine.Value<string?>("--krb5-keytab", v => v, null);
        var domains = ToolsCommandLine.Repeatable("--sspi-domain", v => v);
        var ticketTtl = ToolsCommandLine.Value<TimeSpan?>("--ticket-ttl", v => TimeSpan.FromSeconds(Number(v, 1, 7 * 24 * 3600)), null);
        var maxTickets = ToolsCommandLine.Value<int?>("--max-tickets", v => Number(v, 1, 1_000_000), null);
        var cert = ToolsCommandLine.Value<string?>("--tls-cert", v => v, null);
        var key = ToolsCommandLine.Value<string?>("--tls-key", v => v, null);
        var ca = ToolsCommandLine.Value<string?>("--tls-ca", v => v, null);
        var serverName = ToolsCommandLine.Value<string?>("--tls-server-name", v => v, null);
        var level = ToolsCommandLine.Value("--log-level", Level, LogLevel.Information);
        var command = new Command("guestops-tools")
        {
            help, version, connect, pam, ttl, disable, hbInterval, hbTimeout, reconnect, threads, ntlmUsers, keytab, domains, ticketTtl, maxTickets,
            cert, key, ca, serverName, level,
        };

        var result = ToolsCommandLine.Parse(command, args, out error);
        if (result.GetValue(help))
        {
            info = Usage;
            error = null;
            return null;
        }

        if (result.GetValue(version))
        {
            info = "guestops-tools " + typeof(WorkerOptions).Assembly.GetName().Version?.ToString(3);
            error = null;
            return null;
        }

        var endpoints = error is null ? result.GetValue(connect) : null;
        var endpoint = endpoints?[0];
        error ??= endpoint is null ? "--connect is required."
            : endpoints!.Count > 1 && endpoints.Any(e => e.Kind != ChannelTransportKind.Tcp) ? "--connect lists several endpoints only as tcp:HOST:PORT,tcp:HOST:PORT."
            : endpoint.Kind == ChannelTransportKind.Tcp && (result.GetValue(cert) is null || result.GetValue(key) is null || result.GetValue(ca) is null) ? "tcp: needs --tls-cert, --tls-key and --tls-ca (mutual TLS)."
            : endpoint.Kind == ChannelTransportKind.Vsock ? "vsock: is not implemented yet."
            : null;
        if (error is not null)
        {
            return null;
        }

        var sspi = new SspiOptions();
        sspi = sspi with
        {
            NtlmUserFile = result.GetValue(ntlmUsers) ?? sspi.NtlmUserFile,
            Keytab = result.GetValue(keytab) ?? sspi.Keytab,
            TicketIdleTimeout = result.GetValue(ticketTtl) ?? sspi.TicketIdleTimeout,
            MaxTickets = result.GetValue(maxTickets) ?? sspi.MaxTickets,
            Domains = result.GetValue(domains)!.ToList(),
        };
        return new WorkerOptions
        {
            Endpoints = endpoints!,
            PamService = result.GetValue(pam)!,
            CredentialCacheTtl = result.GetValue(ttl),
            DisabledOperations = result.GetValue(disable)!.ToHashSet(StringComparer.Ordinal),
            HeartbeatInterval = result.GetValue(hbInterval),
            HeartbeatTimeout = result.GetValue(hbTimeout),
            ReconnectMax = result.GetValue(reconnect),
            UserThreads = result.GetValue(threads),
            Sspi = sspi,
            TlsCertificate = result.GetValue(cert),
            TlsKey = result.GetValue(key),
            TlsCa = result.GetValue(ca),
            TlsServerName = result.GetValue(serverName),
            LogLevel = result.GetValue(level),
        };
    }

    /// <summary><c>--connect</c>: one endpoint, or several separated by commas (each once, in the order given).</summary>
    private static IReadOnlyList<ChannelEndpoint> ParseEndpoints(string text)
    {
        var parts = text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        return parts.Length == 0
            ? throw new FormatException("--connect needs an endpoint.")
            : parts.Distinct(StringComparer.Ordinal).Select(ChannelEndpoint.Parse).ToArray();
    }

    private static string PlainServiceName(string name) => name.Length == 0 || name.Contains('/') || name.Contains('\0')
        ? throw new FormatException("--pam-service must be a plain service name.")
        : name;

    private static LogLevel Level(string name) => name.ToLowerInvariant() switch
    {
        "trace" => LogLevel.Trace,
        "debug" => LogLevel.Debug,
        "information" or "info" => LogLevel.Information,
        "warning" or "warn" => LogLevel.Warning,
        "error" => LogLevel.Error,
        "none" => LogLevel.None,
        var other => throw new FormatException($"Unknown log level '{other}'."),
    };

    private static int Number(string text, int min, int max)
    {
        if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n < min || n > max)
        {
            throw new FormatException($"'{text}' is not a number in {min}..{max}.");
        }

        return n;
    }
}
