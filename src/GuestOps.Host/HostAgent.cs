using System.Diagnostics;
using GuestOps.Channel.Messages;
using GuestOps.Channel.Transport;
using GuestOps.Host.Dispatch;
using GuestOps.Host.Enrollment;
using GuestOps.Host.Providers;
using GuestOps.Host.QemuGuestAgent;
using Microsoft.Extensions.Logging;

namespace GuestOps.Host;

/// <summary>A VM the host agent runs: its configuration, guest accounts and the guest-commands switch.
/// <paramref name="External"/>: provider <c>external</c> — no process is started; its worker runs in a real VM and
/// connects through <see cref="HostAgentOptions.ExternalWorkers"/>. <paramref name="Kerberos"/>: the guest's keytab and
/// realm for Kerberos SSPI logons (null: NTLM only). <paramref name="PowerState"/>: the state the host agent keeps the VM
/// in; a powered-off VM gets no guest and no tools worker. <paramref name="AgentSocket"/>: provider <c>qemu-ga</c> — no
/// process is started; the VM runs qemu-guest-agent on this unix socket (its QGA channel) and the host agent pushes the
/// tools through it and runs every guest operation with guest-exec. <paramref name="Tools"/>: whether the provider runs a
/// tools worker in the guest (the default), the VM has no tools at all, or its dispatcher answers itself (benchmarks).</summary>
public sealed record VmDefinition(VmConfiguration Configuration, IReadOnlyList<GuestAccount> Accounts, bool GuestCommandsEnabled = true, bool External = false, GuestKerberos? Kerberos = null, VmPowerState PowerState = VmPowerState.PoweredOn, string? AgentSocket = null, VmTools Tools = VmTools.Worker);

/// <summary>What answers a VM's guest operations.</summary>
public enum VmTools
{
    /// <summary>A tools worker: the host-wide provider's, an external VM's or one pushed through qemu-guest-agent.</summary>
    Worker,

    /// <summary>No tools in the guest (per-VM provider <c>none</c>): <c>guest.guestOperationsReady</c> is false and every
    /// guest operation fails at once with GuestOperationsUnavailable, as vSphere answers when VMware Tools is not running.</summary>
    None,

    /// <summary>For benchmarks only (per-VM provider <c>echo</c>): the VM's dispatcher answers each call itself where it
    /// would send it to a worker (<see cref="VmDispatcher.Echo"/>), so a run measures the service's own cost per call
    /// without any guest's.</summary>
    Echo,
}

public sealed record HostAgentOptions
{
    /// <summary>VM directories live under <c>&lt;StateDirectory&gt;/vms/&lt;id&gt;</c>.</summary>
    public required string StateDirectory { get; init; }

    /// <summary>How VMs are powered on; null runs them without a tools worker (guest operations unavailable).</summary>
    public IVmProvider? Provider { get; init; }

    /// <summary>The guestops-tools binary the provider runs in each guest.</summary>
    public string? WorkerPath { get; init; }

    /// <summary>Extra command-line arguments for every worker (e.g. <c>--credential-cache-ttl 30</c>).</summary>
    public IReadOnlyList<string> WorkerArguments { get; init; } = [];

    /// <summary>Host-wide <c>guest.commands.enabled</c>.</summary>
    public bool GuestCommandsEnabled { get; init; } = true;

    public VmDispatcherOptions Dispatcher { get; init; } = new();

    /// <summary>The worker listener external VMs' workers connect to (null: external VMs have no guest agent).</summary>
    public ExternalWorkerGateway? ExternalWorkers { get; init; }

    /// <summary>Settings of VMs reached through qemu-guest-agent (per-VM <c>AgentSocket</c>, or a provider with one).</summary>
    public QemuGuestAgentOptions QemuGuestAgent { get; init; } = new();

    /// <summary>Longest wait between restarts of a worker that keeps exiting.</summary>
    public TimeSpan MaxRestartDelay { get; init; } = TimeSpan.FromSeconds(2);
}

/// <summary>
/// The host agent (hostd-like): powers VMs on through a provider, keeps their tools worker running (restarting it
/// with backoff), owns one VMX-like dispatcher per VM and reports VM state as immutable snapshots. It knows when a
/// snapshot changes (a worker connects or goes away, qemu-guest-agent's state changes): <see cref="NextChange"/>
/// completes then, and <see cref="ChangesSince"/> answers only the VMs changed since a version an asker holds.
/// </summary>
public sealed partial class HostAgent : IHostAgent, IInventoryChanges, IAsyncDisposable
{
    private readonly HostAgentOptions _options;
    private readonly TimeProvider _time;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger _logger;
    private readonly Dictionary<string, RunningVm> _vms;
    private readonly IReadOnlyList<RunningVm> _ordered;
    private readonly CancellationTokenSource _stopping = new();
    private readonly InventoryVersions _versions = new();
    private readonly PollClock _pollClock = new(); // one for every qemu-ga VM: one thread, while any of them polls
    private TaskCompletionSource _nextChange = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>1 when a snapshot may have changed since <see cref="_versions"/> last recorded them.</summary>
    private int _unrecorded = 1;
    private int _disposed;

