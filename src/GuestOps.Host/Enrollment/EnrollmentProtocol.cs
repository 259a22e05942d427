using System.Buffers.Binary;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace GuestOps.Host.Enrollment;

/// <summary>
/// The enrollment exchange of the <c>external</c> provider, on the worker listener's port before any channel exists.
/// A client that presents no TLS client certificate may do exactly this and nothing else:
/// <list type="number">
/// <item>TLS (1.2/1.3) to the listener; the client trusts only the bundle's CA and presents no certificate.</item>
/// <item>client → host: <c>"GOENROLL"</c> (8 ASCII bytes), u32 big-endian length, JSON <see cref="EnrollmentRequest"/>
/// (at most <see cref="MaxMessageBytes"/>).</item>
/// <item>host → client: <c>"GOENROLL"</c>, u32 big-endian length, JSON <see cref="EnrollmentResponse"/>; the host
/// closes the connection.</item>
/// </list>
/// Anything else from a client without a certificate (a channel Hello, a wrong magic, an oversized or late message)
/// closes the connection. The worker keeps its own copy of these types (GuestOps.Tools/Enrollment), pinned to this
/// one by a unit test.
/// </summary>
public static class EnrollmentProtocol
{
    /// <summary>Version of the request and response JSON.</summary>
    public const int Version = 1;

    /// <summary>The <c>format</c> of an enrollment bundle file.</summary>
    public const string BundleFormat = "guestops-enrollment/1";

    public const int MaxMessageBytes = 32 * 1024;

    public static ReadOnlySpan<byte> Magic => "GOENROLL"u8;

    /// <summary>Writes one message: magic, length, JSON.</summary>
    public static async Task WriteAsync<T>(Stream stream, T message, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type, CancellationToken cancellationToken)
    {
        var json = JsonSerializer.SerializeToUtf8Bytes(message, type);
        var frame = new byte[Magic.Length + 4 + json.Length];
        Magic.CopyTo(frame);
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(Magic.Length), (uint)json.Length);
        json.CopyTo(frame, Magic.Length + 4);
        await stream.WriteAsync(frame, cancellationToken).ConfigureAwait(false);
        await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Reads one message; null when the peer sent something that is not an enrollment message.</summary>
    public static async Task<T?> ReadAsync<T>(Stream stream, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type, CancellationToken cancellationToken)
        where T : class
    {
        var header = new byte[Magic.Length + 4];
        await stream.ReadExactlyAsync(header, cancellationToken).ConfigureAwait(false);
        if (!header.AsSpan(0, Magic.Length).SequenceEqual(Magic))
        {
            return null;
        }

        var length = BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(Magic.Length));
        if (length is 0 or > MaxMessageBytes)
        {
            return null;
        }

        var body = new byte[length];
        await stream.ReadExactlyAsync(body, cancellationToken).ConfigureAwait(false);
        try
        {
            return JsonSerializer.Deserialize(body, type);
        }
        catch (JsonException)
        {
            return null;
        }
    }
}

/// <summary>What the worker sends: the bundle's VM id and one-time token, and a PKCS#10 request for its own key.</summary>
public sealed record EnrollmentRequest
{
    public int Version { get; init; } = EnrollmentProtocol.Version;

    public string VmId { get; init; } = "";

    public string Token { get; init; } = "";

    /// <summary>PEM <c>CERTIFICATE REQUEST</c>. Only its public key is used (its signature proves possession); the
    /// host decides the subject, names, usage and validity.</summary>
    public string Csr { get; init; } = "";
}

/// <summary>What the host answers: the issued certificate and the CA (PEM), or why not.</summary>
public sealed record EnrollmentResponse
{
    public int Version { get; init; } = EnrollmentProtocol.Version;

    public string? Certificate { get; init; }

    public string? CaCertificate { get; init; }

    /// <summary>Machine-readable refusal: <c>invalidToken</c>, <c>tokenUsed</c>, <c>tokenExpired</c>, <c>badRequest</c>,
    /// <c>unavailable</c>.</summary>
    public string? Error { get; init; }

    public string? Message { get; init; }
}

/// <summary>
/// The file an admin hands to a VM owner (<c>GuestOps.Server enroll --vm NAME</c>): everything the worker needs to
/// enroll once. It holds a secret (the token): it is written 0600 and useless after use or expiry.
/// </summary>
public sealed record EnrollmentBundle
{
    public string Format { get; init; } = EnrollmentProtocol.BundleFormat;

    public string VmId { get; init; } = "";

    public string VmName { get; init; } = "";

    /// <summary>The worker listener, <c>tcp:HOST:PORT</c>, as the admin configured it.</summary>
    public string Address { get; init; } = "";

    /// <summary>The name the listener's certificate carries for <see cref="Address"/> (its host).</summary>
    public string? ServerName { get; init; }

    /// <summary>PEM certificate of the host agent's CA: the only root the worker trusts.</summary>
    public string CaCertificate { get; init; } = "";

    public string Token { get; init; } = "";

    public DateTimeOffset Expires { get; init; }

    public string ToJson() => JsonSerializer.Serialize(this, EnrollmentFileJsonContext.Default.EnrollmentBundle);

    /// <summary>Writes the bundle atomically, readable by its owner only (0600).</summary>
    public void Save(string path) => StateFiles.WriteAtomically(path, ToJson() + Environment.NewLine);

    /// <summary>Parses a bundle; null when it is not one.</summary>
    public static EnrollmentBundle? FromJson(string json)
    {
        try
        {
            return JsonSerializer.Deserialize(json, EnrollmentFileJsonContext.Default.EnrollmentBundle) is { Format: EnrollmentProtocol.BundleFormat } bundle ? bundle : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    WriteIndented = false)]
[JsonSerializable(typeof(EnrollmentRequest))]
[JsonSerializable(typeof(EnrollmentResponse))]
internal sealed partial class EnrollmentJsonContext : JsonSerializerContext
{
}

/// <summary>Files people may read: indented.</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    WriteIndented = true)]
[JsonSerializable(typeof(EnrollmentBundle))]
[JsonSerializable(typeof(EnrollmentStoreFile))]
internal sealed partial class EnrollmentFileJsonContext : JsonSerializerContext
{
}
