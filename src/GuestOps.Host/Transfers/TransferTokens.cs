using System.Buffers.Text;
using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace GuestOps.Host.Transfers;

public enum GuestFileTransferDirection
{
    /// <summary>InitiateFileTransferToGuest: the client PUTs.</summary>
    ToGuest,

    /// <summary>InitiateFileTransferFromGuest: the client GETs.</summary>
    FromGuest,
}

/// <summary>One transfer URL handed out: what it may do, to which VM and file, as which guest user, how many bytes,
/// until when, and the worker's grant that performs it.</summary>
public sealed record GuestFileTransfer(
    long Id,
    string VmId,
    GuestFileTransferDirection Direction,
    string GuestFilePath,
    string GuestUser,
    long Size,
    string Grant,
    DateTimeOffset Expires);

/// <summary>What a transfer is bound to, as InitiateFileTransferToGuest / FromGuest learned it from the guest.</summary>
public sealed record TransferRequest(string VmId, GuestFileTransferDirection Direction, string GuestFilePath, string GuestUser, long Size, string Grant);

/// <summary>A transfer issued: the id and token its URL carries, and when it expires.</summary>
public sealed record IssuedTransfer(long Id, string Token, DateTimeOffset Expires);

/// <summary>The answer to a transfer URL's id and token: valid with the transfer, or why not.</summary>
public sealed record TransferCheck(GuestFileTransferCheck Result, GuestFileTransfer? Transfer);

/// <summary>The one-time file-transfer tokens of InitiateFileTransferToGuest / FromGuest: issued once, checked
/// without being used up, redeemed at most once, refused after <see cref="Lifetime"/>.</summary>
public interface ITransferTokens
{
    /// <summary>How long an issued transfer stays valid.</summary>
    TimeSpan Lifetime { get; }

    ValueTask<IssuedTransfer> IssueAsync(TransferRequest request, CancellationToken cancellationToken = default);

    /// <summary>Checks an id and token as a URL carries them, without using the transfer up.</summary>
    ValueTask<TransferCheck> CheckAsync(string? id, string? token, CancellationToken cancellationToken = default);

    /// <summary>Uses the transfer up; false when another request redeemed it first.</summary>
    ValueTask<bool> RedeemAsync(GuestFileTransfer transfer, CancellationToken cancellationToken = default);
}

/// <summary>Why a transfer URL was refused.</summary>
public enum GuestFileTransferCheck
{
    Valid,

    /// <summary>id or token missing or malformed.</summary>
    Malformed,

    /// <summary>No such transfer: never issued here, already used, or issued by an earlier server process.</summary>
    Unknown,

    /// <summary>The token does not match the transfer (forged or tampered).</summary>
    Forged,

    Expired,
}

/// <summary>
/// The one-time transfer tokens of InitiateFileTransferToGuest / FromGuest, in this process's memory. The token is an
/// HMAC-SHA256, under a secret of this process, of everything the transfer is bound to (id, VM, direction, guest path, guest user, size, expiry, grant),
/// compared in constant time; a transfer is consumed atomically when it starts, so a URL works at most once. The
/// secret lives only in memory: after a restart, old URLs are refused (and the workers' grants they named are gone
/// with the old connections' purpose anyway).
/// </summary>
public sealed class TransferTokens(TimeProvider time, TimeSpan lifetime) : ITransferTokens
{
    private readonly byte[] _key = RandomNumberGenerator.GetBytes(32);
    private readonly ConcurrentDictionary<long, GuestFileTransfer> _pending = new();
    // Ids start at a random point (below 2^52, so they stay exact in any JSON/JavaScript client) so that a URL of an
    // earlier server process names no transfer of this one: it is refused as unknown (404), not as forged (403).
    private long _nextId = RandomNumberGenerator.GetInt32(1, int.MaxValue) * 1024L;
    private long _nextPurgeTicks;

    /// <summary>ESXi's lifetime of a transfer URL.</summary>
    public static readonly TimeSpan DefaultLifetime = TimeSpan.FromMinutes(10);

