using GuestOps.Host.Events;

namespace GuestOps.Tests.Host;

[TestClass]
public sealed class EventHistoryTests
{
    private static EventRecord Event(string typeId) =>
        new(0, DateTime.UnixEpoch, "u", typeId, "info", "m", null, null, [], null);

    [TestMethod]
    public async Task KeepsTheNewest_WithIncreasingKeys()
    {
        var history = new EventHistory(capacity: 3);
        var appended = new List<EventRecord>();
        for (var i = 0; i < 5; i++)
        {
            appended.Add(await history.AppendAsync(Event("e" + i)));
        }

        var kept = await history.QueryAsync();
        CollectionAssert.AreEqual(new[] { "e2", "e3", "e4" }, kept.Select(e => e.TypeId).ToArray());
        CollectionAssert.AreEqual(new[] { 3, 4, 5 }, kept.Select(e => e.Key).ToArray());
        Assert.AreEqual(5, appended[^1].Key, "the append answers with the key given");
        Assert.AreSame(kept, await history.QueryAsync(), "unchanged history, same answer");
        await history.AppendAsync(Event("e5"));
        Assert.AreEqual("e5", (await history.QueryAsync())[^1].TypeId, "a change is seen at once");
    }
}
