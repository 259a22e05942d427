namespace GuestOps.Vim;

public enum VirtualMachinePowerState
{
    [XmlEnum("poweredOff")] PoweredOff,
    [XmlEnum("poweredOn")] PoweredOn,
    [XmlEnum("suspended")] Suspended,
}

public enum VirtualMachineConnectionState
{
    [XmlEnum("connected")] Connected,
    [XmlEnum("disconnected")] Disconnected,
    [XmlEnum("orphaned")] Orphaned,
    [XmlEnum("inaccessible")] Inaccessible,
    [XmlEnum("invalid")] Invalid,
}

public enum VirtualMachineToolsStatus
{
    [XmlEnum("toolsNotInstalled")] ToolsNotInstalled,
    [XmlEnum("toolsNotRunning")] ToolsNotRunning,
    [XmlEnum("toolsOld")] ToolsOld,
    [XmlEnum("toolsOk")] ToolsOk,
}

public enum ManagedEntityStatus
{
    [XmlEnum("gray")] Gray,
    [XmlEnum("green")] Green,
    [XmlEnum("yellow")] Yellow,
    [XmlEnum("red")] Red,
}

public sealed class VirtualMachineRuntimeInfo : DynamicData
{
    public ManagedObjectReference? host { get; set; }
    public VirtualMachineConnectionState connectionState { get; set; }
    public VirtualMachinePowerState powerState { get; set; }
    public bool toolsInstallerMounted { get; set; }
    public DateTime? bootTime { get; set; }
    public bool ShouldSerializebootTime() => bootTime.HasValue;
    public int numMksConnections { get; set; }
}

public sealed class VirtualMachineConfigInfo : DynamicData
{
    public string changeVersion { get; set; } = "";
    public DateTime modified { get; set; }
    public string name { get; set; } = "";
    public string guestFullName { get; set; } = "";
    public string version { get; set; } = "";
    public string uuid { get; set; } = "";
    public string? instanceUuid { get; set; }
    public bool template { get; set; }
    public string guestId { get; set; } = "";
    public string alternateGuestName { get; set; } = "";
    public string? annotation { get; set; }
    public VirtualMachineFileInfo files { get; set; } = new();
    public VirtualMachineFlagInfo flags { get; set; } = new();
    public VirtualMachineDefaultPowerOpInfo defaultPowerOps { get; set; } = new();
    public VirtualHardware hardware { get; set; } = new();
}

public sealed class VirtualMachineFileInfo : DynamicData
{
    public string? vmPathName { get; set; }
    public string? snapshotDirectory { get; set; }
    public string? suspendDirectory { get; set; }
    public string? logDirectory { get; set; }
}

public sealed class VirtualMachineFlagInfo : DynamicData
{
    public bool? disableAcceleration { get; set; }
    public bool ShouldSerializedisableAcceleration() => disableAcceleration.HasValue;
    public bool? enableLogging { get; set; }
    public bool ShouldSerializeenableLogging() => enableLogging.HasValue;
}

public sealed class VirtualMachineDefaultPowerOpInfo : DynamicData
{
    public string? powerOffType { get; set; }
    public string? suspendType { get; set; }
    public string? resetType { get; set; }
    public string? defaultPowerOffType { get; set; }
    public string? defaultSuspendType { get; set; }
    public string? defaultResetType { get; set; }
    public string? standbyAction { get; set; }
}

public sealed class VirtualHardware : DynamicData
{
    public int numCPU { get; set; }
    public int? numCoresPerSocket { get; set; }
    public bool ShouldSerializenumCoresPerSocket() => numCoresPerSocket.HasValue;
    public int memoryMB { get; set; }
}

public sealed class VirtualMachineSummary : DynamicData
{
    public ManagedObjectReference? vm { get; set; }
    public VirtualMachineRuntimeInfo runtime { get; set; } = new();
    public VirtualMachineGuestSummary? guest { get; set; }
    public VirtualMachineConfigSummary config { get; set; } = new();
    public VirtualMachineQuickStats quickStats { get; set; } = new();
    public ManagedEntityStatus overallStatus { get; set; }
}

public sealed class VirtualMachineConfigSummary : DynamicData
{
    public string name { get; set; } = "";
    public bool template { get; set; }
    public string vmPathName { get; set; } = "";
    public int? memorySizeMB { get; set; }
    public bool ShouldSerializememorySizeMB() => memorySizeMB.HasValue;
    public int? numCpu { get; set; }
    public bool ShouldSerializenumCpu() => numCpu.HasValue;
    public string? uuid { get; set; }
    public string? instanceUuid { get; set; }
    public string? guestId { get; set; }
    public string? guestFullName { get; set; }
}

public sealed class VirtualMachineGuestSummary : DynamicData
{
    public string? guestId { get; set; }
    public string? guestFullName { get; set; }
    public VirtualMachineToolsStatus? toolsStatus { get; set; }
    public bool ShouldSerializetoolsStatus() => toolsStatus.HasValue;
    public string? toolsVersionStatus { get; set; }
    public string? toolsVersionStatus2 { get; set; }
    public string? toolsRunningStatus { get; set; }
    public string? hostName { get; set; }
    public string? ipAddress { get; set; }
}

public sealed class VirtualMachineQuickStats : DynamicData
{
    public ManagedEntityStatus guestHeartbeatStatus { get; set; }
    public int? uptimeSeconds { get; set; }
    public bool ShouldSerializeuptimeSeconds() => uptimeSeconds.HasValue;
}

/// <summary>The VM's <c>guest</c> property: what VMware Tools reports (field order as in the WSDL).</summary>
public sealed class GuestInfo : DynamicData
{
    public VirtualMachineToolsStatus? toolsStatus { get; set; }
    public bool ShouldSerializetoolsStatus() => toolsStatus.HasValue;
    public string? toolsVersionStatus { get; set; }
    public string? toolsVersionStatus2 { get; set; }
    public string? toolsRunningStatus { get; set; }
    public string? toolsVersion { get; set; }
    /// <summary>Added after vSphere 5.x; govc reads it before guest.run.</summary>
    public string? toolsInstallType { get; set; }
    public string? guestId { get; set; }
    public string? guestFamily { get; set; }
    public string? guestFullName { get; set; }
    public string? hostName { get; set; }
    public string? ipAddress { get; set; }
    public string guestState { get; set; } = "notRunning";
    public bool? guestOperationsReady { get; set; }
    public bool ShouldSerializeguestOperationsReady() => guestOperationsReady.HasValue;
    public bool? interactiveGuestOperationsReady { get; set; }
    public bool ShouldSerializeinteractiveGuestOperationsReady() => interactiveGuestOperationsReady.HasValue;
}
