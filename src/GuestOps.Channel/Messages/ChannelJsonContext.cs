using System.Text.Json.Serialization;

namespace GuestOps.Channel.Messages;

/// <summary>
/// Source-generated serialization for every control message (NativeAOT-safe: no reflection). camelCase names,
/// nulls omitted, enums as their stable numbers.
/// </summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    GenerationMode = JsonSourceGenerationMode.Metadata)]
[JsonSerializable(typeof(ChannelHello))]
[JsonSerializable(typeof(ChannelRequest))]
[JsonSerializable(typeof(ChannelResponse))]
internal sealed partial class ChannelJsonContext : JsonSerializerContext
{
}
