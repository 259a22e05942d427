using System.Net.Sockets;
using GuestOps.Host;
using GuestOps.Host.Enrollment;
using Microsoft.Extensions.Options;

namespace GuestOps.Server.Hosting;

/// <summary>Powers the embedded host agent's VMs on with the server and off with it; starts the worker listener of
/// external VMs (when configured) first and stops it last.</summary>
public sealed class HostAgentService(HostAgent hostAgent, IServiceProvider services, IOptions<GuestOpsOptions> options) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (services.GetService<ExternalWorkerGateway>() is { } gateway)
        {
            try
            {
                gateway.Start();
            }
            catch (SocketException e)
            {
                throw new GuestOpsConfigurationException($"GuestOps:WorkerListenUrl (GUESTOPS_WORKER_LISTEN_URL) {options.Value.WorkerListenUrl}: cannot listen: {e.Message}", e);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException)
            {
                throw new GuestOpsConfigurationException($"The worker listener's CA in {EnrollmentStore.DirectoryOf(options.Value.StateDirectory)} cannot be loaded or created: {e.Message}", e);
            }
        }

        hostAgent.Start();
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await hostAgent.DisposeAsync();
        if (services.GetService<ExternalWorkerGateway>() is { } gateway)
        {
            await gateway.DisposeAsync();
        }
    }
}
