using System.Collections.Concurrent;
using System.Collections.Frozen;
using GuestOps.Channel.Messages;
using GuestOps.Host;
using GuestOps.Host.Dispatch;
using GuestOps.Host.Inventory;
using GuestOps.Host.Transfers;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Runtime.MembershipService.SiloMetadata;

namespace GuestOps.Cluster.HostAgents;

/// <summary>
/// The VMs of every host agent of the cluster, as a front end's <see cref="IHostAgent"/>. This process's own host agent
/// (roles all and hostagent) answers directly; the others' VMs come from a cache that a poll keeps fresh: every
/// <see cref="PollInterval"/> each host agent's grain is asked for its inventory, which crosses only when its version
/// changed, so listing VMs never waits on another process. The host agents are the members whose silo metadata names
/// one (the engine's membership); one that stops answering keeps its VMs listed, with guest operations not ready, and
/// its guest calls fail at once with <see cref="GuestAgentFailure.HostNotConnected"/> until it answers again. A host
/// agent stops answering when the membership no longer lists it, when its poll fails, or when it leaves more than
/// <see cref="MissedPollsAllowed"/> polls in a row without an answer within <see cref="PollTimeout"/>: a live member
/// that is slow for a moment (a loaded machine) keeps its VMs. A VM that several host agents list (an external VM
/// configured on each, as a vSphere VM is registered on hosts that share its datastore) is listed once, where
/// <see cref="Prefers"/> places it, and its calls go there.
/// </summary>
public sealed partial class ClusterHostAgent(
    IGrainFactory grains,
    IClusterMembershipService membership,
    ISiloMetadataCache metadata,
    LocalHostAgent? local,
    ILogger<ClusterHostAgent> logger) : BackgroundService, IHostAgent, IGuestFileServers, IHostSystems, IInventoryChanges
{
    /// <summary>How often every host agent's inventory is asked for.</summary>
    public static TimeSpan PollInterval { get; } = TimeSpan.FromSeconds(1);

    /// <summary>How long a host agent may take to answer the poll before it counts as disconnected.</summary>
    public static TimeSpan PollTimeout { get; } = TimeSpan.FromSeconds(2);

    /// <summary>How many polls in a row a live member may leave unanswered within <see cref="PollTimeout"/> and still
    /// count as connected; the next one unanswered disconnects it.</summary>
    public const int MissedPollsAllowed = 2;

    private volatile Remote _remote = Remote.Empty;
    private TaskCompletionSource _nextChange = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes when a poll next publishes a change of the other host agents' VMs (this process's own host
    /// agent does not signal here).</summary>
    public Task NextChange => Volatile.Read(ref _nextChange).Task;

    /// <summary>Each host agent's grain reference, made once: GetGrain reads the grain interface's attributes by
    /// reflection each time, a few percent of a front end's CPU when done per guest call.</summary>
    private readonly ConcurrentDictionary<string, IHostAgentGrain> _hostGrains = new(StringComparer.Ordinal);

    public IReadOnlyList<VmSnapshot> ListVirtualMachines()
    {
        var remote = _remote;
        if (local is null)
        {
            return remote.Vms;
        }

        var mine = local.Agent.ListVirtualMachines();
        if (!remote.Shared(mine))
        {
            return [.. mine, .. remote.Vms];
        }

        // A VM this host agent and another both list: once, from where it is placed.
        var here = mine.Where(vm => IsHere(vm, remote)).ToArray();
        var placedHere = here.Select(vm => vm.Configuration.Id).ToHashSet(StringComparer.Ordinal);
        return [.. here, .. remote.Vms.Where(vm => !placedHere.Contains(vm.Configuration.Id))];
    }

    public VmSnapshot? GetVirtualMachine(string id)
    {
        var remote = _remote;
        return local?.Agent.GetVirtualMachine(id) is { } mine && IsHere(mine, remote) ? mine
            : remote.ById.TryGetValue(id, out var vm) ? vm.Snapshot : null;
    }

    /// <summary>
    /// Which of two host agents that both list a VM serves it: the one where its worker is connected (guest operations
    /// ready), else one that answers the polls, else the first by host name. Every member decides alike from what the
    /// polls show, and a VM stays where its worker is when another host agent that lists it comes back.
    /// </summary>
    internal static bool Prefers((string Host, bool Connected, VmSnapshot Vm) a, (string Host, bool Connected, VmSnapshot Vm) b) =>
        a.Vm.Agent.OperationsReady != b.Vm.Agent.OperationsReady ? a.Vm.Agent.OperationsReady
        : a.Connected != b.Connected ? a.Connected
        : string.CompareOrdinal(a.Host, b.Host) <= 0;

    /// <summary>Whether this process's own host agent serves <paramref name="mine"/> (no other lists it, or it is preferred).</summary>
    private bool IsHere(VmSnapshot mine, Remote remote) =>
        !remote.ById.TryGetValue(mine.Configuration.Id, out var theirs)
        || Prefers((local!.HostName, true, mine), (theirs.Host, remote.Hosts[theirs.Host].Connected, theirs.Snapshot));

    /// <summary>Whether this process's own host agent serves VM <paramref name="vmId"/>.</summary>
    private bool ServesHere(string vmId) => local?.Agent.GetVirtualMachine(vmId) is { } mine && IsHere(mine, _remote);

    public async Task<ChannelResponse> InvokeGuestAsync(string vmId, ChannelRequest request, CancellationToken cancellationToken)
    {
        if (ServesHere(vmId))
        {
            return await local!.Agent.InvokeGuestAsync(vmId, request, cancellationToken);
        }

        var host = ConnectedHostOf(vmId);
        GuestCallOutcome outcome;
        try
        {
            var grain = _hostGrains.GetOrAdd(host.Name, static (name, grains) => grains.GetGrain<IHostAgentGrain>(name), grains);
            outcome = await grain.InvokeGuestAsync(vmId, request.Operation, ChannelMessageJson.SerializeRequest(request), cancellationToken);
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested)
        {
            throw NotConnected(host.Name, e);
        }

        if (outcome.Failure is { } failure)
        {
            throw new GuestAgentException((GuestAgentFailure)failure, outcome.Message ?? "");
        }

        return outcome.Response is { } response
            ? ChannelMessageJson.ReadResponse(response)
            : throw new GuestAgentException(GuestAgentFailure.Unavailable, $"Host agent {host.Name} answered with no guest response.");
    }

    /// <summary>A transfer's data streams only where the VM runs: here for this process's VMs; another host agent's
    /// transfer URLs name that host agent (<see cref="GuestFileServer"/>).</summary>
    public Task<GuestDataCall> StartGuestDataCallAsync(string vmId, ChannelRequest request, CancellationToken cancellationToken) =>
        ServesHere(vmId)
            ? local!.Agent.StartGuestDataCallAsync(vmId, request, cancellationToken)
            : throw new GuestAgentException(GuestAgentFailure.Unavailable, $"VM {vmId} runs on host agent {HostNameOf(vmId)}: its transfers are served there.");

    public string? GuestFileServer(string vmId, bool https)
    {
        if (ServesHere(vmId))
        {
            return null;
        }

        var host = ConnectedHostOf(vmId);
        var scheme = https ? "https://" : "http://";
        return host.GuestFileServers.FirstOrDefault(s => s.StartsWith(scheme, StringComparison.Ordinal))
            ?? host.GuestFileServers.FirstOrDefault()
            ?? throw new GuestAgentException(GuestAgentFailure.HostNotConnected, $"Host agent {host.Name} has published no address for file transfers yet.");
    }

    public IReadOnlyList<HostSystemInfo> HostSystems
    {
        get
        {
            var remote = _remote;
            return local is null ? remote.HostSystems : [new HostSystemInfo(local.HostName, true), .. remote.HostSystems];
        }
    }

    /// <summary>The host name of the host agent that runs VM <paramref name="vmId"/>; null when no host agent has it.</summary>
    public string? HostNameOf(string vmId) =>
        ServesHere(vmId) ? local!.HostName : _remote.ById.TryGetValue(vmId, out var vm) ? vm.Host : null;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(PollInterval);
        do
        {
            try
            {
                await PollAsync(stoppingToken);
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                LogPollFailed(logger, e);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
    }

    /// <summary>Asks every host agent for its inventory (the members' now, and every one seen before) and publishes the
    /// result.</summary>
    internal Task PollAsync(CancellationToken cancellationToken) =>
        PollAsync(
            membership.CurrentSnapshot.Members.Values
                .Where(m => m.Status == SiloStatus.Active)
                .Select(m => MemberMetadata.HostNameOf(metadata.GetSiloMetadata(m.SiloAddress)))
                .OfType<string>()
                .ToHashSet(StringComparer.Ordinal),
            cancellationToken);

    /// <summary>Asks the host agents of <paramref name="live"/> members, and every one seen before, for their
    /// inventory and publishes the result.</summary>
    internal async Task PollAsync(IReadOnlySet<string> live, CancellationToken cancellationToken)
    {
        var before = _remote;
        var names = live.Concat(before.Hosts.Keys)
            .Where(name => name != local?.HostName)
            .Distinct(StringComparer.Ordinal)
            .Order(StringComparer.Ordinal)
            .ToArray();
        // A host agent no longer a member is not asked (its grain could not be placed): it is disconnected.
        var hosts = await Task.WhenAll(names.Select(name => live.Contains(name)
            ? PollAsync(name, before.Hosts.GetValueOrDefault(name), cancellationToken)
            : Task.FromResult<HostState?>(Disconnected(before.Hosts[name], "not a live member of the cluster"))));
        var polled = hosts.OfType<HostState>().ToArray();
        if (polled.Length != before.Hosts.Count || polled.Any(h => !before.Hosts.TryGetValue(h.Name, out var was) || !ReferenceEquals(was, h)))
        {
            _remote = new Remote(polled);
            Interlocked.Exchange(ref _nextChange, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
        }
    }

    private async Task<HostState?> PollAsync(string name, HostState? known, CancellationToken cancellationToken)
    {
        try
        {
            var inventory = await grains.GetGrain<IHostAgentGrain>(name).GetInventoryAsync(known is { Connected: true } ? known.Version : 0)
                .WaitAsync(PollTimeout, cancellationToken).ConfigureAwait(false);
            if (known is not null && known.Connected && inventory.Vms is null && known.GuestFileServers.SequenceEqual(inventory.GuestFileServers))
            {
                return known.MissedPolls == 0 ? known : known with { MissedPolls = 0 };
            }

            if (known is not { Connected: true })
            {
                LogConnected(logger, name);
            }

            var vms = inventory.Vms is { } json ? Reuse(HostAgentJson.Deserialize(json), known?.Vms) : known?.Vms ?? [];
            return new HostState(name, true, inventory.Version, vms, inventory.GuestFileServers);
        }
        catch (TimeoutException) when (known is { Connected: true } && known.MissedPolls < MissedPollsAllowed && !cancellationToken.IsCancellationRequested)
        {
            return known with { MissedPolls = known.MissedPolls + 1 };
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested)
        {
            if (known is null)
            {
                return null; // never answered: nothing to list
            }

            return Disconnected(known, e.Message);
        }
    }

    /// <summary><paramref name="received"/> with every snapshot equal to a <paramref name="known"/> one replaced by that
    /// instance (and an equal configuration or agent state by the known one): a host agent re-sends all its VMs when one
    /// changes, and this keeps one copy of each unchanged VM (its strings, and the front end's views built from it)
    /// instead of a new one per change.</summary>
    private static VmSnapshot[] Reuse(VmSnapshot[] received, VmSnapshot[]? known)
    {
        var byId = known is null ? null : new Dictionary<string, VmSnapshot>(known.Length, StringComparer.Ordinal);
        foreach (var vm in known ?? [])
        {
            byId!.TryAdd(vm.Configuration.Id, vm);
        }

        for (var i = 0; i < received.Length; i++)
        {
            var vm = received[i];
            var agent = vm.Agent == GuestAgentState.NotRunning ? GuestAgentState.NotRunning : vm.Agent;
            if (byId is not null && byId.TryGetValue(vm.Configuration.Id, out var was))
            {
                if (vm == was)
                {
                    received[i] = was;
                    continue;
                }

                agent = agent == was.Agent ? was.Agent : agent;
                if (vm.Configuration == was.Configuration)
                {
                    received[i] = vm with { Configuration = was.Configuration, Agent = agent };
                    continue;
                }
            }

            // A VM new here: the guest type's strings, the same for most VMs, are kept once (interned).
            var configuration = vm.Configuration with { GuestId = string.Intern(vm.Configuration.GuestId), GuestFullName = string.Intern(vm.Configuration.GuestFullName) };
            received[i] = vm with { Configuration = configuration, Agent = agent };
        }

        return received;
    }

    /// <summary><paramref name="known"/> not connected: its VMs listed with guest operations not ready.</summary>
    private HostState Disconnected(HostState known, string reason)
    {
        if (!known.Connected)
        {
            return known;
        }

        LogDisconnected(logger, known.Name, reason);
        var unreachable = known.Vms.Select(vm => vm with { Agent = vm.Agent with { Running = false, OperationsReady = false } }).ToArray();
        return known with { Connected = false, Vms = unreachable, MissedPolls = 0 };
    }

    private HostState ConnectedHostOf(string vmId)
    {
        var remote = _remote;
        var host = remote.ById.TryGetValue(vmId, out var vm) ? remote.Hosts[vm.Host] : throw new GuestAgentException(GuestAgentFailure.Unavailable, $"No host agent of the cluster runs VM {vmId}.");
        return host.Connected ? host : throw NotConnected(host.Name, null);
    }

    private static GuestAgentException NotConnected(string hostName, Exception? inner) =>
        new(GuestAgentFailure.HostNotConnected, $"Host agent {hostName} is not connected.", inner);

    /// <summary>One host agent as the last poll found it; <see cref="Vms"/> with guest operations not ready when it did not
    /// answer.</summary>
    private sealed record HostState(string Name, bool Connected, long Version, VmSnapshot[] Vms, string[] GuestFileServers)
    {
        /// <summary>Polls in a row this connected host agent left unanswered within <see cref="PollTimeout"/>.</summary>
        public int MissedPolls { get; init; }
    }

    /// <summary>The other host agents' VMs, published whole by each poll that changed anything.</summary>
    private sealed class Remote
    {
        public static readonly Remote Empty = new([]);

        public Remote(IReadOnlyList<HostState> hosts)
        {
            Hosts = hosts.ToFrozenDictionary(h => h.Name, StringComparer.Ordinal);
            HostSystems = hosts.Select(h => new HostSystemInfo(h.Name, h.Connected)).ToArray();
            // A VM that several host agents list is placed on one of them (Prefers) and listed once, from there.
            ById = hosts.SelectMany(h => h.Vms.Select(vm => (h.Name, h.Connected, vm)))
                .GroupBy(e => e.vm.Configuration.Id, StringComparer.Ordinal)
                .ToFrozenDictionary(g => g.Key, g => g.Aggregate((a, b) => Prefers(a, b) ? a : b) is var (host, _, vm) ? (host, vm) : default, StringComparer.Ordinal);
            Vms = hosts.SelectMany(h => h.Vms).Where(vm => ReferenceEquals(ById[vm.Configuration.Id].Snapshot, vm)).ToArray();
        }

        /// <summary>Whether another host agent lists one of <paramref name="mine"/> too.</summary>
        public bool Shared(IReadOnlyList<VmSnapshot> mine) => ById.Count > 0 && mine.Any(vm => ById.ContainsKey(vm.Configuration.Id));

        public FrozenDictionary<string, HostState> Hosts { get; }

        public VmSnapshot[] Vms { get; }

        public HostSystemInfo[] HostSystems { get; }

        public FrozenDictionary<string, (string Host, VmSnapshot Snapshot)> ById { get; }
    }
}
