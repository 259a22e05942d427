using System.Diagnostics;
using System.Runtime.InteropServices;
using GuestOps.Channel;
using GuestOps.Channel.Connection;
using GuestOps.Channel.Messages;
using GuestOps.Channel.Transport;
using GuestOps.Tools;
using GuestOps.Tools.Auth;
using GuestOps.Tools.Enrollment;
using GuestOps.Tools.Identity;
using GuestOps.Tools.Impersonation;
using GuestOps.Tools.Logging;
using GuestOps.Tools.Native;
using GuestOps.Tools.Sspi;
using Microsoft.Extensions.Logging;

// guestops-tools: composition only.
var started = Stopwatch.GetTimestamp();
if (args.Length > 0 && args[0] == "enroll")
{
    return await EnrollCommand.RunAsync(args[1..], Console.Out, Console.Error, CancellationToken.None);
}

if (args.Length > 0 && GuestOps.Tools.OneShot.OneShotCommands.Handles(args[0]))
{
    return await GuestOps.Tools.OneShot.OneShotCommands.RunAsync(args);
}

// Socket completions run on the socket engine's thread instead of being handed to the thread pool: the channel's
// read loop only parses a frame and queues the request for an impersonation thread, so it never blocks, and a call
// to a mostly idle worker wakes one thread fewer (docs/reliability.md, the scale run). A NativeAOT binary in a guest
// has no runtimeconfig, so the worker sets the runtime's switch itself, before its first socket.
Environment.SetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS", "1");
var options = WorkerOptions.Parse(args, out var error, out var info);
if (options is null)
{
    if (error is not null)
    {
        Console.Error.WriteLine("guestops-tools: " + error);
        Console.Error.WriteLine(WorkerOptions.Usage);
        return 2;
    }

    Console.WriteLine(info);
    return 0;
}

using var loggers = new StderrLoggerFactory(options.LogLevel);
using var stop = new CancellationTokenSource();
using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });
using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stop.Cancel(); });

var time = TimeProvider.System;
var workerUid = LibC.geteuid();
var users = new PosixUserDirectory();
using var pam = new PamAuthenticator(options.PamService);
var cache = options.CredentialCacheTtl > TimeSpan.Zero ? new CredentialCache(options.CredentialCacheTtl, time) : null;
var throttle = LoginThrottle.CreateDefault(time); // one per guest: password and SSPI failures count together per account
var sspi = SspiSetup.Create(options.Sspi, users, throttle, time, loggers); // first: sets the C environment GSSAPI reads
var auth = new GuestAuthenticationService(pam, users, throttle, cache, loggers.CreateLogger<GuestAuthenticationService>(), sspi.Tickets);
IImpersonator impersonator = workerUid == 0
    ? new ThreadImpersonator(options.UserThreads, loggers.CreateLogger<ThreadImpersonator>())
    : new SelfOnlyImpersonator(workerUid);
var handler = new GuestRequestHandler(auth, impersonator, options.DisabledOperations, loggers.CreateLogger<GuestRequestHandler>(), sspi);

IChannelConnector connector;
if (options.Endpoint.Kind == ChannelTransportKind.Tcp)
{
    // Re-reads the files when `guestops-tools enroll` replaces them, so a re-enrolled worker needs no restart.
    connector = new CertificateFilesConnector(options.Endpoints, options.TlsCertificate!, options.TlsKey!, options.TlsCa!, options.TlsServerName);
}
else
{
    connector = new UnixSocketChannelConnector(options.Endpoint.Path!);
}

var facts = OsFacts.Collect(users, workerUid);
var version = typeof(WorkerOptions).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";
var service = new WorkerService(
    connector,
    () => new ChannelConnectionOptions
    {
        Role = ChannelRole.Worker,
        Software = "guestops-tools/" + version,
        Capabilities = GuestRequestHandler.Operations.Select(ChannelCapabilities.ForOperation).ToList(),
        Os = facts,
        RequestHandler = handler,
        HeartbeatInterval = options.HeartbeatInterval,
        HeartbeatTimeout = options.HeartbeatTimeout,
        LoggerFactory = loggers,
        TimeProvider = time,
    },
    options.ReconnectMax,
    started,
    loggers.CreateLogger<WorkerService>());

var log = loggers.CreateLogger("guestops-tools");
log.LogInformation(
    "guestops-tools {Version} starting as uid {Uid} ({Mode}); endpoint {Endpoint}; PAM service {Service}; credential cache {Cache}",
    version, workerUid, impersonator.CanImpersonateOthers ? "impersonating" : "own user only", string.Join(",", options.Endpoints), options.PamService,
    cache is null ? "off" : $"{options.CredentialCacheTtl.TotalSeconds:F0} s");
await service.RunAsync(stop.Token);
(impersonator as IDisposable)?.Dispose();
return 0;
