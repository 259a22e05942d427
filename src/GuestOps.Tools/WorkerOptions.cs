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

          --connect ENDPOINT          unix:/path/to.sock | tcp:HOST:PORT (needs --tls-*) | vsock:CID:PORT (not yet)
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

    public required ChannelEndpoint Endpoint { get; init; }

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
        error = null;
        info = null;
        ChannelEndpoint? endpoint = null;
        var pam = "guestops-tools";
        var ttl = TimeSpan.Zero;
        var disabled = new HashSet<string>(StringComparer.Ordinal);
        var hbInterval = TimeSpan.FromSeconds(1);
        var hbTimeout = TimeSpan.FromSeconds(4);
        var reconnect = TimeSpan.FromSeconds(2);
        var threads = 4;
        string? cert = null, key = null, ca = null, serverName = null;
        var level = LogLevel.Information;
        var sspi = new SspiOptions();
        var domains = new List<string>();
        try
        {
            for (var i = 0; i < args.Count; i++)
            {
                var a = args[i];
                string Next() => i + 1 < args.Count ? args[++i] : throw new FormatException($"{a} needs a value.");
                switch (a)
                {
                    case "--help" or "-h":
                        info = Usage;
                        return null;
                    case "--version":
                        info = "guestops-tools " + typeof(WorkerOptions).Assembly.GetName().Version?.ToString(3);
                        return null;
                    case "--connect":
                        endpoint = ChannelEndpoint.Parse(Next());
                        break;
                    case "--pam-service":
                        pam = Next();
                        if (pam.Length == 0 || pam.Contains('/') || pam.Contains('\0'))
                        {
                            throw new FormatException("--pam-service must be a plain service name.");
                        }

                        break;
                    case "--credential-cache-ttl":
                        ttl = TimeSpan.FromSeconds(Number(Next(), 0, 3600));
                        break;
                    case "--disable":
                        var operation = Next();
                        disabled.Add(GuestMethods.Find(operation)?.Name
                            ?? throw new FormatException($"--disable {operation}: no such guest method (names as in vSphere, e.g. ListFilesInGuest)."));
                        break;
                    case "--heartbeat-interval":
                        hbInterval = TimeSpan.FromMilliseconds(Number(Next(), 0, 600_000));
                        break;
                    case "--heartbeat-timeout":
                        hbTimeout = TimeSpan.FromMilliseconds(Number(Next(), 10, 3_600_000));
                        break;
                    case "--reconnect-max":
                        reconnect = TimeSpan.FromMilliseconds(Number(Next(), 10, 600_000));
                        break;
                    case "--user-threads":
                        threads = Number(Next(), 1, 64);
                        break;
                    case "--ntlm-user-file":
                        sspi = sspi with { NtlmUserFile = Next() };
                        break;
                    case "--krb5-keytab":
                        sspi = sspi with { Keytab = Next() };
                        break;
                    case "--sspi-domain":
                        domains.Add(Next());
                        break;
                    case "--ticket-ttl":
                        sspi = sspi with { TicketIdleTimeout = TimeSpan.FromSeconds(Number(Next(), 1, 7 * 24 * 3600)) };
                        break;
                    case "--max-tickets":
                        sspi = sspi with { MaxTickets = Number(Next(), 1, 1_000_000) };
                        break;
                    case "--tls-cert":
                        cert = Next();
                        break;
                    case "--tls-key":
                        key = Next();
                        break;
                    case "--tls-ca":
                        ca = Next();
                        break;
                    case "--tls-server-name":
                        serverName = Next();
                        break;
                    case "--log-level":
                        level = Next().ToLowerInvariant() switch
                        {
                            "trace" => LogLevel.Trace,
                            "debug" => LogLevel.Debug,
                            "information" or "info" => LogLevel.Information,
                            "warning" or "warn" => LogLevel.Warning,
                            "error" => LogLevel.Error,
                            "none" => LogLevel.None,
                            var other => throw new FormatException($"Unknown log level '{other}'."),
                        };
                        break;
                    default:
                        throw new FormatException($"Unknown argument '{a}'.");
                }
            }

            if (endpoint is null)
            {
                throw new FormatException("--connect is required.");
            }

            if (endpoint.Kind == ChannelTransportKind.Tcp && (cert is null || key is null || ca is null))
            {
                throw new FormatException("tcp: needs --tls-cert, --tls-key and --tls-ca (mutual TLS).");
            }

            if (endpoint.Kind == ChannelTransportKind.Vsock)
            {
                throw new FormatException("vsock: is not implemented yet.");
            }
        }
        catch (FormatException ex)
        {
            error = ex.Message;
            return null;
        }

        return new WorkerOptions
        {
            Endpoint = endpoint,
            PamService = pam,
            CredentialCacheTtl = ttl,
            DisabledOperations = disabled,
            HeartbeatInterval = hbInterval,
            HeartbeatTimeout = hbTimeout,
            ReconnectMax = reconnect,
            UserThreads = threads,
            Sspi = sspi with { Domains = domains },
            TlsCertificate = cert,
            TlsKey = key,
            TlsCa = ca,
            TlsServerName = serverName,
            LogLevel = level,
        };
    }

    private static int Number(string text, int min, int max)
    {
        if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n < min || n > max)
        {
            throw new FormatException($"'{text}' is not a number in {min}..{max}.");
        }

        return n;
    }
}