    public HostAgent(IEnumerable<VmDefinition> vms, HostAgentOptions options, TimeProvider time, ILoggerFactory loggerFactory)
    {
        _options = options;
        _time = time;
        _loggerFactory = loggerFactory;
        _logger = loggerFactory.CreateLogger<HostAgent>();
        var bootTime = time.GetUtcNow().UtcDateTime;
        _ordered = vms.Select((vm, i) => new RunningVm(vm, i, bootTime)).ToArray();
        _vms = _ordered.ToDictionary(v => v.Definition.Configuration.Id, StringComparer.Ordinal);
    }

    /// <summary>Creates each VM's dispatcher and powers the VMs on.</summary>
    public void Start()
    {
        foreach (var vm in _ordered.Where(v => v.Definition.External && v.IsPoweredOn && _options.ExternalWorkers is not null))
        {
            vm.Dispatcher = new VmDispatcher(vm.Definition.Configuration.Id, _options.ExternalWorkers!.Register(vm.Definition.Configuration.Id), _options.Dispatcher, _loggerFactory);
            vm.Dispatcher.WorkerChanged += Changed;
            vm.Dispatcher.Start();
        }

        foreach (var vm in _ordered.Where(v => v.Definition.AgentSocket is not null && v.IsPoweredOn))
        {
            var channelSocket = StartLocalDispatcher(vm);
            StartBridge(vm, vm.Definition.AgentSocket!, channelSocket);
        }

        foreach (var vm in _ordered.Where(v => v.Definition.Tools == VmTools.Echo && v.IsPoweredOn))
        {
            vm.Dispatcher = VmDispatcher.Echo(vm.Definition.Configuration.Id, _options.Dispatcher, _loggerFactory);
        }

        Changed(); // the echo VMs are ready from here on

        var local = _ordered.Where(v => v.Definition.Tools == VmTools.Worker && !v.Definition.External && v.Definition.AgentSocket is null && v.IsPoweredOn).ToList();
        if (local.Count == 0)
        {
            return;
        }

        if (_options.Provider is not { } provider || _options.WorkerPath is not { } workerPath)
        {
            LogNoWorker(_logger);
            return;
        }

        LogProvider(_logger, provider.Name, provider.Isolation);
        var sandboxed = local.Select(v => v.Index + 1).DefaultIfEmpty(0).Max();
        if (provider.IsolationLimit(sandboxed) is { } limit)
        {
            LogIsolationLimit(_logger, provider.Name, limit);
        }

        foreach (var vm in local)
        {
            var directory = Path.Combine(_options.StateDirectory, "vms", vm.Definition.Configuration.Id);
            var channelSocket = StartLocalDispatcher(vm);
            var launch = new VmLaunch(vm.Definition.Configuration.Name, vm.Definition.Accounts, Path.Combine(directory, "guest"), Path.GetDirectoryName(channelSocket)!, workerPath, vm.Index, _options.WorkerArguments, vm.Definition.Kerberos);
            if (provider.AgentSocket(launch) is { } agentSocket)
            {
                StartBridge(vm, agentSocket, channelSocket);
            }

            vm.Supervisor = SuperviseAsync(vm, provider, launch, _stopping.Token);
        }
    }

    /// <summary>The VM's dispatcher on a unix socket in its state directory; returns the socket's path.</summary>
    private string StartLocalDispatcher(RunningVm vm)
    {
        var directory = Path.Combine(_options.StateDirectory, "vms", vm.Definition.Configuration.Id);
        var channelDirectory = Path.Combine(directory, "channel");
        Directory.CreateDirectory(channelDirectory);
        var socket = Path.Combine(channelDirectory, "channel.sock");
        File.Delete(socket);
        // World-writable socket in a root-owned directory: the worker may be an unprivileged host uid (user namespace).
        var listener = UnixSocketChannelListener.Start(socket, (UnixFileMode)0b110_110_110);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(channelDirectory, (UnixFileMode)0b111_101_101);
        }

