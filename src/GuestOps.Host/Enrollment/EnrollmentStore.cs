using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using GuestOps.Host.SharedState;

namespace GuestOps.Host.Enrollment;

/// <summary>Why an enrollment was refused (also the wire's <c>error</c> value).</summary>
public enum EnrollmentFailure
{
    /// <summary>No such token for that VM (never issued, superseded by a newer bundle, or cancelled by a revocation).</summary>
    InvalidToken,

    /// <summary>The token was already exchanged for a certificate: tokens are single-use.</summary>
    TokenUsed,

    TokenExpired,

    /// <summary>The certificate request was unusable (malformed, unsigned, weak key).</summary>
    BadRequest,

    /// <summary>The host cannot enroll this VM now (e.g. it is not an external VM here).</summary>
    Unavailable,
}

public sealed class EnrollmentException(EnrollmentFailure failure, string message, Exception? inner = null) : Exception(message, inner)
{
    public EnrollmentFailure Failure { get; } = failure;

    /// <summary>The wire form of <see cref="Failure"/>: <c>invalidToken</c>, <c>tokenUsed</c>, ...</summary>
    public string Code => JsonNamingPolicy.CamelCase.ConvertName(Failure.ToString());
}

/// <summary>A one-time token just created: the secret itself exists only here and in the bundle.</summary>
public sealed record IssuedToken(string VmId, string Token, DateTimeOffset Expires);

/// <summary>One enrollment token as stored: only its SHA-256 hash.</summary>
public sealed record TokenRecord
{
    public string VmId { get; init; } = "";

    /// <summary>SHA-256 of the token's UTF-8 bytes, lower-case hex. The token itself is never stored.</summary>
    public string TokenHash { get; init; } = "";

    public DateTimeOffset Created { get; init; }

    public DateTimeOffset Expires { get; init; }

    public DateTimeOffset? Used { get; init; }

    /// <summary>Set when a newer bundle for the VM or a revocation cancelled this token before use.</summary>
    public DateTimeOffset? Cancelled { get; init; }

    /// <summary>Thumbprint of the certificate this token was exchanged for.</summary>
    public string? IssuedThumbprint { get; init; }
}

/// <summary>One worker certificate the CA issued, and whether it still admits its VM.</summary>
public sealed record CertificateRecord
{
    public string VmId { get; init; } = "";

    /// <summary>SHA-256 thumbprint, upper-case hex.</summary>
    public string Thumbprint { get; init; } = "";

    public string SerialNumber { get; init; } = "";

    public DateTimeOffset Issued { get; init; }

    public DateTimeOffset NotAfter { get; init; }

    public DateTimeOffset? Revoked { get; init; }

    public string? RevokedReason { get; init; }

    public bool AdmitsAt(DateTimeOffset now) => Revoked is null && now < NotAfter;
}

/// <summary>The store file's shape.</summary>
public sealed record EnrollmentStoreFile
{
    public int Version { get; init; } = 1;

    public List<TokenRecord> Tokens { get; init; } = [];

    public List<CertificateRecord> Certificates { get; init; } = [];
}

/// <summary>
/// The enrollment state of a cluster's host agents as one shared document: the CA every host agent issues and checks
/// with (its certificate and private key, PEM) and the records of tokens and certificates, so a worker enrolled at one
/// host agent is admitted at each, and a revocation holds at each.
/// </summary>
public sealed record EnrollmentDocument
{
    public string CaCertificate { get; init; } = "";

    public string CaKey { get; init; } = "";

    public EnrollmentStoreFile Records { get; init; } = new();
}

