using GuestOps.Server.Guest;
using GuestOps.Tests.Host;

namespace GuestOps.Tests.Server;

/// <summary>The one-time transfer URLs: format, binding, forgery, expiry, single use.</summary>
[TestClass]
public sealed class GuestFileTransfersTests
{
    private static readonly DateTimeOffset Start = new(2026, 11, 25, 12, 0, 0, TimeSpan.Zero);

    private static (string Id, string Token) Parts(string url)
    {
        var query = url[(url.IndexOf('?', StringComparison.Ordinal) + 1)..].Split('&').Select(p => p.Split('=', 2)).ToDictionary(p => p[0], p => p[1]);
        return (query["id"], query["token"]);
    }

    [TestMethod]
    public void Issue_WritesStarHostAndPort_AndTheUrlChecksOnce()
    {
        var transfers = new GuestFileTransfers(new ManualTime(Start), TimeSpan.FromMinutes(10));
        var url = transfers.Issue("vm-1", GuestFileTransferDirection.ToGuest, "/tmp/a", "demo", 42, "grant-1", 8443, https: true);
        StringAssert.StartsWith(url, "https://*:8443/guestFile?id=");
        var (id, token) = Parts(url);

        Assert.AreEqual(GuestFileTransferCheck.Valid, transfers.Check(id, token, out var transfer));
        Assert.AreEqual(("vm-1", "/tmp/a", "demo", 42L, "grant-1"), (transfer!.VmId, transfer.GuestFilePath, transfer.GuestUser, transfer.Size, transfer.Grant));
        Assert.AreEqual(GuestFileTransferCheck.Valid, transfers.Check(id, token, out _), "checking does not use the URL up");
        Assert.IsTrue(transfers.TryConsume(transfer));
        Assert.IsFalse(transfers.TryConsume(transfer), "single use");
        Assert.AreEqual(GuestFileTransferCheck.Unknown, transfers.Check(id, token, out _));
    }

    [TestMethod]
    public void Check_RefusesTamperedSwappedMalformedAndOtherServersTokens()
    {
        var transfers = new GuestFileTransfers(new ManualTime(Start), TimeSpan.FromMinutes(10));
        var (idA, tokenA) = Parts(transfers.Issue("vm-1", GuestFileTransferDirection.ToGuest, "/tmp/a", "demo", 1, "g-a", 443, true));
        var (idB, tokenB) = Parts(transfers.Issue("vm-1", GuestFileTransferDirection.ToGuest, "/tmp/b", "demo", 1, "g-b", 443, true));

        var flipped = tokenA[..^1] + (tokenA[^1] == 'A' ? 'B' : 'A');
        Assert.AreEqual(GuestFileTransferCheck.Forged, transfers.Check(idA, flipped, out _));
        Assert.AreEqual(GuestFileTransferCheck.Forged, transfers.Check(idA, tokenB, out _), "B's token does not open A");
        Assert.AreEqual(GuestFileTransferCheck.Forged, transfers.Check(idA, "not base64url!", out _));
        Assert.AreEqual(GuestFileTransferCheck.Malformed, transfers.Check("x1", tokenA, out _));
        Assert.AreEqual(GuestFileTransferCheck.Malformed, transfers.Check(idA, null, out _));
        Assert.AreEqual(GuestFileTransferCheck.Malformed, transfers.Check(idA, new string('a', 500), out _));

        // Another server process (another secret) issued a URL with the same id: refused.
        var other = new GuestFileTransfers(new ManualTime(Start), TimeSpan.FromMinutes(10));
        var (otherId, otherToken) = Parts(other.Issue("vm-1", GuestFileTransferDirection.ToGuest, "/tmp/a", "demo", 1, "g-a", 443, true));
        Assert.AreEqual(idA, otherId);
        Assert.AreEqual(GuestFileTransferCheck.Forged, transfers.Check(otherId, otherToken, out _));
        Assert.AreEqual(GuestFileTransferCheck.Valid, transfers.Check(idB, tokenB, out _), "refusals changed nothing");
    }

    [TestMethod]
    public void Check_Expires_AndIssuePurgesExpiredUrls()
    {
        var time = new ManualTime(Start);
        var transfers = new GuestFileTransfers(time, TimeSpan.FromMinutes(10));
        var (id, token) = Parts(transfers.Issue("vm-1", GuestFileTransferDirection.FromGuest, "/tmp/a", "demo", 1, "g", 443, true));
        time.Now = Start + TimeSpan.FromMinutes(9);
        Assert.AreEqual(GuestFileTransferCheck.Valid, transfers.Check(id, token, out _));
        time.Now = Start + TimeSpan.FromMinutes(10);
        Assert.AreEqual(GuestFileTransferCheck.Expired, transfers.Check(id, token, out _));
        Assert.AreEqual(GuestFileTransferCheck.Unknown, transfers.Check(id, token, out _), "an expired URL is dropped");

        for (var i = 0; i < 5; i++)
        {
            transfers.Issue("vm-1", GuestFileTransferDirection.FromGuest, "/tmp/a", "demo", 1, "g", 443, true);
        }

        time.Now += TimeSpan.FromMinutes(11);
        transfers.Issue("vm-1", GuestFileTransferDirection.FromGuest, "/tmp/a", "demo", 1, "g", 443, true);
        Assert.AreEqual(1, transfers.Pending, "unused, expired URLs do not pile up");
    }
}
