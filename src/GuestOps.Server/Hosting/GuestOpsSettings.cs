using System.Security.Cryptography;
using System.Text;
using GuestOps.Cluster;
using GuestOps.Host;
using GuestOps.Host.Providers;

namespace GuestOps.Server.Hosting;

/// <summary>The server's settings read and checked: the GuestOps section bound once, listen URLs, the configured VMs
/// and the host agent's options made of them. Every refusal is a <see cref="GuestOpsConfigurationException"/> whose
/// message names the setting, shown as one line when the server cannot start.</summary>
internal static class GuestOpsSettings
{
    /// <summary>Binds the GuestOps section and checks what can be checked before anything starts: the listen URLs and
    /// that external VMs have a worker listener to connect to.</summary>
    internal static (GuestOpsOptions Options, IReadOnlyList<(System.Net.IPAddress? Host, int Port, bool Https)> Endpoints, WorkerListenerSettings? WorkerListener, ClusterSettings Cluster) Read(IConfiguration configuration)
    {
        var options = ReadOptions(configuration);
        ClusterSettings cluster;
        try
        {
            cluster = ClusterSettings.Parse(options.Role, options.Cluster, options.HostName, options.DemoVms);
        }
        catch (ClusterSettingsException e)
        {
            throw new GuestOpsConfigurationException(e.Message, e);
        }

        if (cluster.DemoVms is { } demoVms)
        {
            options.VirtualMachines = demoVms.Select(name => new VirtualMachineOptions { Name = name, GuestId = "debian12_64Guest", GuestFullName = "Debian GNU/Linux 12 (64-bit)" }).ToList();
        }

        options.VirtualMachines.AddRange(CountedVms(options, cluster.Store is null ? "" : cluster.HostName + "-"));

        var endpoints = ListenEndpoints(options.Urls);
        var workerListener = WorkerListenerSettings.From(options);
        if (workerListener is null && options.VirtualMachines.FirstOrDefault(IsExternal) is { } unreachable)
        {
            throw new GuestOpsConfigurationException($"VM {unreachable.Name} has Provider=external, but GuestOps:WorkerListenUrl (GUESTOPS_WORKER_LISTEN_URL) is not set, e.g. tcp://0.0.0.0:8902: its worker could never connect.");
        }

        return (options, endpoints, workerListener, cluster);
    }

    /// <summary>The VMs <c>GuestOps:VmsWithoutTools</c> and <c>GuestOps:EchoVms</c> ask for, after the named ones:
    /// <c>PREFIXnotools-1</c> ... with per-VM provider <c>none</c>, then <c>PREFIXecho-1</c> ... with <c>echo</c>.</summary>
    private static IEnumerable<VirtualMachineOptions> CountedVms(GuestOpsOptions options, string prefix)
    {
        foreach (var (count, setting) in new[] { (options.VmsWithoutTools, "VmsWithoutTools (GUESTOPS_VMS_WITHOUT_TOOLS)"), (options.EchoVms, "EchoVms (GUESTOPS_ECHO_VMS)") })
        {
            if (count is < 0 or > MaxCountedVms)
            {
                throw new GuestOpsConfigurationException($"GuestOps:{setting} is {count}: it must be 0 to {MaxCountedVms}.");
            }
        }

        return Enumerable.Range(1, options.VmsWithoutTools).Select(i => new VirtualMachineOptions { Name = $"{prefix}notools-{i}", Provider = NoToolsProvider })
            .Concat(Enumerable.Range(1, options.EchoVms).Select(i => new VirtualMachineOptions { Name = $"{prefix}echo-{i}", Provider = EchoProvider }));
    }

    private const int MaxCountedVms = 100_000;

