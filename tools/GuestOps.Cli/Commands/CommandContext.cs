using System.CommandLine;
using System.Net;
using System.Net.Security;
using System.Security.Authentication;
using System.ServiceModel;
using GuestOps.Cli.Connection;
using GuestOps.Cli.Output;
using GuestOps.Cli.Transfers;
using GuestOps.Cli.Vim;
using GuestOps.Client;
using GuestOps.Vim;

namespace GuestOps.Cli.Commands;

/// <summary>
/// One command's run: its settings, output, and the connection it opens on demand (service content, then a cached
/// session or a login, then the VM and the guest credentials), through the typed client (GuestOps.Client).
/// </summary>
public sealed class CommandContext : IAsyncDisposable
{
    private readonly CliEnvironment _environment;
    private EndpointSettings? _settings;
    private TlsPolicy? _tls;
    private VimConnection? _connection;
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
        await using var context = new CommandContext(options, environment, output);
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
        FaultException fault => (FaultText.Describe(fault), 1),
        VimFaultException vim => (FaultText.Describe(vim.Fault, vim.Message), 1),
        CliException cli => (cli.Message, cli.ExitCode),
        _ when _tls is not null && Causes(e).Any(c => c is AuthenticationException) => (_tls.Explain(Settings.SdkUri), 1),
        _ when e is EndpointNotFoundException || Causes(e).OfType<HttpRequestException>().Any(h => h.StatusCode is null) =>
            ($"Cannot reach {_settings?.DisplayUrl}: {Causes(e).OfType<HttpRequestException>().LastOrDefault()?.Message ?? e.Message}", 1),
        HttpRequestException http => (http.Message, 1),
        TimeoutException or TaskCanceledException when !cancellationToken.IsCancellationRequested => ($"The server did not answer within {Options.Timeout.TotalSeconds:0} s (--request-timeout).", 1),
        OperationCanceledException when cancellationToken.IsCancellationRequested => ("Cancelled.", 130),
        CommunicationException => (e.Message.ReplaceLineEndings(" "), 1),
        IOException or UnauthorizedAccessException => (e.Message, 1),
        _ => ($"{e.GetType().Name}: {e.Message} (--debug shows the full exception)", 1),
    };

    private static IEnumerable<Exception> Causes(Exception e)
    {
        for (Exception? cause = e; cause is not null; cause = cause.InnerException)
        {
            yield return cause;
        }
    }

    /// <summary>The connection and the endpoint's ServiceContent, without a session, or resuming the session of
    /// <paramref name="sessionCookie"/>; replaces the connection opened before.</summary>
    public async Task<VimConnection> ConnectAnonymousAsync(CancellationToken cancellationToken, string? sessionCookie = null)
    {
        _tls ??= new TlsPolicy(Settings.Insecure, Settings.Thumbprint);
        if (_connection is { } previous)
        {
            _connection = null;
            await previous.DisposeAsync();
        }

        _connection = await VimConnection.ConnectAsync(Settings.SdkUri, new VimConnectionOptions
        {
            ServerCertificateValidation = _tls.Validate,
            SessionCookie = sessionCookie,
            Timeout = Options.Timeout,
            TransferTimeout = Timeout.InfiniteTimeSpan,
        }, cancellationToken);
        return _connection;
    }

    public string RequireUser() => Settings.UserName
        ?? throw new CliException("No vSphere user: give --username, set GUESTOPS_USERNAME or GOVC_USERNAME, or put user@ in the URL.", 2);

    /// <summary>A logged-in connection: a login with the explicit password when one is given, else the cached session
    /// when it is still alive, else a login with a prompted password (cached for next time).</summary>
    public async Task<VimConnection> ConnectAsync(CancellationToken cancellationToken)
    {
        // An explicit password (flag, variable or URL) is always used, and must be right: the cache serves only without one.
        var cookie = Settings.Password is null && Settings.UserName is { } cachedUser ? Sessions.Load(Settings.DisplayUrl, cachedUser) : null;
        var service = await ConnectAnonymousAsync(cancellationToken, cookie);
        var user = RequireUser();
        if (cookie is not null)
        {
            if (await service.CurrentSessionAsync(cancellationToken) is not null)
            {
                return service;
            }

            service = await ConnectAnonymousAsync(cancellationToken);
        }

        var password = Settings.Password ?? SecretPrompt.Read(_environment, $"Password for {user} at {Settings.DisplayUrl}: ")
            ?? throw new CliException($"No session for {user} at {Settings.DisplayUrl}: run `guestops login`, or give the password (--password, GUESTOPS_PASSWORD, GOVC_PASSWORD or the URL).", 2);
        await LoginAsync(service, user, password, cancellationToken);
        return service;
    }

    public async Task LoginAsync(VimConnection service, string user, string password, CancellationToken cancellationToken)
    {
        await service.LoginAsync(user, password, cancellationToken);
        if (Settings.PersistSession && service.SessionCookie is { } cookie)
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
            var sspiConnection = await ConnectAsync(cancellationToken);
            var sspiVm = await VmLocator.FindAsync(sspiConnection, vmName, cancellationToken);
            var anonymous = await GuestOperations.CreateAsync(sspiConnection, sspiVm, new TicketedSessionAuthentication(), cancellationToken);
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
            catch (Exception e) when (e is CommunicationException or TimeoutException or OperationCanceledException)
            {
            }
        }
    }

    /// <summary>The /guestFile side channel of the connection a guest command opened.</summary>
    public GuestFileTransfer Transfers(bool silent = false) => new(
        _connection ?? throw new InvalidOperationException("Transfers need the connection of a guest command."),
        TransferProgress.For(Output, Options.Quiet || silent));

    public async ValueTask DisposeAsync()
    {
        if (_connection is { } connection)
        {
            _connection = null;
            await connection.DisposeAsync();
        }
    }
}