        vm.Dispatcher = new VmDispatcher(vm.Definition.Configuration.Id, listener, _options.Dispatcher, _loggerFactory);
        vm.Dispatcher.WorkerChanged += Changed;
        vm.Dispatcher.Start();
        return socket;
    }

    /// <summary>Stands in for the worker of a VM reached through qemu-guest-agent at <paramref name="agentSocket"/>.</summary>
    private void StartBridge(RunningVm vm, string agentSocket, string channelSocket)
    {
        vm.Bridge = new QemuGuestAgentBridge(vm.Definition.Configuration.Name, agentSocket, channelSocket, _options.WorkerPath, _options.QemuGuestAgent, _pollClock, _loggerFactory);
        vm.Bridge.StatusChanged += Changed;
        vm.Bridge.Start();
    }

    public IReadOnlyList<VmSnapshot> ListVirtualMachines() => _ordered.Select(Snapshot).ToArray();

    public VmSnapshot? GetVirtualMachine(string id) => _vms.TryGetValue(id, out var vm) ? Snapshot(vm) : null;

    /// <summary>Completes at the next change of a VM's snapshot (after the change is visible in
    /// <see cref="ListVirtualMachines"/>).</summary>
    public Task NextChange => Volatile.Read(ref _nextChange).Task;

    /// <summary>The VMs changed since <paramref name="version"/> of <paramref name="epoch"/> (every VM when the asker
    /// holds no version of this run's epoch): what a front end asks to keep its copy of this host agent's VMs current.
    /// The VMs are looked at again only after a change was signalled.</summary>
    public InventoryDelta ChangesSince(long epoch, long version)
    {
        if (Interlocked.Exchange(ref _unrecorded, 0) == 1)
        {
            _versions.Update(ListVirtualMachines());
        }

        return _versions.ChangesSince(epoch, version);
    }

    /// <summary>A VM's snapshot may have changed (its worker connected or went away, its qemu-guest-agent state changed):
    /// signalled after the change is visible, so a reader woken by <see cref="NextChange"/> sees it.</summary>
    private void Changed()
    {
        Volatile.Write(ref _unrecorded, 1);
        Interlocked.Exchange(ref _nextChange, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
    }

    public Task<ChannelResponse> InvokeGuestAsync(string vmId, ChannelRequest request, CancellationToken cancellationToken) =>
        DispatcherFor(vmId).InvokeAsync(request, cancellationToken);

    /// <summary>Like <see cref="InvokeGuestAsync"/> for a request given as its JSON, answered with the worker's JSON
    /// (<see cref="VmDispatcher.InvokeJsonAsync"/>): the guest call of a host agent whose requests come from another
    /// process.</summary>
    public Task<byte[]> InvokeGuestJsonAsync(string vmId, string operation, byte[] request, CancellationToken cancellationToken) =>
        DispatcherFor(vmId).InvokeJsonAsync(operation, request, cancellationToken);

    public Task<GuestDataCall> StartGuestDataCallAsync(string vmId, ChannelRequest request, CancellationToken cancellationToken) =>
        DispatcherFor(vmId).StartDataCallAsync(request, cancellationToken);

    /// <summary>The dispatcher of a VM whose guest operations are enabled.</summary>
    private VmDispatcher DispatcherFor(string vmId)
    {
        if (!_vms.TryGetValue(vmId, out var vm))
        {
            throw new ArgumentException($"Unknown VM {vmId}.", nameof(vmId));
        }

        if (!_options.GuestCommandsEnabled || !vm.Definition.GuestCommandsEnabled)
        {
            throw new GuestAgentException(GuestAgentFailure.OperationsDisabled,
                $"Guest operations are disabled for VM {vm.Definition.Configuration.Name} (guest.commands.enabled = FALSE).");
        }

        return vm.Dispatcher
            ?? throw new GuestAgentException(GuestAgentFailure.Unavailable, $"VM {vm.Definition.Configuration.Name} has no guest agent.");
    }

    /// <summary>The worker process of a VM (the sandbox's outermost process), for fault tests and diagnostics.</summary>
    public int? GuestProcessId(string vmId) => _vms.TryGetValue(vmId, out var vm) && vm.Process is { HasExited: false } p ? p.Id : null;

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return; // the host's container and the hosted service may both dispose it
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        foreach (var vm in _ordered)
        {
            try
            {
                await vm.Supervisor.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }

            if (vm.Bridge is { } bridge)
            {
                await bridge.DisposeAsync().ConfigureAwait(false);
            }

            if (vm.Dispatcher is { } dispatcher)
            {
                await dispatcher.DisposeAsync().ConfigureAwait(false);
            }
        }

        _stopping.Dispose();
        _pollClock.Dispose();
    }

    /// <summary>The VM's snapshot; the same instance while nothing changed, so readers can cache what they derive from it.</summary>
    private VmSnapshot Snapshot(RunningVm vm)
    {
        var worker = vm.Dispatcher?.Worker;
        var agent = vm.Bridge?.Status;
        var cached = vm.LastSnapshot;
        if (cached is not null && ReferenceEquals(cached.Worker, worker) && ReferenceEquals(cached.Agent, agent))
        {
            return cached.Snapshot;
        }

        var snapshot = BuildSnapshot(vm, worker, agent);
        vm.LastSnapshot = new CachedSnapshot(worker, agent, snapshot);
        return snapshot;
    }

    private static VmSnapshot BuildSnapshot(RunningVm vm, ChannelHello? worker, QemuGuestAgentStatus? qga)
    {
        var agent = worker is null
            ? GuestAgentState.NotRunning
            : new GuestAgentState
            {
                Running = true,
                OperationsReady = true,
                ToolsVersion = worker.Software,
                HostName = worker.Os?.HostName,
                IpAddress = vm.Definition.Configuration.IpAddress ?? worker.Os?.IpAddresses.FirstOrDefault(),
                GuestFamily = worker.Os?.OsFamily switch { "linux" => "linuxGuest", "windows" => "windowsGuest", _ => "otherGuestFamily" },
                GuestFullName = worker.Os?.OsName,
            };
        if (qga is not null && worker is not null)
        {
            // qemu-ga answers, but guest operations may still be impossible (a blocked command, a failed push).
            var installed = qga.Tools == GuestToolsState.Current;
            agent = agent with
            {
                OperationsReady = installed && qga.AgentRunning,
                ToolsVersionStatus = installed ? "guestToolsCurrent" : "guestToolsNotInstalled",
                ToolsRunningStatus = qga.AgentRunning ? "guestToolsRunning" : "guestToolsNotRunning",
            };
        }

        return new VmSnapshot(vm.Definition.Configuration, vm.Definition.PowerState, vm.IsPoweredOn ? vm.BootTime : null, agent);
    }

    private async Task SuperviseAsync(RunningVm vm, IVmProvider provider, VmLaunch launch, CancellationToken stopping)
    {
        var delay = TimeSpan.FromMilliseconds(100);
        while (!stopping.IsCancellationRequested)
        {
            var started = _time.GetTimestamp();
            try
            {
                using var process = provider.Start(launch);
                vm.Process = process;
                try
                {
                    await process.WaitForExitAsync(stopping).ConfigureAwait(false);
                    LogGuestExited(_logger, vm.Definition.Configuration.Name, process.ExitCode);
                }
                catch (OperationCanceledException)
                {
                    Kill(process);
                    return;
                }
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogGuestStartFailed(_logger, vm.Definition.Configuration.Name, e);
            }

            delay = _time.GetElapsedTime(started) > TimeSpan.FromSeconds(10) ? TimeSpan.FromMilliseconds(100) : Min(delay * 2, _options.MaxRestartDelay);
            await Task.Delay(delay, _time, stopping).ConfigureAwait(false);
        }
    }

    private static void Kill(Process process)
    {
        try
        {
            process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
        }
    }

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    private sealed class RunningVm(VmDefinition definition, int index, DateTime bootTime)
    {
        public VmDefinition Definition { get; } = definition;
        public int Index { get; } = index;
        public DateTime BootTime { get; } = bootTime;
        public bool IsPoweredOn => Definition.PowerState == VmPowerState.PoweredOn;
        public VmDispatcher? Dispatcher { get; set; }
        public QemuGuestAgentBridge? Bridge { get; set; }
        public Task Supervisor { get; set; } = Task.CompletedTask;
        public Process? Process { get; set; }
        public CachedSnapshot? LastSnapshot { get; set; }
    }

    private sealed record CachedSnapshot(ChannelHello? Worker, QemuGuestAgentStatus? Agent, VmSnapshot Snapshot);

    [LoggerMessage(EventId = 3100, Level = LogLevel.Warning, Message = "No VM provider or tools worker is configured: VMs run without a guest agent and guest operations are unavailable")]
    private static partial void LogNoWorker(ILogger logger);

    [LoggerMessage(EventId = 3101, Level = LogLevel.Information, Message = "VM provider {Provider}: {Isolation}")]
    private static partial void LogProvider(ILogger logger, string provider, string isolation);

    [LoggerMessage(EventId = 3104, Level = LogLevel.Warning, Message = "VM provider {Provider}: {Limit}")]
    private static partial void LogIsolationLimit(ILogger logger, string provider, string limit);

    [LoggerMessage(EventId = 3102, Level = LogLevel.Warning, Message = "VM {Vm}: guest exited with code {ExitCode}; restarting")]
    private static partial void LogGuestExited(ILogger logger, string vm, int exitCode);

    [LoggerMessage(EventId = 3103, Level = LogLevel.Error, Message = "VM {Vm}: the guest could not be started")]
    private static partial void LogGuestStartFailed(ILogger logger, string vm, Exception exception);
}