    /// <summary>Parses <c>GuestOps:Urls</c>: scheme http or https, host <c>*</c>/<c>+</c>/<c>0.0.0.0</c> (any), <c>localhost</c> or an IP.</summary>
    private static List<(System.Net.IPAddress? Host, int Port, bool Https)> ListenEndpoints(string urls)
    {
        var endpoints = new List<(System.Net.IPAddress?, int, bool)>();
        foreach (var url in urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var normalized = url.Replace("://*", "://0.0.0.0", StringComparison.Ordinal).Replace("://+", "://0.0.0.0", StringComparison.Ordinal);
            if (!Uri.TryCreate(normalized, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttps && uri.Scheme != Uri.UriSchemeHttp))
            {
                throw new GuestOpsConfigurationException($"GuestOps:Urls (GUESTOPS_URLS, --urls): '{url}' is not an http or https URL such as https://127.0.0.1:8443.");
            }

            var host = uri.Host.Trim('[', ']');
            System.Net.IPAddress? address = null;
            if (host != "0.0.0.0" && host != "localhost" && !System.Net.IPAddress.TryParse(host, out address))
            {
                throw new GuestOpsConfigurationException($"GuestOps:Urls (GUESTOPS_URLS, --urls): the host of '{url}' must be *, localhost or an IP address.");
            }

            endpoints.Add((host == "localhost" ? System.Net.IPAddress.None : address, uri.Port, uri.Scheme == Uri.UriSchemeHttps));
        }

        return endpoints.Count > 0 ? endpoints : throw new GuestOpsConfigurationException("GuestOps:Urls (GUESTOPS_URLS, --urls) is empty.");
    }

    /// <summary>The documented flat GUESTOPS_* environment variables as configuration keys.</summary>
    internal static IEnumerable<KeyValuePair<string, string?>> EnvironmentSettings() =>
        GuestOpsOptions.EnvironmentVariables
            .Select(kv => (kv.Value, Environment.GetEnvironmentVariable(kv.Key)))
            .Where(kv => kv.Item2 is not null)
            .Select(kv => new KeyValuePair<string, string?>(kv.Value, kv.Item2));

    /// <summary>Binds the GuestOps section (shared by the server and the admin commands).</summary>
    internal static GuestOpsOptions ReadOptions(IConfiguration configuration)
    {
        try
        {
            return configuration.GetSection(GuestOpsOptions.Section).Get<GuestOpsOptions>() ?? new GuestOpsOptions();
        }
        catch (InvalidOperationException e)
        {
            throw new GuestOpsConfigurationException($"A GuestOps setting has a value of the wrong form: {e.InnerException?.Message ?? e.Message}", e);
        }
    }

    /// <summary>The id of the configured VM at <paramref name="index"/>: its Id, else <c>vm-N</c>.</summary>
    internal static string VmId(VirtualMachineOptions vm, int index) => vm.Id ?? $"vm-{index + 1}";

    /// <summary>Whether transfer URLs name the front end the client called, which then streams the bytes through to the
    /// host agent (<c>GUESTOPS_TRANSFERS=frontend</c>), rather than the host agent that runs the VM (<c>hostagent</c>,
    /// the default).</summary>
    internal static bool TransfersThroughFrontEnd(GuestOpsOptions options, ClusterSettings cluster) => options.Transfers.Trim().ToLowerInvariant() switch
    {
        "" or "hostagent" => false,
        "frontend" when cluster.Clustered => true,
        "frontend" => throw new GuestOpsConfigurationException("GuestOps:Transfers (GUESTOPS_TRANSFERS) 'frontend' needs GuestOps:Cluster (GUESTOPS_CLUSTER): without a cluster this process serves every transfer itself."),
        _ => throw new GuestOpsConfigurationException($"GuestOps:Transfers (GUESTOPS_TRANSFERS) '{options.Transfers}' is not one of hostagent, frontend."),
    };

