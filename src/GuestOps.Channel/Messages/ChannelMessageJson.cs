using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace GuestOps.Channel.Messages;

/// <summary>
/// The JSON of requests and responses outside a channel frame: the one-shot worker (<c>guestops-tools --exec</c>) reads
/// one request from its stdin and writes one response to its stdout, and the host side that runs it (qemu-ga) writes
/// and reads them. Same source-generated contract as the frames, so NativeAOT-safe.
/// </summary>
public static class ChannelMessageJson
{
    public static byte[] SerializeRequest(ChannelRequest request) =>
        JsonSerializer.SerializeToUtf8Bytes(request, ChannelJsonContext.Default.ChannelRequest);

    /// <summary>The request, or null when the JSON is not one (bad syntax, unknown operation tag).</summary>
    public static ChannelRequest? DeserializeRequest(ReadOnlySpan<byte> json) => Deserialize(json, ChannelJsonContext.Default.ChannelRequest);

    public static byte[] SerializeResponse(ChannelResponse response) =>
        JsonSerializer.SerializeToUtf8Bytes(response, ChannelJsonContext.Default.ChannelResponse);

    /// <summary>The response, or null when the JSON is not one.</summary>
    public static ChannelResponse? DeserializeResponse(ReadOnlySpan<byte> json) => Deserialize(json, ChannelJsonContext.Default.ChannelResponse);

    /// <summary>The response a peer sent as <paramref name="json"/>, as the caller of a channel request gets it: an
    /// unreadable one (a newer peer's result type this build does not know, or not JSON) or an empty one as an
    /// <see cref="GuestErrorCode.InternalError"/> failure.</summary>
    public static ChannelResponse ReadResponse(ReadOnlySpan<byte> json)
    {
        try
        {
            return JsonSerializer.Deserialize(json, ChannelJsonContext.Default.ChannelResponse) ?? ChannelResponse.Failure(GuestErrorCode.InternalError, "Empty response.");
        }
        catch (Exception ex) when (ex is JsonException or NotSupportedException)
        {
            return ChannelResponse.Failure(GuestErrorCode.InternalError, $"Unreadable response: {ex.Message}");
        }
    }

    private static T? Deserialize<T>(ReadOnlySpan<byte> json, JsonTypeInfo<T> type)
        where T : class
    {
        try
        {
            return JsonSerializer.Deserialize(json, type);
        }
        catch (Exception e) when (e is JsonException or NotSupportedException)
        {
            return null;
        }
    }
}
