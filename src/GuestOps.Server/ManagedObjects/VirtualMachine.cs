using GuestOps.Host;
using GuestOps.Host.Inventory;
using GuestOps.Vim;

namespace GuestOps.Server.ManagedObjects;

/// <summary>vim.VirtualMachine: identity, power state and the guest state the host agent's inventory reports.</summary>
public sealed class VirtualMachine : ManagedEntity
{
    private static readonly PropertyTable<VirtualMachine> Table = new PropertyTable<VirtualMachine>(EntityProperties)
        .Add("parentVApp", _ => null)
        .Add("resourcePool", _ => null)
        .Add("runtime", vm => vm.Views().Runtime)
        .Add("config", vm => vm.Views().Config)
        .Add("guest", vm => vm.Views().Guest)
        .Add("guestHeartbeatStatus", vm => vm.Snapshot.Agent.Running ? ManagedEntityStatus.Green : ManagedEntityStatus.Gray)
        .Add("summary", vm => vm.Views().Summary);

    private readonly IInventoryService _inventory;
    private readonly IHostSystems? _hosts;
    private readonly Func<string, HostSystem?>? _hostSystem;
    private readonly VmSnapshot _registered;
    private PropertyViews? _views;

    /// <param name="hosts">In a cluster: which host agent runs the VM (<c>runtime.host</c>) and whether it answers.</param>
    /// <param name="hostSystem">The HostSystem of a host agent's name.</param>
    public VirtualMachine(VmSnapshot registered, Folder parent, IInventoryService inventory, PropertyReader reader, IHostSystems? hosts = null, Func<string, HostSystem?>? hostSystem = null)
        : base(registered.Configuration.Id, reader)
    {
        _registered = registered;
        _inventory = inventory;
        _hosts = hosts;
        _hostSystem = hostSystem;
        Parent = parent;
    }

    public override PropertyTable Properties => Table;

    public override string Name => Snapshot.Configuration.Name;

    public override ManagedEntity? Parent { get; }

    /// <summary>The host agent's current view of this VM.</summary>
    public VmSnapshot Snapshot => Synchronous.Wait(_inventory.GetVirtualMachineAsync(Ref.Value)) ?? _registered;

    /// <summary>The data objects of one snapshot, each built once on its first read: property reads of an unchanged VM
    /// allocate nothing, and a VM whose reads never ask for config or summary holds none. Callers must not modify them.</summary>
    private PropertyViews Views()
    {
        var snapshot = Snapshot;
        var host = Host();
        var views = _views;
        if (views is null || !ReferenceEquals(views.Snapshot, snapshot) || views.Host != host)
        {
            views = new PropertyViews(this, snapshot, host);
            _views = views;
        }

        return views;
    }

    /// <summary>Built lazily; two readers racing may both build one, and either result is the same value.</summary>
    private sealed class PropertyViews(VirtualMachine vm, VmSnapshot snapshot, (HostSystem? System, bool Connected) host)
    {
        private VirtualMachineRuntimeInfo? _runtime;
        private VirtualMachineConfigInfo? _config;
        private GuestInfo? _guest;
        private VirtualMachineSummary? _summary;

        public VmSnapshot Snapshot => snapshot;

        public (HostSystem? System, bool Connected) Host => host;

        public VirtualMachineRuntimeInfo Runtime => _runtime ??= VirtualMachine.Runtime(snapshot, host);

        public VirtualMachineConfigInfo Config => _config ??= vm.Config(snapshot);

        public GuestInfo Guest => _guest ??= VirtualMachine.Guest(snapshot);

        public VirtualMachineSummary Summary => _summary ??= vm.Summary(snapshot, host, Guest);
    }

    /// <summary>In a cluster, the HostSystem that runs this VM and whether its host agent answers now.</summary>
    private (HostSystem? System, bool Connected) Host()
    {
        var system = _hosts?.HostNameOf(Ref.Value) is { } name ? _hostSystem?.Invoke(name) : null;
        return (system, system is null || _hosts!.HostSystems.Any(h => h.Name == system.Name && h.Connected));
    }

    private static VirtualMachineRuntimeInfo Runtime(VmSnapshot s, (HostSystem? System, bool Connected) host)
    {
        return new()
        {
            host = host.System?.Ref,
            connectionState = host.Connected ? VirtualMachineConnectionState.Connected : VirtualMachineConnectionState.Disconnected,
            powerState = PowerState(s.PowerState),
            toolsInstallerMounted = false,
            bootTime = s.PowerState == VmPowerState.PoweredOn ? s.BootTime : null,
            numMksConnections = 0,
        };
    }