    /// <summary>The id of VM <paramref name="vmName"/> of host agent <paramref name="hostName"/> in a cluster:
    /// <c>vm-</c> and the first 64 bits of the SHA-256 of <c>HOST/NAME</c> in hex, e.g. <c>vm-3f2a9c0d1b7e4a55</c>.</summary>
    internal static string ClusterVmId(string hostName, string vmName) =>
        "vm-" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(IdentityName(hostName, vmName))).AsSpan(0, 8));

    /// <summary>
    /// The id of a configured VM: its Id, else in a single process <c>vm-N</c>, else in a cluster
    /// <see cref="ClusterVmId"/> of its scope (<see cref="ClusterScope"/>). The server and the admin commands name a VM
    /// with this one rule.
    /// </summary>
    internal static string VmId(VirtualMachineOptions vm, int index, string? clusterHost) =>
        vm.Id ?? (clusterHost is null ? VmId(vm, index) : ClusterVmId(ClusterScope(vm, clusterHost), vm.Name));

    /// <summary>
    /// What a VM's identity in a cluster derives from besides its name: its host agent's host name, except for an
    /// external VM, which is a real machine that every host agent configured with it names alike
    /// (<see cref="ExternalScope"/>), so its id, UUIDs and worker certificate (CN = the id) hold at each of them.
    /// </summary>
    private static string ClusterScope(VirtualMachineOptions vm, string clusterHost) => IsExternal(vm) ? ExternalScope : clusterHost;

    /// <summary>The scope of external VMs' identities in a cluster, in place of a host name: <c>external:/NAME</c>.</summary>
    private const string ExternalScope = "external:";

    /// <summary>What a VM's default UUIDs derive from: its name, in a cluster its host agent's host name and its name.</summary>
    private static string IdentityName(string? clusterHost, string vmName) => clusterHost is null ? vmName : $"{clusterHost}/{vmName}";

    /// <summary>Whether a VM's per-VM Provider makes it external (unset: the host-wide provider).</summary>
    internal static bool IsExternal(VirtualMachineOptions vm) => vm.Provider?.Trim().ToLowerInvariant() switch
    {
        null or "" or "default" or QemuGuestAgentProvider or NoToolsProvider or EchoProvider => false,
        "external" => true,
        _ => throw new GuestOpsConfigurationException($"GuestOps:VirtualMachines (VM {vm.Name}): Provider '{vm.Provider}' is not 'external', '{QemuGuestAgentProvider}', '{NoToolsProvider}' or '{EchoProvider}'; leave it unset for the host-wide GuestOps:Provider."),
    };

    private const string QemuGuestAgentProvider = "qemu-ga";

    /// <summary>Per-VM provider of a VM without tools.</summary>
    private const string NoToolsProvider = "none";

    /// <summary>Per-VM provider whose dispatcher answers itself (benchmarks only).</summary>
    private const string EchoProvider = "echo";

    /// <summary>What answers a VM's guest operations, from its per-VM provider.</summary>
    private static VmTools Tools(VirtualMachineOptions vm) => vm.Provider?.Trim().ToLowerInvariant() switch
    {
        NoToolsProvider => VmTools.None,
        EchoProvider => VmTools.Echo,
        _ => VmTools.Worker,
    };

    /// <summary>A per-VM <c>qemu-ga</c> VM's QGA socket (required for it, refused for any other).</summary>
    internal static string? AgentSocket(VirtualMachineOptions vm)
    {
        var qemuGuestAgent = vm.Provider?.Trim().ToLowerInvariant() == QemuGuestAgentProvider;
        if (qemuGuestAgent && string.IsNullOrWhiteSpace(vm.AgentSocket))
        {
            throw new GuestOpsConfigurationException($"GuestOps:VirtualMachines (VM {vm.Name}): Provider '{QemuGuestAgentProvider}' needs AgentSocket, the unix socket of the VM's qemu-guest-agent channel.");
        }

        if (!qemuGuestAgent && !string.IsNullOrWhiteSpace(vm.AgentSocket))
        {
            throw new GuestOpsConfigurationException($"GuestOps:VirtualMachines (VM {vm.Name}): AgentSocket is only for Provider '{QemuGuestAgentProvider}'.");
        }

        return qemuGuestAgent ? Path.GetFullPath(vm.AgentSocket!) : null;
    }

    /// <summary>VMs whose guest accounts live in the real VM (external, qemu-ga): the demo password is not theirs.</summary>
    internal static bool IsRealVm(VirtualMachineOptions vm) => IsExternal(vm) || AgentSocket(vm) is not null;

    /// <param name="clusterHost">The host name of this host agent in a cluster: the VMs' ids and UUIDs then derive from it
    /// and the VM's name (<see cref="ClusterVmId"/>), unique across host agents and stable across restarts; an external
    /// VM's from its name alone, the same at every host agent configured with it.</param>
    internal static IEnumerable<VmDefinition> VirtualMachines(GuestOpsOptions options, string? clusterHost, string demoPassword) =>
        options.VirtualMachines.Select((vm, i) => new VmDefinition(new VmConfiguration
        {
            Id = VmId(vm, i, clusterHost),
            Name = vm.Name,
            Uuid = vm.Uuid ?? StableUuid("bios:" + IdentityName(clusterHost is null ? null : ClusterScope(vm, clusterHost), vm.Name)),
            InstanceUuid = vm.InstanceUuid ?? StableUuid("instance:" + IdentityName(clusterHost is null ? null : ClusterScope(vm, clusterHost), vm.Name)),
            GuestId = vm.GuestId,
            GuestFullName = vm.GuestFullName,
            NumCpu = vm.NumCpu,
            MemoryMB = vm.MemoryMB,
            IpAddress = IsExternal(vm) ? null : vm.IpAddress ?? SimulatedIpAddress(i),
        },
        (vm.GuestAccounts ?? [new GuestAccountOptions { Name = "root", Uid = 0 }, new GuestAccountOptions { Name = "demo", Uid = 1000 }])
            .Select(a => new GuestAccount(a.Name, a.Password ?? demoPassword, a.Uid)).ToArray(),
        vm.GuestCommandsEnabled,
        IsExternal(vm),
        Kerberos(vm),
        PowerState(vm),
        AgentSocket(vm),
        Tools(vm)));

    /// <summary>A VM's configured power state, in vSphere's terms (VirtualMachinePowerState).</summary>
    private static VmPowerState PowerState(VirtualMachineOptions vm) => vm.PowerState.Trim() switch
    {
        "" or "poweredOn" => VmPowerState.PoweredOn,
        "poweredOff" => VmPowerState.PoweredOff,
        _ => throw new GuestOpsConfigurationException($"GuestOps:VirtualMachines (VM {vm.Name}): PowerState '{vm.PowerState}' is not poweredOn or poweredOff."),
    };

    /// <summary>The default guest address of the simulated VM at <paramref name="index"/>: 192.0.2.11, .12, ... (TEST-NET-1,
    /// RFC 5737: addresses reserved for documentation), then 198.51.100.11, ... and 203.0.113.11, ...; beyond those, none.</summary>
    internal static string? SimulatedIpAddress(int index) => (index / 244) switch
    {
        0 => $"192.0.2.{11 + index}",
        1 => $"198.51.100.{11 + (index % 244)}",
        2 => $"203.0.113.{11 + (index % 244)}",
        _ => null,
    };

    /// <summary>A VM's Kerberos settings: both or neither; the keytab must exist.</summary>
    private static GuestKerberos? Kerberos(VirtualMachineOptions vm)
    {
        if (string.IsNullOrEmpty(vm.KerberosKeytab) && string.IsNullOrEmpty(vm.KerberosRealm))
        {
            return null;
        }

        if (string.IsNullOrEmpty(vm.KerberosKeytab) || string.IsNullOrWhiteSpace(vm.KerberosRealm))
        {
            throw new GuestOpsConfigurationException($"GuestOps:VirtualMachines (VM {vm.Name}): KerberosKeytab and KerberosRealm go together; set both or neither.");
        }

        if (!File.Exists(vm.KerberosKeytab))
        {
            throw new GuestOpsConfigurationException($"GuestOps:VirtualMachines (VM {vm.Name}): KerberosKeytab {vm.KerberosKeytab} does not exist.");
        }

        return new GuestKerberos(Path.GetFullPath(vm.KerberosKeytab), vm.KerberosRealm.Trim());
    }

    internal static HostAgentOptions HostAgentOptions(GuestOpsOptions options, bool anyLocalVm)
    {
        var workerPath = options.WorkerPath ?? Path.Combine(AppContext.BaseDirectory, "guestops-tools");
        var hasWorker = File.Exists(workerPath);
        IVmProvider? provider = options.Provider switch
        {
            "sandbox" when OperatingSystem.IsLinux() => Sandbox(options),
            QemuGuestAgentProvider when OperatingSystem.IsLinux() => File.Exists(SandboxVmProvider.DefaultQemuGuestAgentPath)
                ? Sandbox(options, SandboxVmProvider.DefaultQemuGuestAgentPath)
                : throw new GuestOpsConfigurationException($"GuestOps:Provider (GUESTOPS_PROVIDER) '{QemuGuestAgentProvider}' needs qemu-guest-agent ({SandboxVmProvider.DefaultQemuGuestAgentPath}; Debian package qemu-guest-agent)."),
            "process" => new ProcessVmProvider(),
            "auto" when hasWorker && OperatingSystem.IsLinux() && SandboxVmProvider.IsAvailable() => Sandbox(options),
            "auto" or "none" => null,
            _ => throw new GuestOpsConfigurationException($"GuestOps:Provider (GUESTOPS_PROVIDER) '{options.Provider}' is not one of sandbox, process, qemu-ga, none, auto."),
        };
        if (provider is not null && !hasWorker && anyLocalVm)
        {
            throw new GuestOpsConfigurationException($"GuestOps:WorkerPath (GUESTOPS_WORKER_PATH): the tools worker {workerPath} does not exist.");
        }

        if (OperatingSystem.IsLinux() && provider is SandboxVmProvider { UsesUserNamespace: true } && anyLocalVm)
        {
            StateDirectory.EnsureReachableByOthers(options.StateDirectory);
        }

        return new HostAgentOptions
        {
            StateDirectory = options.StateDirectory,
            Provider = provider,
            WorkerPath = workerPath,
            GuestCommandsEnabled = options.GuestCommandsEnabled,
            WorkerArguments = WorkerArguments(options),
            QemuGuestAgent = new GuestOps.Host.QemuGuestAgent.QemuGuestAgentOptions { CredentialCacheSeconds = options.GuestCredentialCacheSeconds },
            Dispatcher = new GuestOps.Host.Dispatch.VmDispatcherOptions { CallTimeout = options.GuestCallTimeout },
        };
    }

    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    private static SandboxVmProvider Sandbox(GuestOpsOptions options, string? qemuGuestAgentPath = null)
    {
        try
        {
            return new SandboxVmProvider(options.GuestIdRange, qemuGuestAgentPath: qemuGuestAgentPath);
        }
        catch (ArgumentException e)
        {
            throw new GuestOpsConfigurationException($"GuestOps:GuestIdRange: {e.Message}", e);
        }
    }

    /// <summary>Settings every VM's worker gets on its command line.</summary>
    private static List<string> WorkerArguments(GuestOpsOptions options)
    {
        var invariant = System.Globalization.CultureInfo.InvariantCulture;
        List<string> arguments = [];
        if (options.GuestCredentialCacheSeconds > 0)
        {
            arguments.AddRange(["--credential-cache-ttl", options.GuestCredentialCacheSeconds.ToString(invariant)]);
        }

        if (options.GuestTicketTimeout < TimeSpan.FromSeconds(1) || options.GuestTicketTimeout > TimeSpan.FromDays(7))
        {
            throw new GuestOpsConfigurationException($"GuestOps:GuestTicketTimeout '{options.GuestTicketTimeout}' must be between 00:00:01 and 7.00:00:00.");
        }

        arguments.AddRange(["--ticket-ttl", ((int)Math.Ceiling(options.GuestTicketTimeout.TotalSeconds)).ToString(invariant)]);
        return arguments;
    }

    /// <summary>A UUID derived from a name, so configured VMs keep their UUIDs across restarts.</summary>
    internal static string StableUuid(string name)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(name));
        hash[6] = (byte)((hash[6] & 0x0F) | 0x50);
        hash[8] = (byte)((hash[8] & 0x3F) | 0x80);
        return new Guid(hash.AsSpan(0, 16), bigEndian: true).ToString("D");
    }
}
