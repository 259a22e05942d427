using GuestOps.Host;
using GuestOps.Host.Events;
using GuestOps.Host.Sessions;
using GuestOps.Host.Transfers;

namespace GuestOps.Cluster.Serialization;

// The host agent's records cross between the processes of a cluster (grain calls, grain state in the store) in
// Orleans' serialization format. GuestOps.Host knows nothing of Orleans: each record has a surrogate here and a
// converter that Orleans finds by [RegisterConverter]. Enums cross as their numbers.

[GenerateSerializer, Alias("GuestOps.SessionInfo")]
public struct SessionInfoSurrogate
{
    [Id(0)] public string Key;
    [Id(1)] public string UserName;
    [Id(2)] public string FullName;
    [Id(3)] public DateTime LoginTime;
    [Id(4)] public DateTime LastActiveTime;
    [Id(5)] public string? IpAddress;
    [Id(6)] public string? UserAgent;
    [Id(7)] public string Locale;
    [Id(8)] public long CallCount;
}

[RegisterConverter]
public sealed class SessionInfoConverter : IConverter<SessionInfo, SessionInfoSurrogate>
{
    public SessionInfo ConvertFromSurrogate(in SessionInfoSurrogate s) =>
        new(s.Key, s.UserName, s.FullName, s.LoginTime, s.LastActiveTime, s.IpAddress, s.UserAgent, s.Locale, s.CallCount);

    public SessionInfoSurrogate ConvertToSurrogate(in SessionInfo v) => new()
    {
        Key = v.Key,
        UserName = v.UserName,
        FullName = v.FullName,
        LoginTime = v.LoginTime,
        LastActiveTime = v.LastActiveTime,
        IpAddress = v.IpAddress,
        UserAgent = v.UserAgent,
        Locale = v.Locale,
        CallCount = v.CallCount,
    };
}

[GenerateSerializer, Alias("GuestOps.GuestFileTransfer")]
public struct GuestFileTransferSurrogate
{
    [Id(0)] public long Id;
    [Id(1)] public string VmId;
    [Id(2)] public int Direction;
    [Id(3)] public string GuestFilePath;
    [Id(4)] public string GuestUser;
    [Id(5)] public long Size;
    [Id(6)] public string Grant;
    [Id(7)] public DateTimeOffset Expires;
}

[RegisterConverter]
public sealed class GuestFileTransferConverter : IConverter<GuestFileTransfer, GuestFileTransferSurrogate>
{
    public GuestFileTransfer ConvertFromSurrogate(in GuestFileTransferSurrogate s) =>
        new(s.Id, s.VmId, (GuestFileTransferDirection)s.Direction, s.GuestFilePath, s.GuestUser, s.Size, s.Grant, s.Expires);

    public GuestFileTransferSurrogate ConvertToSurrogate(in GuestFileTransfer v) => new()
    {
        Id = v.Id,
        VmId = v.VmId,
        Direction = (int)v.Direction,
        GuestFilePath = v.GuestFilePath,
        GuestUser = v.GuestUser,
        Size = v.Size,
        Grant = v.Grant,
        Expires = v.Expires,
    };
}

[GenerateSerializer, Alias("GuestOps.TransferCheck")]
public struct TransferCheckSurrogate
{
    [Id(0)] public int Result;
    [Id(1)] public GuestFileTransfer? Transfer;
}

[RegisterConverter]
public sealed class TransferCheckConverter : IConverter<TransferCheck, TransferCheckSurrogate>
{
    public TransferCheck ConvertFromSurrogate(in TransferCheckSurrogate s) => new((GuestFileTransferCheck)s.Result, s.Transfer);

    public TransferCheckSurrogate ConvertToSurrogate(in TransferCheck v) => new() { Result = (int)v.Result, Transfer = v.Transfer };
}

[GenerateSerializer, Alias("GuestOps.EventEntity")]
public struct EventEntitySurrogate
{
    [Id(0)] public string Type;
    [Id(1)] public string Id;
    [Id(2)] public string Name;
}

