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
/// <see cref="PollInterval"/> each host agent's grain is asked for the VMs changed since the version this front end
/// holds (every VM only at the first poll, or after the host agent restarted), so listing VMs never waits on another
/// process and only the changed VMs cross. The host agents are the members whose silo metadata names
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
    ILogger<ClusterHostAgent> logger,
    IClusterManifestProvider? manifests = null) : BackgroundService, IHostAgent, IGuestFileServers, IHostSystems, IInventoryChanges
{
    /// <summary>How often every host agent's inventory is asked for.</summary>
    public static TimeSpan PollInterval { get; } = TimeSpan.FromSeconds(1);

    /// <summary>How long a host agent may take to answer the poll before it counts as disconnected.</summary>
    public static TimeSpan PollTimeout { get; } = TimeSpan.FromSeconds(2);

    /// <summary>How many polls in a row a live member may leave unanswered within <see cref="PollTimeout"/> and still
    /// count as connected; the next one unanswered disconnects it.</summary>
    public const int MissedPollsAllowed = 2;

    private volatile Remote _remote = Remote.Empty;
    private static readonly GrainType HostAgentGrainType = GrainType.Create(HostAgentGrain.TypeName);
    private TaskCompletionSource _nextChange = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes when a poll next publishes a change of the other host agents' VMs, or this process's own host
    /// agent changes one of its VMs.</summary>
    public Task NextChange => local is null
        ? Volatile.Read(ref _nextChange).Task
        : Task.WhenAny(Volatile.Read(ref _nextChange).Task, local.Agent.NextChange);

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
            : remote.TryGet(id, out var vm) ? vm.Snapshot : null;
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
        !remote.TryGet(mine.Configuration.Id, out var theirs)
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
        ServesHere(vmId) ? local!.HostName : _remote.TryGet(vmId, out var vm) ? vm.Host : null;

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

    /// <summary>Asks every host agent for its changes (the members' now, and every one seen before) and publishes the
    /// result.</summary>
    internal Task PollAsync(CancellationToken cancellationToken) =>
        PollAsync(
            membership.CurrentSnapshot.Members.Values
                .Where(m => m.Status == SiloStatus.Active && ServesHostAgentGrains(m.SiloAddress))
                .Select(m => MemberMetadata.HostNameOf(metadata.GetSiloMetadata(m.SiloAddress)))
                .OfType<string>()
                .ToHashSet(StringComparer.Ordinal),
            cancellationToken);

    /// <summary>Whether this process's cluster manifest already lists <paramref name="silo"/> with the host agent grain:
    /// a member that just joined is active in the membership a moment before its manifest arrives, and until then its
    /// grain cannot be placed (the placement would fail, logged by the engine as an error), so it is not asked yet.</summary>
    private bool ServesHostAgentGrains(SiloAddress silo)
    {
        if (manifests is null)
        {
            return true;
        }

        return manifests.Current.Silos.TryGetValue(silo, out var manifest) && manifest.Grains.ContainsKey(HostAgentGrainType);
    }


    /// <summary>Asks the host agents of <paramref name="live"/> members, and every one seen before, for their
    /// changes and publishes the result.</summary>
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
            _remote = new Remote(polled, before);
            Interlocked.Exchange(ref _nextChange, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
        }
    }

    private async Task<HostState?> PollAsync(string name, HostState? known, CancellationToken cancellationToken)
    {
        try
        {
            // A host agent that was disconnected is asked for everything: its VMs here were marked not ready.
            var held = known is { Connected: true } ? known : null;
            var changes = await grains.GetGrain<IHostAgentGrain>(name).GetChangesAsync(held?.Epoch ?? 0, held?.Version ?? 0)
                .WaitAsync(PollTimeout, cancellationToken).ConfigureAwait(false);
            if (held is not null && !changes.Full && changes.Changed.Length == 0 && changes.Removed.Length == 0
                && held.GuestFileServers.SequenceEqual(changes.GuestFileServers))
            {
                return held.MissedPolls == 0 ? held : held with { MissedPolls = 0 };
            }

            if (held is null)
            {
                LogConnected(logger, name);
            }

            var (vms, index) = changes.Full || held is null ? Whole(changes.Changed, known) : Apply(held, changes);
            return new HostState(name, true, changes.Epoch, changes.Version, vms, index, changes.GuestFileServers);
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

    /// <summary>A host agent's every VM, received whole: each one equal to a <paramref name="known"/> one is that
    /// instance (and an equal configuration or agent state the known one), so a front end keeps one copy of each VM
    /// (its strings, and the views built from it) across a host agent's restart.</summary>
    private static (VmSnapshot[] Vms, FrozenDictionary<string, int> Index) Whole(VmSnapshot[] received, HostState? known)
    {
        for (var i = 0; i < received.Length; i++)
        {
            received[i] = Reuse(received[i], known is not null && known.Index.TryGetValue(received[i].Configuration.Id, out var at) ? known.Vms[at] : null);
        }

        return (received, IndexOf(received));
    }

    /// <summary><paramref name="held"/>'s VMs with <paramref name="changes"/> applied: the removed ones left out, the
    /// changed ones replaced where they are, the added ones after the others. While no VM is added or removed the
    /// positions stay, and so does the index.</summary>
    private static (VmSnapshot[] Vms, FrozenDictionary<string, int> Index) Apply(HostState held, HostAgentChanges changes)
    {
        if (changes.Removed.Length == 0 && changes.Changed.All(vm => held.Index.ContainsKey(vm.Configuration.Id)))
        {
            var vms = (VmSnapshot[])held.Vms.Clone();
            foreach (var vm in changes.Changed)
            {
                var at = held.Index[vm.Configuration.Id];
                vms[at] = Reuse(vm, vms[at]);
            }

            return (vms, held.Index);
        }

        var removed = changes.Removed.ToHashSet(StringComparer.Ordinal);
        var changed = new Dictionary<string, VmSnapshot>(changes.Changed.Length, StringComparer.Ordinal);
        foreach (var vm in changes.Changed)
        {
            changed[vm.Configuration.Id] = vm;
        }

        var result = new List<VmSnapshot>(held.Vms.Length + changes.Changed.Length);
        foreach (var vm in held.Vms)
        {
            if (changed.Remove(vm.Configuration.Id, out var now))
            {
                result.Add(Reuse(now, vm));
            }
            else if (!removed.Contains(vm.Configuration.Id))
            {
                result.Add(vm);
            }
        }

        result.AddRange(changes.Changed.Where(vm => changed.Remove(vm.Configuration.Id)).Select(vm => Reuse(vm, null)));
        var all = result.ToArray();
        return (all, IndexOf(all));
    }

    private static FrozenDictionary<string, int> IndexOf(VmSnapshot[] vms)
    {
        var index = new Dictionary<string, int>(vms.Length, StringComparer.Ordinal);
        for (var i = 0; i < vms.Length; i++)
        {
            index.TryAdd(vms[i].Configuration.Id, i);
        }

        return index.ToFrozenDictionary(StringComparer.Ordinal);
    }

    /// <summary><paramref name="received"/>, or <paramref name="was"/> (the snapshot held of the same VM) when equal;
    /// else with <paramref name="was"/>'s configuration or agent state when that is equal, so an unchanged part is kept
    /// once. A VM without a running agent shares <see cref="GuestAgentState.NotRunning"/>.</summary>
    private static VmSnapshot Reuse(VmSnapshot received, VmSnapshot? was)
    {
        var agent = received.Agent == GuestAgentState.NotRunning ? GuestAgentState.NotRunning : received.Agent;
        if (was is null)
        {
            return ReferenceEquals(agent, received.Agent) ? received : received with { Agent = agent };
        }

        if (received == was)
        {
            return was;
        }

        agent = agent == was.Agent ? was.Agent : agent;
        var configuration = received.Configuration == was.Configuration ? was.Configuration : received.Configuration;
        return ReferenceEquals(agent, received.Agent) && ReferenceEquals(configuration, received.Configuration)
            ? received
            : received with { Configuration = configuration, Agent = agent };
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
        var host = remote.TryGet(vmId, out var vm) ? remote.Hosts[vm.Host] : throw new GuestAgentException(GuestAgentFailure.Unavailable, $"No host agent of the cluster runs VM {vmId}.");
        return host.Connected ? host : throw NotConnected(host.Name, null);
    }

    private static GuestAgentException NotConnected(string hostName, Exception? inner) =>
        new(GuestAgentFailure.HostNotConnected, $"Host agent {hostName} is not connected.", inner);

    /// <summary>One host agent as the last poll found it: its VMs (with guest operations not ready when it did not
    /// answer) at the version <see cref="Version"/> of its <see cref="Epoch"/>, and where each VM is in them
    /// (<see cref="Index"/>, the same instance while the same VMs are at the same places).</summary>
    private sealed record HostState(string Name, bool Connected, long Epoch, long Version, VmSnapshot[] Vms, FrozenDictionary<string, int> Index, string[] GuestFileServers)
    {
        /// <summary>Polls in a row this connected host agent left unanswered within <see cref="PollTimeout"/>.</summary>
        public int MissedPolls { get; init; }
    }

    /// <summary>A VM as this front end lists it: the host agent that serves it, and its snapshot there.</summary>
    private readonly record struct Placed(string Host, VmSnapshot Snapshot);

    /// <summary>The other host agents' VMs, published whole by each poll that changed anything.</summary>
    private sealed class Remote
    {
        public static readonly Remote Empty = new([], null);

        /// <summary>Each VM's host agent (where <see cref="Prefers"/> places a VM that several list).</summary>
        private readonly FrozenDictionary<string, string> _hostOf;

        /// <summary>Whether a VM is listed by several host agents: their placement can change with their state.</summary>
        private readonly bool _shared;

        /// <param name="before">The last published state: its placement of the VMs is kept while every host agent lists
        /// the same VMs at the same places (a change of VMs' states only) and no VM is listed twice.</param>
        public Remote(IReadOnlyList<HostState> hosts, Remote? before)
        {
            Hosts = hosts.ToFrozenDictionary(h => h.Name, StringComparer.Ordinal);
            HostSystems = hosts.Select(h => new HostSystemInfo(h.Name, h.Connected)).ToArray();
            if (before is { _shared: false } && before.Hosts.Count == Hosts.Count
                && hosts.All(h => before.Hosts.TryGetValue(h.Name, out var was) && ReferenceEquals(was.Index, h.Index)))
            {
                _hostOf = before._hostOf;
            }
            else
            {
                var hostOf = new Dictionary<string, string>(hosts.Sum(h => h.Vms.Length), StringComparer.Ordinal);
                foreach (var host in hosts)
                {
                    foreach (var vm in host.Vms)
                    {
                        var id = vm.Configuration.Id;
                        if (!hostOf.TryGetValue(id, out var other))
                        {
                            hostOf[id] = host.Name;
                            continue;
                        }

                        _shared = true;
                        var there = Hosts[other];
                        if (!Prefers((there.Name, there.Connected, there.Vms[there.Index[id]]), (host.Name, host.Connected, vm)))
                        {
                            hostOf[id] = host.Name;
                        }
                    }
                }

                _hostOf = hostOf.ToFrozenDictionary(StringComparer.Ordinal);
            }

            Vms = _shared
                ? hosts.SelectMany(h => h.Vms.Where(vm => _hostOf[vm.Configuration.Id] == h.Name)).ToArray()
                : hosts.SelectMany(h => h.Vms).ToArray();
        }

        /// <summary>Whether another host agent lists one of <paramref name="mine"/> too.</summary>
        public bool Shared(IReadOnlyList<VmSnapshot> mine) => _hostOf.Count > 0 && mine.Any(vm => _hostOf.ContainsKey(vm.Configuration.Id));

        /// <summary>VM <paramref name="id"/> where it is placed.</summary>
        public bool TryGet(string id, out Placed vm)
        {
            if (_hostOf.TryGetValue(id, out var hostName) && Hosts[hostName] is var host && host.Index.TryGetValue(id, out var at))
            {
                vm = new Placed(hostName, host.Vms[at]);
                return true;
            }

            vm = default;
            return false;
        }

        public FrozenDictionary<string, HostState> Hosts { get; }

        public VmSnapshot[] Vms { get; }

        public HostSystemInfo[] HostSystems { get; }
    }
}
