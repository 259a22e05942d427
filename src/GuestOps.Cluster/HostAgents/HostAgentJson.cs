using System.Text.Json;
using System.Text.Json.Serialization;
using GuestOps.Host;

namespace GuestOps.Cluster.HostAgents;

/// <summary>The JSON of a host agent's VM snapshots as they cross from its grain to the front ends.</summary>
public static class HostAgentJson
{
    public static byte[] Serialize(IReadOnlyList<VmSnapshot> vms) =>
        JsonSerializer.SerializeToUtf8Bytes(vms.ToArray(), HostAgentJsonContext.Default.VmSnapshotArray);

    public static VmSnapshot[] Deserialize(ReadOnlySpan<byte> json) =>
        JsonSerializer.Deserialize(json, HostAgentJsonContext.Default.VmSnapshotArray) ?? [];
}

[JsonSerializable(typeof(VmSnapshot[]))]
internal sealed partial class HostAgentJsonContext : JsonSerializerContext;
