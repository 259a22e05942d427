using System.CommandLine;
using System.Net;
using System.Net.Security;
using System.Security.Authentication;
using GuestOps.Cli.Connection;
using GuestOps.Cli.Output;
using GuestOps.Cli.Soap;
using GuestOps.Cli.Transfers;
using GuestOps.Cli.Vim;
using GuestOps.Vim;

namespace GuestOps.Cli.Commands;

/// <summary>
/// One command's run: its settings, output, and the connection it opens on demand (service content, then a cached
/// session or a login, then the VM and the guest credentials).
/// </summary>
public sealed class CommandContext : IDisposable
{
    private readonly CliEnvironment _environment;
    private EndpointSettings? _settings;
    private TlsPolicy? _tls;
    private SocketsHttpHandler? _handler;
    private VimSoapClient? _soap;
    private GuestOperations? _ticketHolder;

    private CommandContext(GlobalOptionValues options, CliEnvironment environment, CommandOutput output)
    {
        Options = options;
        _environment = environment;
        Output = output;
    }

    public GlobalOptionValues Options { get; }

    public CommandOutput Output { get; }

    public CliEnvironment Environment => _environment;

    public EndpointSettings Settings => _settings ??= EndpointSettings.Resolve(Options, _environment);

    public SessionCache Sessions => new(Settings.SessionDirectory);

    /// <summary>Runs a command body: errors become one line on stderr and an exit code; with --debug (GUESTOPS_DEBUG)
    /// the full exception follows the line.</summary>
    public static async Task<int> RunAsync(ParseResult result, GlobalOptions globals, CancellationToken cancellationToken, Func<CommandContext, CancellationToken, Task<int>> body)
    {
        var options = globals.Read(result);
        var environment = CliEnvironment.FromProcess();
        var output = new CommandOutput(options.Json, Console.Out, Console.Error);
        using var context = new CommandContext(options, environment, output);
        try
        {
            try
            {
                return await body(context, cancellationToken);
            }
            finally
            {
                await context.ReleaseTicketAsync();
            }
        }
        catch (Exception e) when (context.Failure(e, cancellationToken) is { } failure)
        {
            output.Warn(failure.Message);
            if (options.Debug || (environment.Flag("GUESTOPS_DEBUG") ?? false))
            {
                output.Error.WriteLine(e.ToString());
            }

            return failure.ExitCode;
        }
    }

    /// <summary>The one-line message and exit code of a failed command.</summary>
    private (string Message, int ExitCode)? Failure(Exception e, CancellationToken cancellationToken) => e switch
    {
        SoapFaultException fault => (fault.Describe(), 1),
        CliException cli => (cli.Message, cli.ExitCode),
        HttpRequestException { InnerException: AuthenticationException } when _tls is not null => (_tls.Explain(Settings.SdkUri), 1),
        HttpRequestException http => (http.StatusCode is null ? $"Cannot reach {_settings?.DisplayUrl}: {http.Message}" : http.Message, 1),
        TaskCanceledException when !cancellationToken.IsCancellationRequested => ($"The server did not answer within {Options.Timeout.TotalSeconds:0} s (--request-timeout).", 1),
        OperationCanceledException when cancellationToken.IsCancellationRequested => ("Cancelled.", 130),
        IOException or UnauthorizedAccessException => (e.Message, 1),
        _ => ($"{e.GetType().Name}: {e.Message} (--debug shows the full exception)", 1),
    };

    public HttpMessageHandler Handler
    {
        get
        {
            _tls ??= new TlsPolicy(Settings.Insecure, Settings.Thumbprint);
            return _handler ??= _tls.CreateHandler();
        }
    }

    /// <summary>The SOAP client and the endpoint's ServiceContent, without a session.</summary>
    public async Task<VimService> ConnectAnonymousAsync(CancellationToken cancellationToken)
    {
        _soap ??= new VimSoapClient(Settings.SdkUri, Handler, Options.Timeout);
        return await VimService.ConnectAsync(_soap, cancellationToken);
    }

    public string RequireUser() => Settings.UserName
        ?? throw new CliException("No vSphere user: give --username, set GUESTOPS_USERNAME or GOVC_USERNAME, or put user@ in the URL.", 2);

    /// <summary>A logged-in service: a login with the explicit password when one is given, else the cached session when it
    /// is still alive, else a login with a prompted password (cached for next time).</summary>
    public async Task<VimService> ConnectAsync(CancellationToken cancellationToken)
    {
        var service = await ConnectAnonymousAsync(cancellationToken);
        var user = RequireUser();
        // An explicit password (flag, variable or URL) is always used, and must be right: the cache serves only without one.
        if (Settings.Password is null && Sessions.Load(Settings.DisplayUrl, user) is { } cookie)
        {
            service.Soap.SessionCookie = cookie;
            if (await service.CurrentSessionUserAsync(cancellationToken) is not null)
            {
                return service;
            }

            service.Soap.SessionCookie = null;
        }

        var password = Settings.Password ?? SecretPrompt.Read(_environment, $"Password for {user} at {Settings.DisplayUrl}: ")
            ?? throw new CliException($"No session for {user} at {Settings.DisplayUrl}: run `guestops login`, or give the password (--password, GUESTOPS_PASSWORD, GOVC_PASSWORD or the URL).", 2);
        await LoginAsync(service, user, password, cancellationToken);
        return service;
    }

