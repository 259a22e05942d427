using System.Text.Json;
using System.Text.Json.Serialization;

namespace GuestOps.Channel.Messages;

/// <summary>
/// The wire form of <see cref="GuestFileEntry"/>, written and read by hand: the same JSON the source-generated
/// metadata produced (camelCase names, nulls omitted, the type as its number, times as <see cref="UnixTicksConverter"/>
/// ticks), without its slow path. A record with init-only and required members is read by System.Text.Json's
/// parameterized-constructor converter, which caches every member as a boxed constructor argument; for a listing that
/// was the largest cost of reading a worker's answer on the host (a fifth of the host's CPU per ListFilesInGuest call).
/// Unknown members are skipped, as the generated reader does, so a newer worker may add some.
/// </summary>
internal sealed class GuestFileEntryConverter : JsonConverter<GuestFileEntry>
{
    public override GuestFileEntry Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw new JsonException("A file entry must be an object.");
        }

        string? name = null;
        string? symlinkTarget = null;
        var type = GuestFileType.File;
        long size = 0;
        uint mode = 0, uid = 0, gid = 0;
        DateTimeOffset accessTime = default, modificationTime = default;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("name"u8))
            {
                name = ReadString(ref reader);
            }
            else if (reader.ValueTextEquals("type"u8))
            {
                type = (GuestFileType)ReadUInt32(ref reader);
            }
            else if (reader.ValueTextEquals("size"u8))
            {
                size = ReadInt64(ref reader);
            }
            else if (reader.ValueTextEquals("mode"u8))
            {
                mode = ReadUInt32(ref reader);
            }
            else if (reader.ValueTextEquals("uid"u8))
            {
                uid = ReadUInt32(ref reader);
            }
            else if (reader.ValueTextEquals("gid"u8))
            {
                gid = ReadUInt32(ref reader);
            }
            else if (reader.ValueTextEquals("accessTime"u8))
            {
                accessTime = UnixTicksConverter.FromTicks(ReadInt64(ref reader));
            }
            else if (reader.ValueTextEquals("modificationTime"u8))
            {
                modificationTime = UnixTicksConverter.FromTicks(ReadInt64(ref reader));
            }
            else if (reader.ValueTextEquals("symlinkTarget"u8))
            {
                symlinkTarget = ReadString(ref reader);
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        if (reader.TokenType != JsonTokenType.EndObject)
        {
            throw new JsonException("A file entry is not a complete object.");
        }

        return new GuestFileEntry
        {
            Name = name ?? throw new JsonException("A file entry has no name."),
            Type = type,
            Size = size,
            Mode = mode,
            Uid = uid,
            Gid = gid,
            AccessTime = accessTime,
            ModificationTime = modificationTime,
            SymlinkTarget = symlinkTarget,
        };
    }

    public override void Write(Utf8JsonWriter writer, GuestFileEntry value, JsonSerializerOptions options)
    {
        writer.WriteStartObject();
        writer.WriteString("name"u8, value.Name);
        writer.WriteNumber("type"u8, (int)value.Type);
        writer.WriteNumber("size"u8, value.Size);
        writer.WriteNumber("mode"u8, value.Mode);
        writer.WriteNumber("uid"u8, value.Uid);
        writer.WriteNumber("gid"u8, value.Gid);
        writer.WriteNumber("accessTime"u8, UnixTicksConverter.ToTicks(value.AccessTime));
        writer.WriteNumber("modificationTime"u8, UnixTicksConverter.ToTicks(value.ModificationTime));
        if (value.SymlinkTarget is { } target)
        {
            writer.WriteString("symlinkTarget"u8, target);
        }

        writer.WriteEndObject();
    }

    private static string? ReadString(ref Utf8JsonReader reader)
    {
        reader.Read();
        return reader.TokenType switch
        {
            JsonTokenType.String => reader.GetString(),
            JsonTokenType.Null => null,
            _ => throw new JsonException("Expected a string in a file entry."),
        };
    }

    private static long ReadInt64(ref Utf8JsonReader reader) =>
        reader.Read() && reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out var value)
            ? value
            : throw new JsonException("Expected a 64-bit integer in a file entry.");

    private static uint ReadUInt32(ref Utf8JsonReader reader) =>
        reader.Read() && reader.TokenType == JsonTokenType.Number && reader.TryGetUInt32(out var value)
            ? value
            : throw new JsonException("Expected a 32-bit unsigned integer in a file entry.");
}