[RegisterConverter]
public sealed class EventEntityConverter : IConverter<EventEntity, EventEntitySurrogate>
{
    public EventEntity ConvertFromSurrogate(in EventEntitySurrogate s) => new(s.Type, s.Id, s.Name);

    public EventEntitySurrogate ConvertToSurrogate(in EventEntity v) => new() { Type = v.Type, Id = v.Id, Name = v.Name };
}

[GenerateSerializer, Alias("GuestOps.EventKeyValue")]
public struct EventKeyValueSurrogate
{
    [Id(0)] public string Key;
    [Id(1)] public string Value;
}

[RegisterConverter]
public sealed class EventKeyValueConverter : IConverter<EventKeyValue, EventKeyValueSurrogate>
{
    public EventKeyValue ConvertFromSurrogate(in EventKeyValueSurrogate s) => new(s.Key, s.Value);

    public EventKeyValueSurrogate ConvertToSurrogate(in EventKeyValue v) => new() { Key = v.Key, Value = v.Value };
}

[GenerateSerializer, Alias("GuestOps.EventFault")]
public struct EventFaultSurrogate
{
    [Id(0)] public string Type;
    [Id(1)] public string LocalizedMessage;
    [Id(2)] public string Detail;
}

[RegisterConverter]
public sealed class EventFaultConverter : IConverter<EventFault, EventFaultSurrogate>
{
    public EventFault ConvertFromSurrogate(in EventFaultSurrogate s) => new(s.Type, s.LocalizedMessage, s.Detail);

    public EventFaultSurrogate ConvertToSurrogate(in EventFault v) => new() { Type = v.Type, LocalizedMessage = v.LocalizedMessage, Detail = v.Detail };
}

[GenerateSerializer, Alias("GuestOps.EventRecord")]
public struct EventRecordSurrogate
{
    [Id(0)] public int Key;
    [Id(1)] public DateTime CreatedTime;
    [Id(2)] public string UserName;
    [Id(3)] public string TypeId;
    [Id(4)] public string Severity;
    [Id(5)] public string Message;
    [Id(6)] public EventEntity? Datacenter;
    [Id(7)] public EventEntity? Vm;
    [Id(8)] public EventKeyValue[] Arguments;
    [Id(9)] public EventFault? Fault;
}

[RegisterConverter]
public sealed class EventRecordConverter : IConverter<EventRecord, EventRecordSurrogate>
{
    public EventRecord ConvertFromSurrogate(in EventRecordSurrogate s) =>
        new(s.Key, s.CreatedTime, s.UserName, s.TypeId, s.Severity, s.Message, s.Datacenter, s.Vm, s.Arguments ?? [], s.Fault);

    public EventRecordSurrogate ConvertToSurrogate(in EventRecord v) => new()
    {
        Key = v.Key,
        CreatedTime = v.CreatedTime,
        UserName = v.UserName,
        TypeId = v.TypeId,
        Severity = v.Severity,
        Message = v.Message,
        Datacenter = v.Datacenter,
        Vm = v.Vm,
        Arguments = [.. v.Arguments],
        Fault = v.Fault,
    };
}

[GenerateSerializer, Alias("GuestOps.VmConfiguration")]
public struct VmConfigurationSurrogate
{
    [Id(0)] public string Id;
    [Id(1)] public string Name;
    [Id(2)] public string Uuid;
    [Id(3)] public string InstanceUuid;
    [Id(4)] public string GuestId;
    [Id(5)] public string GuestFullName;
    [Id(6)] public int NumCpu;
    [Id(7)] public int MemoryMB;
    [Id(8)] public string? IpAddress;
}