/// <summary>
/// Enrollment tokens and issued worker certificates, in <c>&lt;state&gt;/enrollment/enrollments.json</c> (0600), or,
/// in a cluster, in the records of the shared <see cref="EnrollmentDocument"/>.
/// Tokens are stored only as SHA-256 hashes with an expiry and are single-use; a VM admits one certificate at a time
/// (a new enrollment revokes the previous one). Every operation re-reads the file, so the running server sees
/// enrollments and revocations the admin command makes while it runs; changes take an exclusive file lock and
/// replace the file atomically.
/// </summary>
public sealed class EnrollmentStore
{
    public const string FileName = "enrollments.json";
    public const string LockFileName = ".lock";

    /// <summary>Records of tokens and certificates this long past their expiry are dropped.</summary>
    private static readonly TimeSpan Retention = TimeSpan.FromDays(30);

    private readonly TimeProvider _time;
    private readonly IStateDocument<EnrollmentDocument>? _shared;

    public EnrollmentStore(string directory, TimeProvider? time = null)
    {
        Directory = StateFiles.EnsureDirectory(directory);
        _time = time ?? TimeProvider.System;
    }

    /// <summary>The records of a cluster's shared document: read from this member's copy, changed through the document
    /// (<see cref="RedeemAsync"/>; the synchronous changes are the single process's).</summary>
    public EnrollmentStore(IStateDocument<EnrollmentDocument> shared, TimeProvider? time = null)
    {
        Directory = "";
        _shared = shared;
        _time = time ?? TimeProvider.System;
    }

    /// <summary>The shared document's JSON (the cluster keeps it in this form).</summary>
    public static JsonTypeInfo<EnrollmentDocument> DocumentJson => EnrollmentStoreJsonContext.Default.EnrollmentDocument;

    /// <summary>The enrollment directory's CA (created when absent) and records as a document: what a member seeds a
    /// cluster with when the cluster has none.</summary>
    public static EnrollmentDocument SeedDocument(string directory, TimeProvider? time = null)
    {
        CertificateAuthority.LoadOrCreate(directory, time).Dispose();
        return new EnrollmentDocument
        {
            CaCertificate = File.ReadAllText(Path.Combine(directory, CertificateAuthority.CertificateFileName)),
            CaKey = File.ReadAllText(Path.Combine(directory, CertificateAuthority.KeyFileName)),
            Records = new EnrollmentStore(directory, time).Read(),
        };
    }

    public string Directory { get; }

    public string FilePath => Path.Combine(Directory, FileName);

    /// <summary>The enrollment directory of a server state directory.</summary>
    public static string DirectoryOf(string stateDirectory) => Path.Combine(stateDirectory, "enrollment");

