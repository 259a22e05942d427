using GuestOps.Host;

namespace GuestOps.Server;

/// <summary>Powers the embedded host agent's VMs on with the server and off with it.</summary>
public sealed class HostAgentService(HostAgent hostAgent) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        hostAgent.Start();
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken) => await hostAgent.DisposeAsync();
}
