using System.Text.Json;
using System.Text.Json.Serialization;

namespace GuestOps.Channel.Messages;

/// <summary>
/// Times on the channel are numbers: 100-ns ticks since the Unix epoch, UTC. A listing carries two times per entry;
/// as numbers they cost a fraction of ISO 8601 text to write in the worker and to parse on the host, with the same
/// precision (.NET's tick).
/// </summary>
internal sealed class UnixTicksConverter : JsonConverter<DateTimeOffset>
{
    public override DateTimeOffset Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        reader.TokenType == JsonTokenType.Number
            ? FromTicks(reader.GetInt64())
            : throw new JsonException("A time must be a number of 100-ns ticks since the Unix epoch.");

    public override void Write(Utf8JsonWriter writer, DateTimeOffset value, JsonSerializerOptions options) =>
        writer.WriteNumberValue(ToTicks(value));

    public static long ToTicks(DateTimeOffset value) => value.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks;

    /// <exception cref="JsonException">The number is outside the range of <see cref="DateTimeOffset"/>.</exception>
    public static DateTimeOffset FromTicks(long ticks)
    {
        if (ticks < DateTimeOffset.MinValue.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks
            || ticks > DateTimeOffset.MaxValue.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks)
        {
            throw new JsonException("A time is out of range.");
        }

        return new DateTimeOffset(ticks + DateTimeOffset.UnixEpoch.UtcTicks, TimeSpan.Zero);
    }
}
