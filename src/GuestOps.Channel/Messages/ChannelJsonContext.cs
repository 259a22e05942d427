using System.Text.Json.Serialization;

namespace GuestOps.Channel.Messages;

/// <summary>
/// Source-generated serialization for every control message (NativeAOT-safe: no reflection). camelCase names,
/// nulls omitted, enums as their stable numbers, times as 100-ns ticks since the Unix epoch (UTC).
/// </summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    GenerationMode = JsonSourceGenerationMode.Metadata,
    Converters = [typeof(UnixTicksConverter)])]
[JsonSerializable(typeof(ChannelHello))]
[JsonSerializable(typeof(ChannelRequest))]
[JsonSerializable(typeof(ChannelResponse))]
internal sealed partial class ChannelJsonContext : JsonSerializerContext
{
}
