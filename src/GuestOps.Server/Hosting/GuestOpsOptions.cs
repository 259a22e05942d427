namespace GuestOps.Server;

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

    /// <summary>Where users, the certificate and VM state live. Default: the user's local data folder + guestops.</summary>
    public string StateDirectory { get; set; } = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.Create), "guestops");

    /// <summary>Initial password of <c>root</c> when no user exists yet; random (printed once) when unset.</summary>
    public string? RootPassword { get; set; }

    /// <summary>A PFX certificate to serve; default: a self-signed one created in the state directory.</summary>
    public string? CertificatePath { get; set; }

    public string? CertificatePassword { get; set; }

    /// <summary>Sessions idle for longer than this end (vSphere's default is 30 minutes).</summary>
    public TimeSpan SessionIdleTimeout { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>Largest SOAP request body accepted; larger ones get HTTP 413.</summary>
    public long MaxSoapRequestBytes { get; set; } = 16 * 1024 * 1024;

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
}
