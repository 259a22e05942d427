using System.Security.Cryptography;
using System.Text;
using GuestOps.Host.Transfers;

namespace GuestOps.Cluster.Transfers;

/// <summary>One file-transfer URL of the cluster, keyed by its id: issued at one front end, usable once at any.</summary>
[Alias("GuestOps.Cluster.Transfers.ITransferGrain")]
public interface ITransferGrain : IGrainWithIntegerKey
{
    /// <summary>Keeps the transfer and its token; false when this id already holds one.</summary>
    [Alias("Issue")]
    Task<bool> IssueAsync(GuestFileTransfer transfer, string token);

    /// <summary>Checks a URL's token at <paramref name="now"/> without using the transfer up.</summary>
    [Alias("Check")]
    Task<TransferCheck> CheckAsync(string token, DateTimeOffset now);

    /// <summary>Uses the transfer up; false when it was redeemed already, has expired, or is not this one.</summary>
    [Alias("Redeem")]
    Task<bool> RedeemAsync(GuestFileTransfer transfer, DateTimeOffset now);
}

/// <summary>
/// A transfer in the memory of one member of the cluster, alive until it is redeemed or expires. Not stored: when the
/// member holding it ends, its URL is refused as unknown and the client asks for a new one, as after a restart of the
/// single process (the worker's grant the URL named may have gone with it too).
/// </summary>
public sealed class TransferGrain : Grain, ITransferGrain
{
    private GuestFileTransfer? _transfer;
    private byte[]? _tokenHash;

    public Task<bool> IssueAsync(GuestFileTransfer transfer, string token)
    {
        if (_transfer is not null)
        {
            return Task.FromResult(false);
        }

        _transfer = transfer;
        _tokenHash = Hash(token);
        DelayDeactivation(transfer.Expires - DateTimeOffset.UtcNow + TimeSpan.FromMinutes(1));
        return Task.FromResult(true);
    }

    public Task<TransferCheck> CheckAsync(string token, DateTimeOffset now)
    {
        if (_transfer is not { } transfer)
        {
            return Task.FromResult(new TransferCheck(GuestFileTransferCheck.Unknown, null));
        }

        if (!CryptographicOperations.FixedTimeEquals(Hash(token), _tokenHash))
        {
            return Task.FromResult(new TransferCheck(GuestFileTransferCheck.Forged, null));
        }

        if (transfer.Expires <= now)
        {
            Forget();
            return Task.FromResult(new TransferCheck(GuestFileTransferCheck.Expired, null));
        }

        return Task.FromResult(new TransferCheck(GuestFileTransferCheck.Valid, transfer));
    }

    public Task<bool> RedeemAsync(GuestFileTransfer transfer, DateTimeOffset now)
    {
        if (_transfer != transfer || transfer.Expires <= now)
        {
            return Task.FromResult(false);
        }

        Forget();
        return Task.FromResult(true);
    }

    private void Forget()
    {
        _transfer = null;
        _tokenHash = null;
        DeactivateOnIdle();
    }

    /// <summary>Tokens are compared as hashes, so the comparison takes the same time whatever the given token's length.</summary>
    private static byte[] Hash(string token) => SHA256.HashData(Encoding.UTF8.GetBytes(token));
}
