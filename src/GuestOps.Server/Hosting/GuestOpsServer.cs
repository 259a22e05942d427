using System.Net;
using System.Net.Sockets;
using GuestOps.Cluster;
using GuestOps.Cluster.Accounts;
using GuestOps.Cluster.Enrollment;
using GuestOps.Host;
using GuestOps.Host.Authorization;
using GuestOps.Host.Enrollment;
using GuestOps.Host.Events;
using GuestOps.Host.Inventory;
using GuestOps.Host.SharedState;
using GuestOps.Host.Transfers;
using GuestOps.Server.Authorization;
using GuestOps.Server.Events;
using GuestOps.Server.Guest;
using GuestOps.Server.Http;
using GuestOps.Host.Sessions;
using GuestOps.Server.WebClient;
using GuestOps.Soap;
using GuestOps.Vim.Contracts;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Options;
using GuestOps.Server.ManagedObjects;

namespace GuestOps.Server.Hosting;

/// <summary>Composition of the server: services, Kestrel endpoints and routes, over the settings
/// <see cref="GuestOpsSettings"/> reads and checks. Program.cs and the
/// benchmarks compose the same server through these three calls.</summary>
public static partial class GuestOpsServer
{
    public static WebApplicationBuilder AddGuestOps(this WebApplicationBuilder builder, string[] args)
    {
        builder.Configuration.AddInMemoryCollection(GuestOpsSettings.EnvironmentSettings());
        builder.Configuration.AddCommandLine(args, GuestOpsOptions.CommandLineSwitches);
        // A failure to start is one line on stderr (RunGuestOpsAsync); its full exception is logged at Debug level by
        // GuestOps.Server.Startup, not at Error level by the host.
        builder.Logging.AddFilter("Microsoft.Extensions.Hosting.Internal.Host", LogLevel.Critical);

        // Bound and checked once, before anything starts: IOptions<GuestOpsOptions> is this instance.
        var (options, endpoints, workerListener, cluster) = GuestOpsSettings.Read(builder.Configuration);
        var transfersThroughFrontEnd = GuestOpsSettings.TransfersThroughFrontEnd(options, cluster);
        builder.Services.AddSingleton(Options.Create(options));
        StateDirectory.Prepare(options.StateDirectory);
        var stateLock = StateDirectoryLock.Acquire(options.StateDirectory); // before anything in the directory is read or written
        builder.Services.AddSingleton(_ => stateLock); // owned (and disposed) by the container; resolved by MapGuestOps

        // External VMs' accounts live in the real VMs: the demo password matters only for simulated ones, and a front
        // end runs none.
        var simulatesVms = cluster.Role != ProcessRole.FrontEnd && !(options.VirtualMachines.Count > 0 && options.VirtualMachines.All(GuestOpsSettings.IsRealVm));
        var vms = GuestOpsSettings.VirtualMachines(options, cluster.Clustered ? cluster.HostName : null, simulatesVms ? DemoGuestPassword.LoadOrCreate(options.DemoGuestPassword, options.StateDirectory, Console.Out) : "").ToList();
        if (workerListener is not null)
        {
            builder.Services.AddSingleton(sp => new ExternalWorkerGateway(
                workerListener.GatewayOptions(options.StateDirectory) with { Shared = sp.GetService<IStateDocument<EnrollmentDocument>>() },
                sp.GetRequiredService<TimeProvider>(),
                sp.GetRequiredService<ILoggerFactory>()));
        }

        builder.Services.AddSingleton(TimeProvider.System);
        var users = new UserStore(options.StateDirectory);
        var authorization = RootAccount.OpenStore(options.StateDirectory, users);
        builder.Services.AddSingleton(users);
        builder.Services.AddSingleton(authorization);
        builder.Services.AddSingleton<IPermissionService>(sp => new PermissionService(sp.GetRequiredService<AuthorizationStore>(), sp.GetRequiredService<UserStore>(), options.GuestOperationsRequireGuestControl));
        builder.Services.AddSingleton<IEventHistory>(new EventHistory(options.MaxEvents));
        builder.Services.AddSingleton(cluster.Clustered
            ? new ServerIdentity(GuestOpsSettings.StableUuid("cluster:" + ClusterHosting.ClusterId), virtualCenter: true)
            : new ServerIdentity(GuestOpsSettings.StableUuid("server:" + options.StateDirectory)));
        builder.Services.AddSingleton(sp => new HostAgent(
            vms,
            GuestOpsSettings.HostAgentOptions(options, vms.Any(vm => vm.Tools == VmTools.Worker && !vm.External && vm.AgentSocket is null)) with { ExternalWorkers = sp.GetService<ExternalWorkerGateway>() },
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILoggerFactory>()));
        builder.Services.AddSingleton<IHostAgent>(sp => sp.GetRequiredService<HostAgent>());
        builder.Services.AddSingleton<IInventoryService>(sp => new HostInventory(sp.GetRequiredService<IHostAgent>()));
        if (cluster.Role != ProcessRole.FrontEnd)
        {
            builder.Services.AddHostedService<HostAgentService>();
        }
        builder.Services.AddSingleton<ITransferTokens>(sp => new TransferTokens(sp.GetRequiredService<TimeProvider>(), options.FileTransferLifetime));
        builder.Services.AddSingleton<VimCallContext>();
        builder.Services.AddSingleton(sp => new Inventory(
            sp.GetRequiredService<IHostAgent>(),
            sp.GetRequiredService<VimCallContext>(),
            sp.GetRequiredService<UserStore>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ServerIdentity>(),
            options.SessionIdleTimeout,
            sp.GetRequiredService<ITransferTokens>(),
            sp.GetRequiredService<IPermissionService>(),
            sp.GetRequiredService<IEventHistory>(),
            sp.GetRequiredService<ISessionService>(),
            sp.GetRequiredService<IInventoryService>(),
            sp.GetService<IHostSystems>(),
            transfersThroughFrontEnd));
        builder.Services.AddSingleton(sp => new GuestOperationAudit(
            sp.GetRequiredService<IEventHistory>(),
            sp.GetRequiredService<Inventory>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<GuestOperationAudit>>()));
        builder.Services.AddSingleton(sp => new LoginLockout(
            sp.GetRequiredService<TimeProvider>(), options.LoginFailureLimit, options.LoginLockoutTime, sp.GetRequiredService<ILogger<LoginLockout>>()));
        builder.Services.AddSingleton<ISessionService>(sp => new SessionService(
            sp.GetRequiredService<UserStore>(),
            sp.GetRequiredService<LoginLockout>(),
            sp.GetRequiredService<IPermissionService>(),
            sp.GetRequiredService<TimeProvider>(),
            options.SessionIdleTimeout,
            sp.GetService<ISessionTable>()));
        if (cluster.Clustered)
        {
            // Sessions, transfer tokens and events in the cluster's grains, in place of this process's memory.
            builder.AddGuestOpsCluster(cluster, options.StateDirectory, options.FileTransferLifetime, options.MaxEvents);
            // The VMs of every host agent of the cluster, this one's (unless a front end) answered directly.
            builder.AddGuestOpsRoles(cluster);
            // Users, groups, roles and permissions in the engine, seeded from this state directory's when it has none;
            // root is created there, not here, once this member has read them.
            builder.AddGuestOpsAccounts(users, authorization);
            if (workerListener is not null && cluster.Role != ProcessRole.FrontEnd)
            {
                // External VMs' CA and enrollment records in the engine, seeded from this state directory's when it
                // has none, so their workers are admitted at every host agent configured with their VM.
                builder.AddGuestOpsEnrollment(EnrollmentStore.DirectoryOf(options.StateDirectory));
            }

            builder.Services.AddHostedService(sp => new ClusterRootAccount(sp.GetRequiredService<UserStore>(), sp.GetRequiredService<IPermissionService>(), options.RootPassword));
        }

        builder.Services.AddSingleton(_ => new VimOperationCatalog(VimContracts.All));
        builder.Services.AddSingleton(sp => new SoapDispatcher(
            sp.GetRequiredService<VimOperationCatalog>(),
            Inventory.ManagedObjectTypes,
            sp.GetRequiredService<VimCallContext>(),
            sp.GetRequiredService<Inventory>(),
            new VimCallAuthorizer(sp.GetRequiredService<Inventory>().SessionManager, sp.GetRequiredService<Inventory>(), sp.GetRequiredService<Inventory>().Access),
            sp.GetRequiredService<ILogger<SoapDispatcher>>(),
            options.MaxSoapRequestBytes,
            sp.GetRequiredService<GuestOperationAudit>()));
        builder.Services.AddSingleton(new SdkRequestLimits(options.MaxSoapRequestBytes, options.MaxDiscardedSoapRequestBytes, options.DiscardedSoapRequestTimeout));
        builder.Services.AddSingleton<SdkEndpoint>();
        builder.Services.AddSingleton<GuestFileRelay>();
        builder.Services.AddSingleton<GuestFileEndpoint>();
        builder.Services.AddSingleton<VersionDocuments>();
        builder.Services.AddHostedService<SessionReaper>();
        builder.AddGuestOpsWebClient(options.StateDirectory);

        builder.WebHost.ConfigureKestrel((context, kestrel) =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = options.MaxSoapRequestBytes + 1;
            var logger = kestrel.ApplicationServices.GetRequiredService<ILoggerFactory>().CreateLogger("GuestOps.Server.Certificate");
            X509CertificateHolder holder = new(() => ServerCertificate.LoadOrCreate(options, logger));
            foreach (var (host, port, https) in endpoints)
            {
                void Configure(Microsoft.AspNetCore.Server.Kestrel.Core.ListenOptions listen)
                {
                    if (https)
                    {
                        listen.UseHttps(holder.Certificate);
                    }
                }

                if (host == System.Net.IPAddress.None)
                {
                    kestrel.ListenLocalhost(port, Configure);
                }
                else if (host is null)
                {
                    kestrel.ListenAnyIP(port, Configure);
                }
                else
                {
                    kestrel.Listen(host, port, Configure);
                }
            }
        });
        return builder;
    }

    public static WebApplication MapGuestOps(this WebApplication app)
    {
        app.Services.GetRequiredService<StateDirectoryLock>();
        var sdk = app.Services.GetRequiredService<SdkEndpoint>();
        var documents = app.Services.GetRequiredService<VersionDocuments>();
        var guestFile = app.Services.GetRequiredService<GuestFileEndpoint>();
        app.MapPost("/sdk", sdk.HandleAsync);
        app.MapPost("/sdk/vimService", sdk.HandleAsync);
        app.MapGet("/sdk/vimServiceVersions.xml", documents.Versions);
        app.MapGet("/sdk/{name}", documents.File);
        app.MapMethods("/sdk", ["GET", "PUT", "DELETE", "PATCH"], context =>
        {
            context.Response.StatusCode = StatusCodes.Status405MethodNotAllowed;
            context.Response.Headers.Allow = "POST";
            return Task.CompletedTask;
        });
        app.Map("/guestFile", guestFile.HandleAsync);
        app.MapGuestOpsWebClient();
        if (app.Services.GetService<ClusterAccounts>() is null)
        {
            EnsureRootUser(app);
        }

        return app;
    }

    /// <summary>Starts the server, prints where it listens, and waits for shutdown. A failure to start (a port in use or
    /// not allowed, a certificate that cannot be loaded, ...) ends the process with one line naming the setting; the
    /// full exception is logged at Debug level only (e.g. --Logging:LogLevel:Default=Debug).</summary>
    public static async Task<int> RunGuestOpsAsync(this WebApplication app)
    {
        var options = app.Services.GetRequiredService<IOptions<GuestOpsOptions>>().Value;
        try
        {
            await app.StartAsync();
        }
        catch (Exception e)
        {
            LogStartFailed(app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("GuestOps.Server.Startup"), e);
            if (Unwrap(e) is var setting and (GuestOpsConfigurationException or ClusterSettingsException))
            {
                Console.Error.WriteLine($"GuestOps cannot start: {setting.Message}");
            }
            else if (e is IOException or SocketException || e.InnerException is SocketException)
            {
                Console.Error.WriteLine($"GuestOps cannot listen on {options.Urls}: {e.Message}");
                Console.Error.WriteLine("Set the listen URLs with GUESTOPS_URLS, --urls or GuestOps:Urls in appsettings.json (e.g. https://127.0.0.1:8443); ports below 1024 need root.");
            }
            else
            {
                Console.Error.WriteLine($"GuestOps cannot start: {e.GetType().Name}: {e.Message}");
            }

            // The console logger writes from a queue of its own; disposing the providers (not the application, whose
            // hosted services would log their cancellation) writes what is queued before the process ends.
            foreach (var provider in app.Services.GetServices<ILoggerProvider>())
            {
                provider.Dispose();
            }

            return 2;
        }

        foreach (var address in app.Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? [])
        {
            Console.WriteLine($"GuestOps vSphere API endpoint: {address}/sdk");
        }

        if (app.Services.GetService<ExternalWorkerGateway>() is { LocalEndPoint: { } workerEndpoint } gateway)
        {
            Console.WriteLine($"Worker listener for external VMs: tcp:{workerEndpoint} (CA SHA-256 {gateway.CertificateAuthority.Thumbprint})");
        }

        Console.WriteLine($"State directory: {options.StateDirectory}");
        await app.WaitForShutdownAsync();
        return 0;
    }

    [LoggerMessage(EventId = 4020, Level = LogLevel.Debug, Message = "The server did not start")]
    private static partial void LogStartFailed(ILogger logger, Exception exception);

    private static Exception Unwrap(Exception e)
    {
        while (e is not (GuestOpsConfigurationException or ClusterSettingsException) && e.InnerException is { } inner)
        {
            e = inner;
        }

        return e;
    }

    private static void EnsureRootUser(WebApplication app) =>
        RootAccount.EnsureCreatedAsync(
            app.Services.GetRequiredService<UserStore>(),
            app.Services.GetRequiredService<IPermissionService>(),
            app.Services.GetRequiredService<IOptions<GuestOpsOptions>>().Value.RootPassword,
            Console.Out).GetAwaiter().GetResult(); // printed once, on the console only: never through logging; the state directory's files answer at once

    /// <summary>Loads the certificate once, when the first HTTPS endpoint needs it.</summary>
    private sealed class X509CertificateHolder(Func<System.Security.Cryptography.X509Certificates.X509Certificate2> load)
    {
        private readonly Lazy<System.Security.Cryptography.X509Certificates.X509Certificate2> _certificate = new(load);

        public System.Security.Cryptography.X509Certificates.X509Certificate2 Certificate => _certificate.Value;
    }
}
