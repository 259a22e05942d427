using GuestOps.Host;
using GuestOps.Host.Dispatch;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Orleans.Concurrency;

namespace GuestOps.Cluster.HostAgents;

/// <summary>
/// The grain of this process's host agent (<see cref="LocalHostAgent"/>), on its silo: answers the VMs changed since a
/// front end's version (<see cref="HostAgent.ChangesSince"/>) and runs guest calls on the local <see cref="HostAgent"/>.
/// Reentrant: guest calls from every front end run side by side, as they do in the single process.
/// </summary>
[HostAgentPlacement, Reentrant]
[GrainType(TypeName)]
public sealed class HostAgentGrain(LocalHostAgent local, IServer server) : Grain, IHostAgentGrain
{
    /// <summary>The grain type: what the cluster manifest lists for each silo that can run it.</summary>
    public const string TypeName = "hostagent";

    public override Task OnActivateAsync(CancellationToken cancellationToken) =>
        this.GetPrimaryKeyString() == local.HostName
            ? Task.CompletedTask
            : throw new HostAgentNotConnectedException(this.GetPrimaryKeyString());

    public Task<HostAgentChanges> GetChangesAsync(long epoch, long version)
    {
        var delta = local.Agent.ChangesSince(epoch, version);
        return Task.FromResult(new HostAgentChanges(delta.Epoch, delta.Version, delta.Full, delta.Changed, delta.Removed, GuestFileServers()));
    }

    /// <summary>Runs the guest call off this activation's turns (<see cref="GuestCallRelay"/>): the activation only
    /// receives the request and sends the answer, so the calls of every front end to this host's VMs are not
    /// serialized on its scheduler.</summary>
    public Task<GuestCallOutcome> InvokeGuestAsync(string vmId, string operation, byte[] request, CancellationToken cancellationToken) =>
        GuestCallRelay.InvokeAsync(local.Agent, vmId, operation, request, cancellationToken);

    /// <summary>The addresses this process listens on, a wildcard one as host <c>*</c>.</summary>
    private string[] GuestFileServers() =>
        (server.Features.Get<IServerAddressesFeature>()?.Addresses ?? [])
            .Select(address => Uri.TryCreate(address.Replace("://+", "://0.0.0.0", StringComparison.Ordinal).Replace("://*", "://0.0.0.0", StringComparison.Ordinal), UriKind.Absolute, out var uri)
                ? $"{uri.Scheme}://{(uri.Host is "0.0.0.0" or "[::]" ? "*" : uri.Host)}:{uri.Port}"
                : null)
            .OfType<string>()
            .ToArray();
}

/// <summary>This process's host agent and the host name it runs under: registered on host agents (roles hostagent and
/// all) of a cluster, absent on front ends.</summary>
public sealed record LocalHostAgent(string HostName, HostAgent Agent);

/// <summary>A host agent's guest call for another process (<see cref="IHostAgentGrain.InvokeGuestAsync"/>): the request's
/// JSON to the VM's worker and the worker's JSON back, unread, or the host agent's failure. Not grain code: its
/// continuations run on the thread pool, not on the grain activation's scheduler (it touches no grain state).</summary>
internal static class GuestCallRelay
{
    public static async Task<GuestCallOutcome> InvokeAsync(HostAgent agent, string vmId, string operation, byte[] request, CancellationToken cancellationToken)
    {
        try
        {
            return new GuestCallOutcome(await agent.InvokeGuestJsonAsync(vmId, operation, request, cancellationToken).ConfigureAwait(false), null, null);
        }
        catch (GuestAgentException e)
        {
            return new GuestCallOutcome(null, (int)e.Failure, e.Message);
        }
    }
}
