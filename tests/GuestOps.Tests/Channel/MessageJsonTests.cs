using System.Text;
using System.Text.Json;
using GuestOps.Channel.Messages;

namespace GuestOps.Tests.Channel;

/// <summary>The wire form of the messages whose JSON is written by hand (<see cref="GuestFileEntryConverter"/>).</summary>
[TestClass]
public sealed class MessageJsonTests
{
    private static readonly DateTimeOffset Accessed = new(2026, 11, 25, 10, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset Modified = new(2001, 2, 3, 4, 5, 6, 789, TimeSpan.Zero);

    [TestMethod]
    public void ListFilesResponse_HasTheWireFormOfTheGeneratedSerializer()
    {
        var response = ChannelResponse.Success(new ListFilesResult
        {
            Entries =
            [
                new GuestFileEntry { Name = "a \"b\" é", Type = GuestFileType.File, Size = 5_000_000_000, Mode = 0x81A4, Uid = 1000, Gid = 100, AccessTime = Accessed, ModificationTime = Modified },
                new GuestFileEntry { Name = "link", Type = GuestFileType.Symlink, Mode = 0x41ED, Uid = uint.MaxValue, AccessTime = Accessed, ModificationTime = Modified, SymlinkTarget = "../x" },
            ],
            Remaining = 3,
        });

        var json = Encoding.UTF8.GetString(JsonSerializer.SerializeToUtf8Bytes(response, ChannelJsonContext.Default.ChannelResponse));

        var accessed = Accessed.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks;
        var modified = Modified.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks;
        Assert.AreEqual(
            "{\"result\":{\"kind\":\"listFiles\",\"entries\":["
            + $"{{\"name\":\"a \\u0022b\\u0022 \\u00E9\",\"type\":0,\"size\":5000000000,\"mode\":33188,\"uid\":1000,\"gid\":100,\"accessTime\":{accessed},\"modificationTime\":{modified}}},"
            + $"{{\"name\":\"link\",\"type\":2,\"size\":0,\"mode\":16877,\"uid\":4294967295,\"gid\":0,\"accessTime\":{accessed},\"modificationTime\":{modified},\"symlinkTarget\":\"../x\"}}"
            + "],\"remaining\":3}}",
            json);

        var back = JsonSerializer.Deserialize(json, ChannelJsonContext.Default.ChannelResponse)!;
        var list = (ListFilesResult)back.Result!;
        Assert.AreEqual(3, list.Remaining);
        CollectionAssert.AreEqual(((ListFilesResult)response.Result!).Entries.ToList(), list.Entries.ToList());
    }

    [TestMethod]
    public void FileEntry_SkipsUnknownMembers_AndAcceptsAnyOrder()
    {
        var entry = Read("""{"future":{"x":[1,2,{"y":null}]},"mode":420,"name":"f","symlinkTarget":null,"extra":"s","size":7}""");

        Assert.AreEqual(new GuestFileEntry { Name = "f", Mode = 420, Size = 7 }, entry);
    }

    [TestMethod]
    [DataRow("""{"type":1}""", DisplayName = "no name")]
    [DataRow("""{"name":5}""", DisplayName = "name not a string")]
    [DataRow("""{"name":"f","size":"7"}""", DisplayName = "size as text")]
    [DataRow("""{"name":"f","uid":-1}""", DisplayName = "negative uid")]
    [DataRow("""{"name":"f","mode":4294967296}""", DisplayName = "mode beyond 32 bits")]
    [DataRow("""{"name":"f","size":1.5}""", DisplayName = "fractional size")]
    [DataRow("""{"name":"f","modificationTime":9223372036854775807}""", DisplayName = "time out of range")]
    [DataRow("""{"name":"f","accessTime":-9223372036854775808}""", DisplayName = "time far before the epoch")]
    [DataRow("""["f"]""", DisplayName = "not an object")]
    public void FileEntry_Malformed_IsAJsonException(string entryJson)
    {
        Assert.ThrowsExactly<JsonException>(() => Read(entryJson));
    }

    private static GuestFileEntry Read(string entryJson)
    {
        var response = JsonSerializer.Deserialize(
            "{\"result\":{\"kind\":\"listFiles\",\"entries\":[" + entryJson + "],\"remaining\":0}}",
            ChannelJsonContext.Default.ChannelResponse)!;
        return ((ListFilesResult)response.Result!).Entries.Single();
    }
}
