namespace GuestOps.Client;

/// <summary>How <see cref="VimConnection"/> reaches the server.</summary>
public sealed record VimConnectionOptions
{
    /// <summary>Accept any server certificate (a self-signed test server). Off by default.</summary>
    public bool AcceptAnyServerCertificate { get; init; }

    /// <summary>The limit of one SOAP call and of one /guestFile transfer.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>The largest SOAP response accepted (large listings, event queries).</summary>
    public long MaxReceivedMessageSize { get; init; } = 64 * 1024 * 1024;
}