    public async Task LoginAsync(VimService service, string user, string password, CancellationToken cancellationToken)
    {
        await service.LoginAsync(user, password, cancellationToken);
        if (Settings.PersistSession && service.Soap.SessionCookie is { } cookie)
        {
            Sessions.Save(Settings.DisplayUrl, user, cookie);
        }
    }

    public string RequireVm() => Options.Vm ?? _environment.Get("GUESTOPS_VM", "GOVC_VM")
        ?? throw new CliException("No VM: give -vm NAME (a name, inventory path or UUID), or set GUESTOPS_VM or GOVC_VM.", 2);

    /// <summary>The guest credentials: -l user:password, GUESTOPS_GUEST_LOGIN or GOVC_GUEST_LOGIN; a missing password
    /// from GUESTOPS_GUEST_PASSWORD or a prompt.</summary>
    public NamePasswordAuthentication GuestCredentials()
    {
        var login = Options.GuestLogin ?? _environment.Get("GUESTOPS_GUEST_LOGIN", "GOVC_GUEST_LOGIN")
            ?? throw new CliException("No guest credentials: give -l user:password, or set GUESTOPS_GUEST_LOGIN or GOVC_GUEST_LOGIN.", 2);
        var parts = login.Split(':', 2);
        var password = parts.Length > 1 ? parts[1] : _environment.Get("GUESTOPS_GUEST_PASSWORD")
            ?? SecretPrompt.Read(_environment, $"Guest password for {parts[0]}: ")
            ?? throw new CliException($"No guest password for {parts[0]}: give -l {parts[0]}:PASSWORD or set GUESTOPS_GUEST_PASSWORD.", 2);
        return new NamePasswordAuthentication { username = parts[0], password = password };
    }

    /// <summary>Logged in, the VM found, the guest managers read (and with --sspi, a ticket acquired): ready for guest operations.</summary>
    public async Task<GuestOperations> GuestAsync(CancellationToken cancellationToken)
    {
        var vmName = RequireVm();
        if (Options.Sspi)
        {
            var identity = (Options.GuestLogin ?? _environment.Get("GUESTOPS_GUEST_LOGIN", "GOVC_GUEST_LOGIN")) is not null ? GuestCredentials() : null;
            var sspiService = await ConnectAsync(cancellationToken);
            var sspiVm = await VmLocator.FindAsync(sspiService, vmName, cancellationToken);
            var anonymous = await GuestOperations.CreateAsync(sspiService, sspiVm, new TicketedSessionAuthentication(), cancellationToken);
            using var negotiate = new NegotiateAuthentication(new NegotiateAuthenticationClientOptions
            {
                Package = Options.SspiPackage,
                Credential = identity is null ? CredentialCache.DefaultNetworkCredentials : Credential(identity),
                TargetName = Options.SspiTarget ?? "host/" + vmName.Split('/').Last(),
            });
            var ticket = await SspiLogon.LogonAsync(anonymous, negotiate, cancellationToken);
            return _ticketHolder = anonymous.WithAuth(new TicketedSessionAuthentication { ticket = ticket });
        }

        var credentials = GuestCredentials();
        var service = await ConnectAsync(cancellationToken);
        var vm = await VmLocator.FindAsync(service, vmName, cancellationToken);
        return await GuestOperations.CreateAsync(service, vm, credentials, cancellationToken);
    }

    private static NetworkCredential Credential(NamePasswordAuthentication identity)
    {
        var parts = identity.username.Split('\\', 2);
        return parts.Length == 2 ? new NetworkCredential(parts[1], identity.password, parts[0]) : new NetworkCredential(identity.username, identity.password);
    }

    /// <summary>Releases an SSPI ticket this command acquired (best effort: it also expires in the guest).</summary>
    private async Task ReleaseTicketAsync()
    {
        if (_ticketHolder is { } holder)
        {
            _ticketHolder = null;
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            try
            {
                await holder.ReleaseCredentialsAsync(timeout.Token);
            }
            catch (Exception e) when (e is SoapFaultException or HttpRequestException or OperationCanceledException)
            {
            }
        }
    }

    /// <summary>The /guestFile side channel, on the same TLS policy, without the session cookie.</summary>
    public GuestFileTransfer Transfers(bool silent = false) => new(Handler, Settings.SdkUri, TransferProgress.For(Output, Options.Quiet || silent));

    public void Dispose()
    {
        _soap?.Dispose();
        _handler?.Dispose();
    }
}
