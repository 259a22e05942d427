using System.Collections.Concurrent;
using GuestOps.Host;
using GuestOps.Host.Transfers;
using GuestOps.Host.Authorization;
using GuestOps.Host.Inventory;
using GuestOps.Host.Events;
using GuestOps.Host.Sessions;
using GuestOps.Soap;
using GuestOps.Vim;

namespace GuestOps.Server.ManagedObjects;

/// <summary>
/// Every managed object of this server: the singletons of ServiceContent, the inventory tree (the host agent's
/// <see cref="IInventoryService"/>: root folder -> datacenter -> vm folder -> VMs) and, through sessions,
/// per-session views. Resolves references for the dispatcher.
/// </summary>
public sealed class Inventory : IManagedObjectResolver
{
    /// <summary>Managed object ids. The singletons use the ids the captured clients address (vCenter-style names,
    /// which ESXi-era clients accept as well); any stable id works.</summary>
    public sealed record InventoryIds
    {
        public string ServiceInstance { get; init; } = "ServiceInstance";
        public string PropertyCollector { get; init; } = "propertyCollector";
        public string ViewManager { get; init; } = "ViewManager";
        public string SessionManager { get; init; } = "SessionManager";
        public string SearchIndex { get; init; } = "SearchIndex";
        public string GuestOperationsManager { get; init; } = "guestOperationsManager";
        public string GuestAuthManager { get; init; } = "guestOperationsAuthManager";
        public string GuestFileManager { get; init; } = "guestOperationsFileManager";
        public string GuestProcessManager { get; init; } = "guestOperationsProcessManager";
        public string AuthorizationManager { get; init; } = "AuthorizationManager";
        public string AccountManager { get; init; } = "HostLocalAccountManager";
        public string EventManager { get; init; } = "EventManager";
    }

    private readonly Dictionary<ManagedObjectReference, ManagedObject> _singletons = [];
    private readonly ConcurrentDictionary<string, VirtualMachine> _vms = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, ComputeResource> _computeResources = new(StringComparer.Ordinal);
    private readonly IInventoryService _inventory;
    private readonly IHostSystems? _hosts;
    private readonly PropertyReader _reader;
    private readonly IInventoryChanges? _changes;

