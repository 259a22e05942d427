using System.Buffers.Text;
using System.Security.Cryptography;
using GuestOps.Host.Transfers;

namespace GuestOps.Cluster.Transfers;

/// <summary>
/// The one-time transfer tokens of a cluster: each transfer is an <see cref="ITransferGrain"/> under a random id, with a
/// random 256-bit token, so a URL issued at one front end is checked and redeemed (once) at any other. Ids stay below
/// 2^52 (exact in any JSON/JavaScript client).
/// </summary>
public sealed class ClusterTransferTokens(IGrainFactory grains, TimeProvider time, TimeSpan lifetime) : ITransferTokens
{
    public TimeSpan Lifetime { get; } = lifetime;

    public async ValueTask<IssuedTransfer> IssueAsync(TransferRequest request, CancellationToken cancellationToken = default)
    {
        var token = Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));
        while (true)
        {
            var id = RandomNumberGenerator.GetInt32(1, int.MaxValue) * (1L << 21) + RandomNumberGenerator.GetInt32(0, 1 << 21);
            var transfer = new GuestFileTransfer(id, request.VmId, request.Direction, request.GuestFilePath, request.GuestUser, request.Size, request.Grant, time.GetUtcNow() + Lifetime);
            if (await grains.GetGrain<ITransferGrain>(id).IssueAsync(transfer, token).WaitAsync(cancellationToken).ConfigureAwait(false))
            {
                return new IssuedTransfer(id, token, transfer.Expires);
            }
        }
    }

    public async ValueTask<TransferCheck> CheckAsync(string? id, string? token, CancellationToken cancellationToken = default) =>
        TransferTokens.IsWellFormed(id, token, out var key)
            ? await grains.GetGrain<ITransferGrain>(key).CheckAsync(token, time.GetUtcNow()).WaitAsync(cancellationToken).ConfigureAwait(false)
            : new TransferCheck(GuestFileTransferCheck.Malformed, null);

    public async ValueTask<bool> RedeemAsync(GuestFileTransfer transfer, CancellationToken cancellationToken = default) =>
        await grains.GetGrain<ITransferGrain>(transfer.Id).RedeemAsync(transfer, time.GetUtcNow()).WaitAsync(cancellationToken).ConfigureAwait(false);
}