[RegisterConverter]
public sealed class VmConfigurationConverter : IConverter<VmConfiguration, VmConfigurationSurrogate>
{
    /// <summary>The guest type's strings, the same for most VMs, are kept once (interned).</summary>
    public VmConfiguration ConvertFromSurrogate(in VmConfigurationSurrogate s) => new()
    {
        Id = s.Id,
        Name = s.Name,
        Uuid = s.Uuid,
        InstanceUuid = s.InstanceUuid,
        GuestId = string.Intern(s.GuestId),
        GuestFullName = string.Intern(s.GuestFullName),
        NumCpu = s.NumCpu,
        MemoryMB = s.MemoryMB,
        IpAddress = s.IpAddress,
    };

    public VmConfigurationSurrogate ConvertToSurrogate(in VmConfiguration v) => new()
    {
        Id = v.Id,
        Name = v.Name,
        Uuid = v.Uuid,
        InstanceUuid = v.InstanceUuid,
        GuestId = v.GuestId,
        GuestFullName = v.GuestFullName,
        NumCpu = v.NumCpu,
        MemoryMB = v.MemoryMB,
        IpAddress = v.IpAddress,
    };
}

[GenerateSerializer, Alias("GuestOps.GuestAgentState")]
public struct GuestAgentStateSurrogate
{
    [Id(0)] public bool Running;
    [Id(1)] public bool OperationsReady;
    [Id(2)] public string? ToolsVersion;
    [Id(3)] public string? HostName;
    [Id(4)] public string? IpAddress;
    [Id(5)] public string? GuestFamily;
    [Id(6)] public string? GuestFullName;
    [Id(7)] public string? ToolsVersionStatus;
    [Id(8)] public string? ToolsRunningStatus;
}

[RegisterConverter]
public sealed class GuestAgentStateConverter : IConverter<GuestAgentState, GuestAgentStateSurrogate>
{
    /// <summary>A guest without a running agent is the shared <see cref="GuestAgentState.NotRunning"/>: most VMs of a large
    /// inventory have no tools, and a front end keeps one instance for all of them.</summary>
    public GuestAgentState ConvertFromSurrogate(in GuestAgentStateSurrogate s) =>
        s is { Running: false, OperationsReady: false, ToolsVersion: null, HostName: null, IpAddress: null, GuestFamily: null, GuestFullName: null, ToolsVersionStatus: null, ToolsRunningStatus: null }
            ? GuestAgentState.NotRunning
            : new()
            {
                Running = s.Running,
                OperationsReady = s.OperationsReady,
                ToolsVersion = s.ToolsVersion,
                HostName = s.HostName,
                IpAddress = s.IpAddress,
                GuestFamily = s.GuestFamily,
                GuestFullName = s.GuestFullName,
                ToolsVersionStatus = s.ToolsVersionStatus,
                ToolsRunningStatus = s.ToolsRunningStatus,
            };

    public GuestAgentStateSurrogate ConvertToSurrogate(in GuestAgentState v) => new()
    {
        Running = v.Running,
        OperationsReady = v.OperationsReady,
        ToolsVersion = v.ToolsVersion,
        HostName = v.HostName,
        IpAddress = v.IpAddress,
        GuestFamily = v.GuestFamily,
        GuestFullName = v.GuestFullName,
        ToolsVersionStatus = v.ToolsVersionStatus,
        ToolsRunningStatus = v.ToolsRunningStatus,
    };
}

[GenerateSerializer, Alias("GuestOps.VmSnapshot")]
public struct VmSnapshotSurrogate
{
    [Id(0)] public VmConfiguration Configuration;
    [Id(1)] public int PowerState;
    [Id(2)] public DateTime? BootTime;
    [Id(3)] public GuestAgentState Agent;
}

[RegisterConverter]
public sealed class VmSnapshotConverter : IConverter<VmSnapshot, VmSnapshotSurrogate>
{
    public VmSnapshot ConvertFromSurrogate(in VmSnapshotSurrogate s) => new(s.Configuration, (VmPowerState)s.PowerState, s.BootTime, s.Agent);

    public VmSnapshotSurrogate ConvertToSurrogate(in VmSnapshot v) => new()
    {
        Configuration = v.Configuration,
        PowerState = (int)v.PowerState,
        BootTime = v.BootTime,
        Agent = v.Agent,
    };
}