    /// <param name="calls">The call being dispatched, which managed objects read (the dispatcher enters it).</param>
    /// <param name="transfers">File transfers (InitiateFileTransfer*); default: none.</param>
    /// <param name="permissions">Roles and permissions; default: in memory, with Admin on the root folder for <c>root</c>
    /// and every user that exists now.</param>
    /// <param name="events">The event history (the guest-operation audit trail); default: a new one.</param>
    /// <param name="sessions">The sessions; default: in memory, with <paramref name="sessionIdleTimeout"/> and no lockout.</param>
    /// <param name="inventory">The inventory tree; default: the host agent's (<see cref="HostInventory"/>).</param>
    /// <param name="hosts">A cluster's host agents: a HostSystem each, in its compute resource under the host folder, and
    /// every VM's <c>runtime.host</c>; default: none (the single process).</param>
    /// <param name="transfersThroughFrontEnd">Transfer URLs name this process even for another host agent's VMs (it
    /// streams them through); default: the host agent that runs the VM.</param>
    public Inventory(IHostAgent hostAgent, IVimCallContext calls, UserStore users, TimeProvider time, ServerIdentity identity, TimeSpan sessionIdleTimeout, ITransferTokens? transfers = null, IPermissionService? permissions = null, IEventHistory? events = null, ISessionService? sessions = null, IInventoryService? inventory = null, IHostSystems? hosts = null, bool transfersThroughFrontEnd = false)
    {
        _inventory = inventory ?? new HostInventory(hostAgent);
        _hosts = hosts;
        _changes = _inventory as IInventoryChanges ?? hostAgent as IInventoryChanges;
        var layout = Synchronous.Wait(_inventory.GetLayoutAsync());
        permissions ??= new PermissionService(new AuthorizationStore(null, users), users);
        Access = new EntityPermissions(permissions);
        Events = events ?? new EventHistory();
        _reader = new PropertyReader(calls, Access);
        var ids = new InventoryIds();
        var guest = new Guest.GuestCalls(hostAgent, transfersThroughFrontEnd);

        RootFolder = new Folder(layout.RootFolder, null, () => [Datacenter!], _reader);
        Datacenter = new Datacenter(layout.Datacenter, RootFolder, () => VirtualMachines, _reader, hosts is null ? null : hostFolder => ComputeResources(hostFolder));
        SessionManager = new SessionManager(ids.SessionManager, _reader, sessions ?? new SessionService(users, new LoginLockout(time, 0, TimeSpan.Zero), permissions, time, sessionIdleTimeout));
        PropertyCollector = new PropertyCollector(ids.PropertyCollector, this, _reader);
        ViewManager = new ViewManager(ids.ViewManager, this, _reader);
        SearchIndex = new SearchIndex(ids.SearchIndex, this, _reader);
        GuestOperationsManager = new GuestOperationsManager(
            ids.GuestOperationsManager,
            new GuestAuthManager(ids.GuestAuthManager, guest, _reader),
            new GuestFileManager(ids.GuestFileManager, guest, transfers ?? new TransferTokens(time, TransferTokens.DefaultLifetime), _reader),
            new GuestProcessManager(ids.GuestProcessManager, guest, _reader),
            _reader);
        AuthorizationManager = new AuthorizationManager(ids.AuthorizationManager, this, Access, users, _reader);
        AccountManager = new HostLocalAccountManager(ids.AccountManager, users, permissions, _reader);
        EventManager = new EventManager(ids.EventManager, Events, this, Access, _reader);
        var content = new ServiceContent
        {
            rootFolder = RootFolder.Ref,
            propertyCollector = PropertyCollector.Ref,
            viewManager = ViewManager.Ref,
            about = identity.About,
            sessionManager = SessionManager.Ref,
            authorizationManager = AuthorizationManager.Ref,
            eventManager = EventManager.Ref,
            accountManager = AccountManager.Ref,
            searchIndex = SearchIndex.Ref,
            guestOperationsManager = GuestOperationsManager.Ref,
        };
        ServiceInstance = new ServiceInstance(ids.ServiceInstance, () => content, time, _reader);

        foreach (var obj in new ManagedObject[]
        {
            ServiceInstance, SessionManager, PropertyCollector, ViewManager, SearchIndex, GuestOperationsManager,
            AuthorizationManager, AccountManager, EventManager,
            GuestOperationsManager.AuthManager, GuestOperationsManager.FileManager, GuestOperationsManager.ProcessManager,
            RootFolder, Datacenter, Datacenter.VmFolder, Datacenter.HostFolder, Datacenter.DatastoreFolder, Datacenter.NetworkFolder,
        })
        {
            _singletons.Add(obj.Ref, obj);
        }
    }

    /// <summary>Every concrete managed object class, for binding operations to methods at start-up.</summary>
    public static IReadOnlyList<Type> ManagedObjectTypes { get; } = typeof(ManagedObject).Assembly.GetTypes()
        .Where(t => t.IsSubclassOf(typeof(ManagedObject)) && !t.IsAbstract)
        .ToArray();

    public ServiceInstance ServiceInstance { get; }

    /// <summary>Who may do what on the entities: the host agent's roles and permissions.</summary>
    public EntityPermissions Access { get; }

    public IEventHistory Events { get; }

    public AuthorizationManager AuthorizationManager { get; }

    public HostLocalAccountManager AccountManager { get; }

    public EventManager EventManager { get; }

    public SessionManager SessionManager { get; }

    public PropertyCollector PropertyCollector { get; }

    public ViewManager ViewManager { get; }

    public SearchIndex SearchIndex { get; }

