namespace GuestOps.Host;

/// <summary>How a VM is defined: identity and virtual hardware. Immutable; the host agent owns it.</summary>
public sealed record VmConfiguration
{
    /// <summary>Stable id, also the managed object id the front end shows (e.g. <c>vm-1</c>).</summary>
    public required string Id { get; init; }

    public required string Name { get; init; }

    /// <summary>BIOS UUID (<c>config.uuid</c>).</summary>
    public required string Uuid { get; init; }

    public required string InstanceUuid { get; init; }

    public string GuestId { get; init; } = "otherLinux64Guest";

    public string GuestFullName { get; init; } = "Other Linux (64-bit)";

    public int NumCpu { get; init; } = 1;

    public int MemoryMB { get; init; } = 512;
}

public enum VmPowerState
{
    PoweredOff,
    PoweredOn,
    Suspended,
}

/// <summary>What the in-guest tools worker last reported, and whether guest operations can reach it now.</summary>
public sealed record GuestAgentState
{
    public static readonly GuestAgentState NotRunning = new();

    public bool Running { get; init; }

    public bool OperationsReady { get; init; }

    public string? ToolsVersion { get; init; }

    public string? HostName { get; init; }

    public string? IpAddress { get; init; }

    /// <summary>vSphere guest family, e.g. <c>linuxGuest</c>.</summary>
    public string? GuestFamily { get; init; }

    public string? GuestFullName { get; init; }

    /// <summary><c>guest.toolsVersionStatus</c> when the provider knows better than "running means current" (qemu-ga: the
    /// agent runs but the tools could not be pushed); null: derived from <see cref="Running"/>.</summary>
    public string? ToolsVersionStatus { get; init; }

    /// <summary><c>guest.toolsRunningStatus</c> likewise; null: derived from <see cref="Running"/>.</summary>
    public string? ToolsRunningStatus { get; init; }
}

/// <summary>One VM as the host agent reports it at a moment: immutable, safe to hand across a process boundary.</summary>
public sealed record VmSnapshot(VmConfiguration Configuration, VmPowerState PowerState, DateTime? BootTime, GuestAgentState Agent);
