using GuestOps.Host.Transfers;
using GuestOps.Server.Guest;

namespace GuestOps.Tests.Host;

/// <summary>The one-time transfer tokens: binding, forgery, expiry, single use; and the URL the front end makes of them.</summary>
[TestClass]
public sealed class TransferTokensTests
{
    private static readonly DateTimeOffset Start = new(2026, 11, 25, 12, 0, 0, TimeSpan.Zero);

    private static TransferRequest Request(string path = "/tmp/a", long size = 1, string grant = "g", GuestFileTransferDirection direction = GuestFileTransferDirection.ToGuest) =>
        new("vm-1", direction, path, "demo", size, grant);

    private static (string Id, string Token) Parts(IssuedTransfer issued) =>
        (issued.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), issued.Token);

    private static async Task<GuestFileTransferCheck> Check(ITransferTokens tokens, string? id, string? token) =>
        (await tokens.CheckAsync(id, token)).Result;

    [TestMethod]
    public async Task Issue_ChecksUntilRedeemed_AndRedeemsOnce()
    {
        var transfers = new TransferTokens(new ManualTime(Start), TimeSpan.FromMinutes(10));
        var issued = await transfers.IssueAsync(Request(size: 42, grant: "grant-1"));
        var (id, token) = Parts(issued);

        var check = await transfers.CheckAsync(id, token);
        Assert.AreEqual(GuestFileTransferCheck.Valid, check.Result);
        var transfer = check.Transfer!;
        Assert.AreEqual(("vm-1", "/tmp/a", "demo", 42L, "grant-1"), (transfer.VmId, transfer.GuestFilePath, transfer.GuestUser, transfer.Size, transfer.Grant));
        Assert.AreEqual(Start + TimeSpan.FromMinutes(10), issued.Expires);
        Assert.AreEqual(GuestFileTransferCheck.Valid, await Check(transfers, id, token), "checking does not use the transfer up");
        Assert.IsTrue(await transfers.RedeemAsync(transfer));
        Assert.IsFalse(await transfers.RedeemAsync(transfer), "single use");
        Assert.AreEqual(GuestFileTransferCheck.Unknown, await Check(transfers, id, token));
    }

    [TestMethod]
    public void Url_WritesStarHostPortIdAndToken()
    {
        var url = GuestFileUrl.Format(new IssuedTransfer(1234, "tok_en-", Start), 8443, https: true);
        Assert.AreEqual("https://*:8443/guestFile?id=1234&token=tok_en-", url);
        StringAssert.StartsWith(GuestFileUrl.Format(new IssuedTransfer(1, "t", Start), 80, https: false), "http://*:80/guestFile?id=1&");
    }

    [TestMethod]
    public async Task Check_RefusesTamperedSwappedMalformedAndOtherServersTokens()
    {
        var transfers = new TransferTokens(new ManualTime(Start), TimeSpan.FromMinutes(10));
        var (idA, tokenA) = Parts(await transfers.IssueAsync(Request("/tmp/a", grant: "g-a")));
        var (idB, tokenB) = Parts(await transfers.IssueAsync(Request("/tmp/b", grant: "g-b")));

        var flipped = tokenA[..^1] + (tokenA[^1] == 'A' ? 'B' : 'A');
        Assert.AreEqual(GuestFileTransferCheck.Forged, await Check(transfers, idA, flipped));
        Assert.AreEqual(GuestFileTransferCheck.Forged, await Check(transfers, idA, tokenB), "B's token does not open A");
        Assert.AreEqual(GuestFileTransferCheck.Forged, await Check(transfers, idA, "not base64url!"));
        Assert.AreEqual(GuestFileTransferCheck.Malformed, await Check(transfers, "x1", tokenA));
        Assert.AreEqual(GuestFileTransferCheck.Malformed, await Check(transfers, idA, null));
        Assert.AreEqual(GuestFileTransferCheck.Malformed, await Check(transfers, idA, new string('a', 500)));

        // Another process (another secret, ids from another random start) issued a transfer: unknown here (404), and
        // its token under one of this process's ids is forged.
        var other = new TransferTokens(new ManualTime(Start), TimeSpan.FromMinutes(10));
        var (otherId, otherToken) = Parts(await other.IssueAsync(Request("/tmp/a", grant: "g-a")));
        Assert.AreNotEqual(idA, otherId, "ids of two processes do not start at the same value");
        Assert.AreEqual(GuestFileTransferCheck.Unknown, await Check(transfers, otherId, otherToken));
        Assert.AreEqual(GuestFileTransferCheck.Forged, await Check(transfers, idA, otherToken));
        Assert.AreEqual(GuestFileTransferCheck.Valid, await Check(transfers, idB, tokenB), "refusals changed nothing");
    }

    [TestMethod]
    public async Task Check_Expires_AndIssuePurgesExpiredTransfers()
    {
        var time = new ManualTime(Start);
        var transfers = new TransferTokens(time, TimeSpan.FromMinutes(10));
        var (id, token) = Parts(await transfers.IssueAsync(Request(direction: GuestFileTransferDirection.FromGuest)));
        time.Now = Start + TimeSpan.FromMinutes(9);
        Assert.AreEqual(GuestFileTransferCheck.Valid, await Check(transfers, id, token));
        time.Now = Start + TimeSpan.FromMinutes(10);
        Assert.AreEqual(GuestFileTransferCheck.Expired, await Check(transfers, id, token));
        Assert.AreEqual(GuestFileTransferCheck.Unknown, await Check(transfers, id, token), "an expired transfer is dropped");

        for (var i = 0; i < 5; i++)
        {
            await transfers.IssueAsync(Request());
        }

        time.Now += TimeSpan.FromMinutes(11);
        await transfers.IssueAsync(Request());
        Assert.AreEqual(1, transfers.Pending, "unused, expired transfers do not pile up");
    }
}
