using System.Buffers.Binary;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace GuestOps.Channel.Enrollment;

/// <summary>
/// The enrollment exchange of the <c>external</c> provider, on the worker listener's port before any channel exists;
/// the one definition, used by the host agent (GuestOps.Host/Enrollment/ExternalWorkerGateway) and the worker
/// (GuestOps.Tools/Enrollment/EnrollCommand). A client that presents no TLS client certificate may do exactly this and
/// nothing else:
/// <list type="number">
/// <item>TLS (1.2/1.3) to the listener; the client trusts only the bundle's CA and presents no certificate.</item>
/// <item>client → host: <c>"GOENROLL"</c> (8 ASCII bytes), u32 big-endian length, JSON <see cref="EnrollmentRequest"/>
/// (at most <see cref="MaxMessageBytes"/>).</item>
/// <item>host → client: <c>"GOENROLL"</c>, u32 big-endian length, JSON <see cref="EnrollmentResponse"/>; the host
/// closes the connection.</item>
/// </list>
/// Anything else from a client without a certificate (a channel Hello, a wrong magic, an oversized or late message)
/// closes the connection.
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
    public static async Task WriteAsync<T>(Stream stream, T message, JsonTypeInfo<T> type, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var json = JsonSerializer.SerializeToUtf8Bytes(message, type);
        var frame = new byte[Magic.Length + 4 + json.Length];
        Magic.CopyTo(frame);
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(Magic.Length), (uint)json.Length);
        json.CopyTo(frame, Magic.Length + 4);
        await stream.WriteAsync(frame, cancellationToken).ConfigureAwait(false);
        await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Reads one message; null when the peer sent something that is not an enrollment message (wrong magic,
    /// a length of 0 or over <see cref="MaxMessageBytes"/>, JSON that does not parse). A stream that ends early throws
    /// <see cref="EndOfStreamException"/>.</summary>
    public static async Task<T?> ReadAsync<T>(Stream stream, JsonTypeInfo<T> type, CancellationToken cancellationToken)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(stream);
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
/// The file an admin hands to a VM owner (<c>GuestOps.Server enroll --vm NAME</c>) and the worker reads
/// (<c>guestops-tools enroll --bundle FILE</c>): everything the worker needs to enroll once. It holds a secret (the
/// token); the host writes it 0600, and it is useless after use or expiry. Only the JSON lives here: where and how
/// the file is written is the host's business.
/// </summary>
/// <remarks>
/// JSON from a file may leave out members (they keep the defaults below) or set them to null despite their
/// annotations; readers check what they need. <see cref="Format"/> must be present: a file without it is not a bundle.
/// </remarks>
public sealed record EnrollmentBundle
{
    [JsonRequired]
    public string Format { get; init; } = EnrollmentProtocol.BundleFormat;

    public string VmId { get; init; } = "";

    public string VmName { get; init; } = "";

    /// <summary>The worker listener, <c>tcp:HOST:PORT</c>, as the admin configured it: the first of
    /// <see cref="Addresses"/>, and the only address of a bundle written before there were several.</summary>
    public string Address { get; init; } = "";

    /// <summary>Every host agent's worker listener the VM may connect to (<c>tcp:HOST:PORT</c>), in the order the worker
    /// tries them: in a cluster, each host agent that has the VM configured. Absent in a one-host bundle.</summary>
    public IReadOnlyList<string>? Addresses { get; init; }

    /// <summary>The listeners to try, in order: <see cref="Addresses"/> when it lists any, else <see cref="Address"/>
    /// (empty entries dropped, each once).</summary>
    public IReadOnlyList<string> AllAddresses()
    {
        IEnumerable<string?> listed = Addresses is { Count: > 0 } addresses ? addresses : [Address];
        return listed.OfType<string>().Where(a => !string.IsNullOrWhiteSpace(a)).Distinct(StringComparer.Ordinal).ToArray();
    }

    /// <summary>The name the listener's certificate carries for <see cref="Address"/> (its host).</summary>
    public string? ServerName { get; init; }

    /// <summary>PEM certificate of the host agent's CA: the only root the worker trusts.</summary>
    public string CaCertificate { get; init; } = "";

    public string Token { get; init; } = "";

    public DateTimeOffset Expires { get; init; }

    /// <summary>The file's contents (indented JSON, no trailing newline).</summary>
    public string ToJson() => JsonSerializer.Serialize(this, EnrollmentBundleJsonContext.Default.EnrollmentBundle);

    /// <summary>Parses a bundle; null when it is not one (not JSON, no or another <see cref="Format"/>).</summary>
    public static EnrollmentBundle? FromJson(string json)
    {
        try
        {
            return Parse(json);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>Parses a bundle; null when the JSON is one object but not a bundle of <see cref="EnrollmentProtocol.BundleFormat"/>.</summary>
    /// <exception cref="JsonException">The text is not JSON, or not an object with a <c>format</c>.</exception>
    public static EnrollmentBundle? Parse(string json) =>
        JsonSerializer.Deserialize(json, EnrollmentBundleJsonContext.Default.EnrollmentBundle) is { Format: EnrollmentProtocol.BundleFormat } bundle ? bundle : null;
}

/// <summary>The enrollment messages on the wire: compact camelCase JSON, nulls omitted (NativeAOT-safe: no reflection).</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    WriteIndented = false,
    GenerationMode = JsonSourceGenerationMode.Metadata)]
[JsonSerializable(typeof(EnrollmentRequest))]
[JsonSerializable(typeof(EnrollmentResponse))]
public sealed partial class EnrollmentJsonContext : JsonSerializerContext
{
}

/// <summary>The bundle file, which people may read: indented camelCase JSON, nulls omitted (NativeAOT-safe).</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    WriteIndented = true,
    GenerationMode = JsonSourceGenerationMode.Metadata)]
[JsonSerializable(typeof(EnrollmentBundle))]
public sealed partial class EnrollmentBundleJsonContext : JsonSerializerContext
{
}
