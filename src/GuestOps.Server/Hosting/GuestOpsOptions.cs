namespace GuestOps.Server.Hosting;

/// <summary>
/// Server settings: section <c>GuestOps</c> of appsettings.json, environment variables (<c>GUESTOPS_URLS</c>,
/// <c>GUESTOPS_STATE_DIR</c>, <c>GUESTOPS_ROOT_PASSWORD</c>, or <c>GuestOps__Name</c>) and the command line
/// (<c>--urls</c>, <c>--state-dir</c>, or <c>--GuestOps:Name=value</c>).
/// </summary>
public sealed class GuestOpsOptions
{
    public const string Section = "GuestOps";

    /// <summary>Listen URLs separated by <c>;</c>. Default: HTTPS on port 443 on all interfaces, like ESXi.</summary>
    public string Urls { get; set; } = "https://*:443";

    /// <summary>Where users, the certificate and VM state live. Default: <c>/var/lib/guestops</c> for root (the VM
    /// sandboxes run as unprivileged host ids and must be able to traverse to it), else the user's local data folder.</summary>
    public string StateDirectory { get; set; } = OperatingSystem.IsLinux() && Environment.UserName == "root"
        ? "/var/lib/guestops"
        : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.Create), "guestops");

    /// <summary>Initial password of <c>root</c> when no user exists yet; random (printed once) when unset.</summary>
    public string? RootPassword { get; set; }

    /// <summary>A PFX certificate to serve; default: a self-signed one created in the state directory.</summary>
    public string? CertificatePath { get; set; }

    public string? CertificatePassword { get; set; }

    /// <summary>Sessions idle for longer than this end (vSphere's default is 30 minutes).</summary>
    public TimeSpan SessionIdleTimeout { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>Consecutive failed vSphere logins of one user from one client address after which its logins are refused
    /// for <see cref="LoginLockoutTime"/> (ESXi's <c>Security.AccountLockFailures</c>, 5); 0 turns the lockout off.</summary>
    public int LoginFailureLimit { get; set; } = 5;

    /// <summary>How long a locked-out login stays refused after its last failure (ESXi's <c>Security.AccountUnlockTime</c>).</summary>
    public TimeSpan LoginLockoutTime { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>Largest SOAP request body accepted; larger ones get HTTP 413.</summary>
    public long MaxSoapRequestBytes { get; set; } = 16 * 1024 * 1024;

    /// <summary>A too-large SOAP request (see <see cref="MaxSoapRequestBytes"/>) up to this size is read to its end and
    /// discarded after the 413, so that clients that send the whole body before reading the answer (Python's http.client,
    /// which pyVmomi uses) read the 413; then the connection closes. A larger one is not read: the connection closes.</summary>
    public long MaxDiscardedSoapRequestBytes { get; set; } = 128 * 1024 * 1024;

    /// <summary>How long discarding a too-large SOAP request (<see cref="MaxDiscardedSoapRequestBytes"/>) may take before
    /// the connection is closed anyway.</summary>
    public TimeSpan DiscardedSoapRequestTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How VMs are powered on: <c>sandbox</c> (bubblewrap), <c>process</c> (no isolation), <c>qemu-ga</c> (a bubblewrap
    /// sandbox whose only agent is Debian's qemu-guest-agent: the tools are pushed through it), <c>none</c> (no guest
    /// agent), or <c>auto</c>: sandbox when bubblewrap and the worker binary are present, else none.</summary>
    public string Provider { get; set; } = "auto";

    /// <summary>Host ids of the sandboxes' user namespaces (provider sandbox): <c>auto</c> (root's largest range in
    /// /etc/subuid and /etc/subgid when uidmap is installed, else no user namespace), <c>none</c>, or <c>START:COUNT</c>
    /// within root's subordinate ranges. A change is repaired at the next power-on: guest files move to the new ids.</summary>
    public string GuestIdRange { get; set; } = "auto";

    /// <summary>The guestops-tools binary run in each guest; default: <c>guestops-tools</c> next to the server.</summary>
    public string? WorkerPath { get; set; }

    /// <summary>Password of the demo guest accounts (<c>root</c>, <c>demo</c>); random and printed at start when unset.</summary>
    public string? DemoGuestPassword { get; set; }

    /// <summary>Host-wide <c>guest.commands.enabled</c>: false refuses every guest operation with OperationDisabledByGuest.</summary>
    public bool GuestCommandsEnabled { get; set; } = true;

    /// <summary>Seconds the worker may reuse a verified guest password without asking PAM again (keyed by an HMAC
    /// with a per-process secret; the password itself is never kept). 0 turns the cache off.</summary>
    public int GuestCredentialCacheSeconds { get; set; }

    /// <summary>How long a file-transfer URL from InitiateFileTransferToGuest / FromGuest stays valid (ESXi: 10 minutes).</summary>
    public TimeSpan FileTransferLifetime { get; set; } = GuestOps.Host.Transfers.TransferTokens.DefaultLifetime;

    /// <summary>Strict mode: guest operations also need VirtualMachine.Interact.GuestControl on the VM, besides their
    /// VirtualMachine.GuestOperations privilege (the vSphere Web Services API Reference lists only the latter).</summary>
    public bool GuestOperationsRequireGuestControl { get; set; }

    /// <summary>How many events (the guest-operation audit trail) are kept for EventManager.QueryEvents; the oldest go first.</summary>
    public int MaxEvents { get; set; } = 10_000;

    /// <summary>Deadline of one guest operation.</summary>
    public TimeSpan GuestCallTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>A guest ticket (TicketedSessionAuthentication from an SSPI logon) unused for this long expires in the guest.</summary>
    public TimeSpan GuestTicketTimeout { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>The worker listener for VMs with provider <c>external</c>: <c>tcp://ADDRESS:PORT</c> (e.g.
    /// <c>tcp://0.0.0.0:8902</c>; ADDRESS an IP, <c>*</c>, <c>0.0.0.0</c>, <c>[::]</c> or <c>localhost</c>). TLS with the host
    /// agent's own CA; workers enroll and connect here. Off when unset.</summary>
    public string? WorkerListenUrl { get; set; }

    /// <summary>The address enrollment bundles tell workers to connect to (<c>HOST:PORT</c> or <c>tcp:HOST:PORT</c>), and a
    /// name the listener's certificate carries. Default: the WorkerListenUrl's address, or this machine's host name when
    /// it listens on every address.</summary>
    public string? WorkerAdvertisedAddress { get; set; }

    /// <summary>What this process is in a cluster: <c>all</c> (default), <c>frontend</c> or <c>hostagent</c>.</summary>
    public string Role { get; set; } = "all";

    /// <summary>The cluster's membership store, <c>redis://HOST:PORT</c>; unset: the single process, no cluster.</summary>
    public string? Cluster { get; set; }

    /// <summary>The name of this host agent's HostSystem in a cluster; default: the machine's name.</summary>
    public string? HostName { get; set; }

    /// <summary>Names of the demo VMs (<c>a,b,c</c>), in place of <see cref="VirtualMachines"/>; unset: those.</summary>
    public string? DemoVms { get; set; }

    /// <summary>This many more VMs without tools (per-VM provider <c>none</c>), named <c>notools-1</c> ... (in a cluster
    /// <c>HOST-notools-1</c> ...), after the others: inventory at scale without a worker per VM.</summary>
    public int VmsWithoutTools { get; set; }

    /// <summary>For benchmarks only: this many more VMs with per-VM provider <c>echo</c> (their dispatcher answers
    /// ValidateCredentialsInGuest and ListFilesInGuest itself), named <c>echo-1</c> ... (<c>HOST-echo-1</c> ...).</summary>
    public int EchoVms { get; set; }

    /// <summary>Where a cluster's transfer URLs point: <c>hostagent</c> (default: the host agent that runs the VM) or
    /// <c>frontend</c> (the front end the client called, which streams the bytes through to the host agent).</summary>
    public string Transfers { get; set; } = "hostagent";

    /// <summary>The VMs of the embedded host agent.</summary>
    public List<VirtualMachineOptions> VirtualMachines { get; set; } = [];

    /// <summary>Flat environment variables documented in the README, mapped onto this section.</summary>
    public static readonly IReadOnlyDictionary<string, string> EnvironmentVariables = new Dictionary<string, string>
    {
        ["GUESTOPS_URLS"] = $"{Section}:{nameof(Urls)}",
        ["GUESTOPS_STATE_DIR"] = $"{Section}:{nameof(StateDirectory)}",
        ["GUESTOPS_ROOT_PASSWORD"] = $"{Section}:{nameof(RootPassword)}",
        ["GUESTOPS_CERTIFICATE_PATH"] = $"{Section}:{nameof(CertificatePath)}",
        ["GUESTOPS_CERTIFICATE_PASSWORD"] = $"{Section}:{nameof(CertificatePassword)}",
        ["GUESTOPS_SESSION_IDLE_TIMEOUT"] = $"{Section}:{nameof(SessionIdleTimeout)}",
        ["GUESTOPS_PROVIDER"] = $"{Section}:{nameof(Provider)}",
        ["GUESTOPS_WORKER_PATH"] = $"{Section}:{nameof(WorkerPath)}",
        ["GUESTOPS_DEMO_GUEST_PASSWORD"] = $"{Section}:{nameof(DemoGuestPassword)}",
        ["GUESTOPS_WORKER_LISTEN_URL"] = $"{Section}:{nameof(WorkerListenUrl)}",
        ["GUESTOPS_WORKER_ADVERTISED_ADDRESS"] = $"{Section}:{nameof(WorkerAdvertisedAddress)}",
        ["GUESTOPS_FILE_TRANSFER_LIFETIME"] = $"{Section}:{nameof(FileTransferLifetime)}",
        ["GUESTOPS_ROLE"] = $"{Section}:{nameof(Role)}",
        ["GUESTOPS_CLUSTER"] = $"{Section}:{nameof(Cluster)}",
        ["GUESTOPS_HOST_NAME"] = $"{Section}:{nameof(HostName)}",
        ["GUESTOPS_DEMO_VMS"] = $"{Section}:{nameof(DemoVms)}",
        ["GUESTOPS_VMS_WITHOUT_TOOLS"] = $"{Section}:{nameof(VmsWithoutTools)}",
        ["GUESTOPS_ECHO_VMS"] = $"{Section}:{nameof(EchoVms)}",
        ["GUESTOPS_TRANSFERS"] = $"{Section}:{nameof(Transfers)}",
    };

    /// <summary>Command-line switches.</summary>
    public static readonly IDictionary<string, string> CommandLineSwitches = new Dictionary<string, string>
    {
        ["--urls"] = $"{Section}:{nameof(Urls)}",
        ["--state-dir"] = $"{Section}:{nameof(StateDirectory)}",
    };
}

/// <summary>One configured VM. Only the name is required; ids and UUIDs derive from it and stay stable.</summary>
public sealed class VirtualMachineOptions
{
    public string Name { get; set; } = "";

    public string? Id { get; set; }

    public string? Uuid { get; set; }

    public string? InstanceUuid { get; set; }

    public string GuestId { get; set; } = "otherLinux64Guest";

    public string GuestFullName { get; set; } = "Other Linux (64-bit)";

    public int NumCpu { get; set; } = 1;

    public int MemoryMB { get; set; } = 512;

    /// <summary>The guest IP address a simulated VM reports (guest.ipAddress); default 192.0.2.11 for the first VM, .12 for
    /// the second, ... (documentation addresses). External VMs report their own.</summary>
    public string? IpAddress { get; set; }

    /// <summary>Per-VM provider: unset for the host-wide <c>GuestOps:Provider</c>; <c>external</c>: no process is
    /// started; the VM's worker runs in a real VM, enrolls (<c>GuestOps.Server enroll --vm NAME</c>) and connects to
    /// <c>GuestOps:WorkerListenUrl</c>; <c>qemu-ga</c>: no process is started; the VM (libvirt, Proxmox, plain QEMU) runs
    /// qemu-guest-agent on the channel <see cref="AgentSocket"/>, and the host agent pushes the tools through it; <c>none</c>:
    /// no tools in the guest (guest operations answer GuestOperationsUnavailable); <c>echo</c>, for benchmarks only: no
    /// guest, the VM's dispatcher answers ValidateCredentialsInGuest and ListFilesInGuest itself.</summary>
    public string? Provider { get; set; }

    /// <summary><c>runtime.powerState</c> the VM is kept in: <c>poweredOn</c> (default) or <c>poweredOff</c> (no guest is
    /// started; guest operations answer <c>InvalidPowerState</c>).</summary>
    public string PowerState { get; set; } = "poweredOn";

    /// <summary>Provider <c>qemu-ga</c>: the host's unix socket of the VM's QGA channel (libvirt's
    /// <c>/var/lib/libvirt/qemu/channel/target/domain-N-NAME/org.qemu.guest_agent.0</c>, or any <c>-chardev socket</c>).</summary>
    public string? AgentSocket { get; set; }

    /// <summary>Per-VM <c>guest.commands.enabled</c>.</summary>
    public bool GuestCommandsEnabled { get; set; } = true;

    /// <summary>Guest accounts; default <c>root</c> (uid 0) and <c>demo</c> (uid 1000) with the demo password.</summary>
    public List<GuestAccountOptions>? GuestAccounts { get; set; }

    /// <summary>Kerberos SSPI logons (sandbox and process providers): a keytab on the host with this guest's service
    /// keys (e.g. <c>host/NAME@REALM</c>); copied into the guest at every power-on. Needs <see cref="KerberosRealm"/>.
    /// Unset: the guest accepts NTLM only.</summary>
    public string? KerberosKeytab { get; set; }

    /// <summary>The realm whose users log on to this guest with Kerberos: <c>user@REALM</c> maps to the guest account
    /// <c>user</c> (exact case).</summary>
    public string? KerberosRealm { get; set; }
}

public sealed class GuestAccountOptions
{
    public string Name { get; set; } = "";

    /// <summary>Default: the demo guest password.</summary>
    public string? Password { get; set; }

    public int Uid { get; set; } = 1000;
}