    private VirtualMachineConfigInfo Config(VmSnapshot s) => new()
    {
        changeVersion = s.BootTime?.ToString("O") ?? "",
        modified = DateTime.UnixEpoch,
        name = s.Configuration.Name,
        guestFullName = s.Configuration.GuestFullName,
        version = "vmx-19",
        uuid = s.Configuration.Uuid,
        instanceUuid = s.Configuration.InstanceUuid,
        template = false,
        guestId = s.Configuration.GuestId,
        alternateGuestName = "",
        files = new VirtualMachineFileInfo { vmPathName = VmPathName(s) },
        flags = new VirtualMachineFlagInfo(),
        defaultPowerOps = new VirtualMachineDefaultPowerOpInfo(),
        hardware = new VirtualHardware { numCPU = s.Configuration.NumCpu, numCoresPerSocket = 1, memoryMB = s.Configuration.MemoryMB },
    };

    private static GuestInfo Guest(VmSnapshot s)
    {
        var running = s.PowerState == VmPowerState.PoweredOn && s.Agent.Running;
        return new GuestInfo
        {
            toolsStatus = running ? VirtualMachineToolsStatus.ToolsOk : VirtualMachineToolsStatus.ToolsNotRunning,
            toolsVersionStatus = running ? s.Agent.ToolsVersionStatus ?? "guestToolsCurrent" : "guestToolsNotInstalled",
            toolsVersionStatus2 = running ? s.Agent.ToolsVersionStatus ?? "guestToolsCurrent" : "guestToolsNotInstalled",
            toolsRunningStatus = running ? s.Agent.ToolsRunningStatus ?? "guestToolsRunning" : "guestToolsNotRunning",
            toolsVersion = running ? s.Agent.ToolsVersion : "0",
            toolsInstallType = running ? "guestToolsTypeOpenVMTools" : null,
            guestId = s.Configuration.GuestId,
            guestFamily = running ? s.Agent.GuestFamily : null,
            guestFullName = running ? s.Agent.GuestFullName ?? s.Configuration.GuestFullName : null,
            hostName = running ? s.Agent.HostName : null,
            ipAddress = running ? s.Agent.IpAddress : null,
            guestState = running ? "running" : "notRunning",
            guestOperationsReady = running && s.Agent.OperationsReady,
            interactiveGuestOperationsReady = false,
        };
    }

    private VirtualMachineSummary Summary(VmSnapshot s, (HostSystem? System, bool Connected) host, GuestInfo guest)
    {
        return new VirtualMachineSummary
        {
            vm = Ref,
            runtime = Runtime(s, host),
            guest = new VirtualMachineGuestSummary
            {
                guestId = guest.guestId,
                guestFullName = guest.guestFullName,
                toolsStatus = guest.toolsStatus,
                toolsVersionStatus = guest.toolsVersionStatus,
                toolsVersionStatus2 = guest.toolsVersionStatus2,
                toolsRunningStatus = guest.toolsRunningStatus,
                hostName = guest.hostName,
                ipAddress = guest.ipAddress,
            },
            config = new VirtualMachineConfigSummary
            {
                name = s.Configuration.Name,
                template = false,
                vmPathName = VmPathName(s),
                memorySizeMB = s.Configuration.MemoryMB,
                numCpu = s.Configuration.NumCpu,
                uuid = s.Configuration.Uuid,
                instanceUuid = s.Configuration.InstanceUuid,
                guestId = s.Configuration.GuestId,
                guestFullName = s.Configuration.GuestFullName,
            },
            quickStats = new VirtualMachineQuickStats
            {
                guestHeartbeatStatus = guest.guestState == "running" ? ManagedEntityStatus.Green : ManagedEntityStatus.Gray,
            },
            overallStatus = ManagedEntityStatus.Green,
        };
    }

    private static string VmPathName(VmSnapshot s) => $"[datastore1] {s.Configuration.Name}/{s.Configuration.Name}.vmx";

    private static VirtualMachinePowerState PowerState(VmPowerState state) => state switch
    {
        VmPowerState.PoweredOn => VirtualMachinePowerState.PoweredOn,
        VmPowerState.Suspended => VirtualMachinePowerState.Suspended,
        _ => VirtualMachinePowerState.PoweredOff,
    };
}