    /// <summary>How long a URL stays valid (<see cref="DefaultLifetime"/> unless configured).</summary>
    public TimeSpan Lifetime { get; } = lifetime;

    /// <summary>Transfers issued and not yet used or purged.</summary>
    public int Pending => _pending.Count;

    public ValueTask<IssuedTransfer> IssueAsync(TransferRequest request, CancellationToken cancellationToken = default)
    {
        PurgeExpired();
        var transfer = new GuestFileTransfer(Interlocked.Increment(ref _nextId), request.VmId, request.Direction, request.GuestFilePath, request.GuestUser, request.Size, request.Grant, time.GetUtcNow() + Lifetime);
        _pending[transfer.Id] = transfer;
        return ValueTask.FromResult(new IssuedTransfer(transfer.Id, Token(transfer), transfer.Expires));
    }

    public ValueTask<TransferCheck> CheckAsync(string? id, string? token, CancellationToken cancellationToken = default)
    {
        var result = Check(id, token, out var transfer);
        return ValueTask.FromResult(new TransferCheck(result, transfer));
    }

    public ValueTask<bool> RedeemAsync(GuestFileTransfer transfer, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(_pending.TryRemove(new KeyValuePair<long, GuestFileTransfer>(transfer.Id, transfer)));

    private GuestFileTransferCheck Check(string? id, string? token, out GuestFileTransfer? transfer)
    {
        transfer = null;
        if (!IsWellFormed(id, token, out var key))
        {
            return GuestFileTransferCheck.Malformed;
        }

        if (!_pending.TryGetValue(key, out var found))
        {
            return GuestFileTransferCheck.Unknown;
        }

        Span<byte> given = stackalloc byte[96];
        if (Base64Url.DecodeFromChars(token, given, out _, out var length) != System.Buffers.OperationStatus.Done
            || !CryptographicOperations.FixedTimeEquals(given[..length], Mac(found)))
        {
            return GuestFileTransferCheck.Forged;
        }

        if (found.Expires <= time.GetUtcNow())
        {
            _pending.TryRemove(key, out _);
            return GuestFileTransferCheck.Expired;
        }

        transfer = found;
        return GuestFileTransferCheck.Valid;
    }

    /// <summary>Whether a URL's id and token have the form of an issued transfer's: a decimal id and a token of at most
    /// 128 characters.</summary>
    public static bool IsWellFormed([NotNullWhen(true)] string? id, [NotNullWhen(true)] string? token, out long key)
    {
        key = 0;
        return long.TryParse(id, NumberStyles.None, CultureInfo.InvariantCulture, out key) && !string.IsNullOrEmpty(token) && token.Length <= 128;
    }

    private string Token(GuestFileTransfer transfer) => Base64Url.EncodeToString(Mac(transfer));

    private byte[] Mac(GuestFileTransfer transfer)
    {
        var bound = string.Join('\n',
            transfer.Id.ToString(CultureInfo.InvariantCulture),
            transfer.VmId,
            transfer.Direction.ToString(),
            transfer.GuestFilePath,
            transfer.GuestUser,
            transfer.Size.ToString(CultureInfo.InvariantCulture),
            transfer.Expires.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture),
            transfer.Grant);
        return HMACSHA256.HashData(_key, Encoding.UTF8.GetBytes(bound));
    }

    /// <summary>Drops expired transfers, at most once a second, so unused URLs cannot pile up.</summary>
    private void PurgeExpired()
    {
        var now = time.GetUtcNow();
        var next = Interlocked.Read(ref _nextPurgeTicks);
        if (now.UtcTicks < next || Interlocked.CompareExchange(ref _nextPurgeTicks, now.UtcTicks + TimeSpan.TicksPerSecond, next) != next)
        {
            return;
        }

        foreach (var (id, transfer) in _pending)
        {
            if (transfer.Expires <= now)
            {
                _pending.TryRemove(id, out _);
            }
        }
    }
}
