using System.Buffers.Binary;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace GuestOps.Tools.Enrollment;

// The worker's copy of the enrollment exchange (host side: GuestOps.Host/Enrollment/EnrollmentProtocol.cs; a unit test
// keeps the two in step). After TLS without a client certificate: "GOENROLL", u32 BE length, JSON request; the host
// answers "GOENROLL", u32 BE length, JSON response and closes.

internal static class EnrollmentWire
{
    public const int Version = 1;
    public const string BundleFormat = "guestops-enrollment/1";
    public const int MaxMessageBytes = 32 * 1024;

    public static ReadOnlySpan<byte> Magic => "GOENROLL"u8;

    public static async Task WriteAsync<T>(Stream stream, T message, JsonTypeInfo<T> type, CancellationToken cancellationToken)
    {
        var json = JsonSerializer.SerializeToUtf8Bytes(message, type);
        var frame = new byte[Magic.Length + 4 + json.Length];
        Magic.CopyTo(frame);
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(Magic.Length), (uint)json.Length);
        json.CopyTo(frame, Magic.Length + 4);
        await stream.WriteAsync(frame, cancellationToken).ConfigureAwait(false);
        await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    public static async Task<T?> ReadAsync<T>(Stream stream, JsonTypeInfo<T> type, CancellationToken cancellationToken)
        where T : class
    {
        var header = new byte[Magic.Length + 4];
        await stream.ReadExactlyAsync(header, cancellationToken).ConfigureAwait(false);
        var length = BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(Magic.Length));
        if (!header.AsSpan(0, Magic.Length).SequenceEqual(Magic) || length is 0 or > MaxMessageBytes)
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

/// <summary>The bundle an admin created with <c>GuestOps.Server enroll --vm NAME</c>.</summary>
internal sealed record EnrollmentBundleFile
{
    public string? Format { get; init; }

    public string? VmId { get; init; }

    public string? VmName { get; init; }

    /// <summary><c>tcp:HOST:PORT</c> of the host agent's worker listener.</summary>
    public string? Address { get; init; }

    /// <summary>The name in the listener's certificate (default: the address's host).</summary>
    public string? ServerName { get; init; }

    public string? CaCertificate { get; init; }

    public string? Token { get; init; }

    public DateTimeOffset? Expires { get; init; }
}

internal sealed record WorkerEnrollmentRequest
{
    public int Version { get; init; } = EnrollmentWire.Version;

    public string VmId { get; init; } = "";

    public string Token { get; init; } = "";

    /// <summary>PEM PKCS#10 request for the worker's new key.</summary>
    public string Csr { get; init; } = "";
}

internal sealed record WorkerEnrollmentResponse
{
    public int Version { get; init; }

    public string? Certificate { get; init; }

    public string? CaCertificate { get; init; }

    public string? Error { get; init; }

    public string? Message { get; init; }
}

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    GenerationMode = JsonSourceGenerationMode.Metadata)]
[JsonSerializable(typeof(EnrollmentBundleFile))]
[JsonSerializable(typeof(WorkerEnrollmentRequest))]
[JsonSerializable(typeof(WorkerEnrollmentResponse))]
internal sealed partial class EnrollmentJsonContext : JsonSerializerContext
{
}