    public GuestOperationsManager GuestOperationsManager { get; }

    public Folder RootFolder { get; }

    public Datacenter Datacenter { get; }

    /// <summary>The compute resource (and HostSystem) of every host agent of the cluster; none for the single process.</summary>
    public IEnumerable<ComputeResource> ComputeResources(Folder hostFolder) =>
        _hosts is null ? [] : _hosts.HostSystems.Select(h => _computeResources.GetOrAdd(
            h.Name,
            static (name, state) => new ComputeResource(name, state.hostFolder, host => state.self.VirtualMachines.Where(vm => state.self._hosts!.HostNameOf(vm.Ref.Value) == host), state.self._reader),
            (hostFolder, self: this)));

    /// <summary>The VMs the host agent reports now.</summary>
    public IEnumerable<VirtualMachine> VirtualMachines => Synchronous.Wait(_inventory.ListVirtualMachinesAsync()).Select(VirtualMachineFor);

    /// <summary>What the inventory holds now, to tell whether anything changed since an earlier look: the host agent's
    /// VM snapshots (the same instances while unchanged) and the host agents.</summary>
    public InventoryState State() => new(Synchronous.Wait(_inventory.ListVirtualMachinesAsync()), _hosts?.HostSystems ?? []);

    /// <summary>Completes at the host agent's next change of its VMs; null when it does not tell (look again on a timer).</summary>
    public Task? NextChange => _changes?.NextChange;

    public object? Resolve(ManagedObjectReference reference, VimCall call) => Find(reference, call.Session as Session);

    public ManagedObject? Find(ManagedObjectReference reference, Session? session)
    {
        if (_singletons.TryGetValue(reference, out var singleton))
        {
            return singleton;
        }

        switch (reference.type)
        {
            case "VirtualMachine":
                return Synchronous.Wait(_inventory.GetVirtualMachineAsync(reference.Value)) is { } snapshot ? VirtualMachineFor(snapshot) : null;
            case "HostSystem":
                return ComputeResources(Datacenter.HostFolder).Select(c => c.Host).FirstOrDefault(h => h.Ref.Value == reference.Value);
            case "ComputeResource":
                return ComputeResources(Datacenter.HostFolder).FirstOrDefault(c => c.Ref.Value == reference.Value);
            case "ContainerView":
                return session is not null && session.Views.TryGetValue(reference.Value, out var view) ? view : null;
            case "PropertyFilter":
                return session is not null && session.Filters.TryGetValue(reference.Value, out var filter) ? filter : null;
            default:
                return null;
        }
    }

    private VirtualMachine VirtualMachineFor(VmSnapshot snapshot) =>
        _vms.GetOrAdd(snapshot.Configuration.Id, static (_, state) => new VirtualMachine(state.snapshot, state.self.Datacenter.VmFolder, state.self._inventory, state.self._reader, state.self._hosts, state.self.HostSystemOf), (snapshot, self: this));

    private HostSystem? HostSystemOf(string hostName) => ComputeResources(Datacenter.HostFolder).FirstOrDefault(c => c.Name == hostName)?.Host;
}

/// <summary>The inventory at one moment (<see cref="Inventory.State"/>): equal when no VM snapshot and no host agent changed.</summary>
public sealed record InventoryState(IReadOnlyList<VmSnapshot> Vms, IReadOnlyList<HostSystemInfo> Hosts)
{
    public bool SameAs(InventoryState other)
    {
        if (!ReferenceEquals(Hosts, other.Hosts) && !Hosts.SequenceEqual(other.Hosts))
        {
            return false;
        }

        if (ReferenceEquals(Vms, other.Vms))
        {
            return true;
        }

        if (Vms.Count != other.Vms.Count)
        {
            return false;
        }

        for (var i = 0; i < Vms.Count; i++)
        {
            if (!ReferenceEquals(Vms[i], other.Vms[i]))
            {
                return false;
            }
        }

        return true;
    }
}