    /// <summary>SHA-256 of a token, lower-case hex: what the store keeps.</summary>
    public static string HashToken(string token) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(token)));

    /// <summary>Reads the current records (a missing file is an empty store).</summary>
    public EnrollmentStoreFile Read()
    {
        if (_shared is not null)
        {
            return _shared.Current.Value.Records;
        }

        string json;
        try
        {
            json = File.ReadAllText(FilePath);
        }
        catch (FileNotFoundException)
        {
            return new EnrollmentStoreFile();
        }

        try
        {
            return JsonSerializer.Deserialize(json, EnrollmentStoreJsonContext.Default.EnrollmentStoreFile) ?? new EnrollmentStoreFile();
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{FilePath} is not a valid enrollment store: {e.Message}", e);
        }
    }

    /// <summary>Creates a random one-time token (256 bits) for <paramref name="vmId"/>, valid for
    /// <paramref name="lifetime"/>. Older unused tokens of the VM are cancelled: only the newest bundle works.</summary>
    public IssuedToken CreateToken(string vmId, TimeSpan lifetime)
    {
        var (token, change) = NewToken(vmId, lifetime);
        Update(change);
        return token;
    }

    /// <summary><see cref="CreateToken"/>, also through a cluster's shared document.</summary>
    public async ValueTask<IssuedToken> CreateTokenAsync(string vmId, TimeSpan lifetime, CancellationToken cancellationToken)
    {
        var (token, change) = NewToken(vmId, lifetime);
        await UpdateAsync(change, cancellationToken).ConfigureAwait(false);
        return token;
    }

    private (IssuedToken Token, Action<EnrollmentStoreFile> Change) NewToken(string vmId, TimeSpan lifetime)
    {
        ArgumentException.ThrowIfNullOrEmpty(vmId);
        if (lifetime <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(lifetime), "A token must be valid for some time.");
        }

        var token = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        var now = _time.GetUtcNow();
        var expires = now + lifetime;
        return (new IssuedToken(vmId, token, expires), state =>
        {
            CancelOpenTokens(state, vmId, now);
            state.Tokens.Add(new TokenRecord { VmId = vmId, TokenHash = HashToken(token), Created = now, Expires = expires });
        });
    }

    /// <summary>
    /// Exchanges a token for a certificate, atomically: the token must belong to <paramref name="vmId"/>, be unused,
    /// not cancelled and not expired; then <paramref name="issue"/> creates the certificate, the token is marked used,
    /// the VM's previous certificates are revoked and the new one recorded. A refused token stays as it was.
    /// </summary>
    /// <exception cref="EnrollmentException">The token is refused.</exception>
    public CertificateRecord Redeem(string vmId, string token, Func<X509Certificate2> issue)
    {
        CertificateRecord? issued = null;
        Update(RedeemChange(vmId, token, issue, record => issued = record));
        return issued!;
    }

    /// <summary><see cref="Redeem"/>, also through a cluster's shared document (where <paramref name="issue"/> runs
    /// again when another change was stored first).</summary>
    /// <exception cref="EnrollmentException">The token is refused.</exception>
    public async ValueTask<CertificateRecord> RedeemAsync(string vmId, string token, Func<X509Certificate2> issue, CancellationToken cancellationToken)
    {
        CertificateRecord? issued = null;
        await UpdateAsync(RedeemChange(vmId, token, issue, record => issued = record), cancellationToken).ConfigureAwait(false);
        return issued!;
    }

    private Action<EnrollmentStoreFile> RedeemChange(string vmId, string token, Func<X509Certificate2> issue, Action<CertificateRecord> issued)
    {
        ArgumentNullException.ThrowIfNull(issue);
        var hash = Convert.FromHexString(HashToken(token ?? ""));
        return state =>
        {
            var now = _time.GetUtcNow();
            var index = state.Tokens.FindIndex(t => t.TokenHash.Length == 64
                && CryptographicOperations.FixedTimeEquals(Convert.FromHexString(t.TokenHash), hash));
            if (index < 0 || state.Tokens[index].VmId != vmId || state.Tokens[index].Cancelled is not null)
            {
                throw new EnrollmentException(EnrollmentFailure.InvalidToken, "The enrollment token is not valid for this VM (unknown, or replaced by a newer bundle).");
            }

            var record = state.Tokens[index];
            if (record.Used is not null)
            {
                throw new EnrollmentException(EnrollmentFailure.TokenUsed, "The enrollment token was already used; ask the administrator for a new bundle.");
            }

            if (now >= record.Expires)
            {
                throw new EnrollmentException(EnrollmentFailure.TokenExpired, $"The enrollment token expired at {record.Expires:u}; ask the administrator for a new bundle.");
            }

            using var certificate = issue();
            var thumbprint = CertificateAuthority.ThumbprintOf(certificate);
            RevokeCertificates(state, vmId, now, "replaced by a new enrollment");
            var issuedRecord = new CertificateRecord
            {
                VmId = vmId,
                Thumbprint = thumbprint,
                SerialNumber = certificate.SerialNumber,
                Issued = now,
                NotAfter = certificate.NotAfter.ToUniversalTime(),
            };
            state.Certificates.Add(issuedRecord);
            state.Tokens[index] = record with { Used = now, IssuedThumbprint = thumbprint };
            issued(issuedRecord);
        };
    }

    /// <summary>The record admitting <paramref name="thumbprint"/> for <paramref name="vmId"/> now, or null (unknown,
    /// issued for another VM, revoked or expired).</summary>
    public CertificateRecord? Admitting(string vmId, string thumbprint)
    {
        var now = _time.GetUtcNow();
        return Read().Certificates.FirstOrDefault(c => c.VmId == vmId && string.Equals(c.Thumbprint, thumbprint, StringComparison.OrdinalIgnoreCase) && c.AdmitsAt(now));
    }

    /// <summary>Revokes every certificate of the VM and cancels its unused tokens; returns how many certificates.</summary>
    public int Revoke(string vmId, string reason = "revoked by the administrator")
    {
        var count = 0;
        Update(RevokeChange(vmId, reason, c => count = c));
        return count;
    }

    /// <summary><see cref="Revoke"/>, also through a cluster's shared document: every host agent then refuses the
    /// VM's certificate and drops its connected worker at its next check.</summary>
    public async ValueTask<int> RevokeAsync(string vmId, CancellationToken cancellationToken, string reason = "revoked by the administrator")
    {
        var count = 0;
        await UpdateAsync(RevokeChange(vmId, reason, c => count = c), cancellationToken).ConfigureAwait(false);
        return count;
    }

    private Action<EnrollmentStoreFile> RevokeChange(string vmId, string reason, Action<int> revoked) => state =>
    {
        var now = _time.GetUtcNow();
        revoked(RevokeCertificates(state, vmId, now, reason));
        CancelOpenTokens(state, vmId, now);
    };

    private static int RevokeCertificates(EnrollmentStoreFile state, string vmId, DateTimeOffset now, string reason)
    {
        var count = 0;
        for (var i = 0; i < state.Certificates.Count; i++)
        {
            if (state.Certificates[i] is { Revoked: null } c && c.VmId == vmId)
            {
                state.Certificates[i] = c with { Revoked = now, RevokedReason = reason };
                count++;
            }
        }

        return count;
    }

    private static void CancelOpenTokens(EnrollmentStoreFile state, string vmId, DateTimeOffset now)
    {
        for (var i = 0; i < state.Tokens.Count; i++)
        {
            if (state.Tokens[i] is { Used: null, Cancelled: null } t && t.VmId == vmId)
            {
                state.Tokens[i] = t with { Cancelled = now };
            }
        }
    }

    /// <summary>A change of the records: through the shared document in a cluster (on a copy, again on a newer document
    /// when another change came first), else in the file.</summary>
    private async ValueTask UpdateAsync(Action<EnrollmentStoreFile> change, CancellationToken cancellationToken)
    {
        if (_shared is null)
        {
            Update(change);
            return;
        }

        await _shared.ChangeAsync(
            document =>
            {
                var records = new EnrollmentStoreFile { Version = document.Records.Version, Tokens = [.. document.Records.Tokens], Certificates = [.. document.Records.Certificates] };
                change(records);
                Prune(records, _time.GetUtcNow());
                return (document with { Records = records }, true);
            },
            cancellationToken).ConfigureAwait(false);
    }

    private static void Prune(EnrollmentStoreFile state, DateTimeOffset now)
    {
        state.Tokens.RemoveAll(t => t.Expires + Retention < now);
        state.Certificates.RemoveAll(c => c.NotAfter + Retention < now);
    }

    private void Update(Action<EnrollmentStoreFile> change)
    {
        if (_shared is not null)
        {
            throw new InvalidOperationException("A cluster's enrollment records change through the shared document (RedeemAsync).");
        }

        using var gate = StateFiles.Lock(Path.Combine(Directory, LockFileName));
        var state = Read();
        change(state);
        Prune(state, _time.GetUtcNow());
        StateFiles.WriteAtomically(FilePath, JsonSerializer.Serialize(state, EnrollmentStoreJsonContext.Default.EnrollmentStoreFile));
    }
}
