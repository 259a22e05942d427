using System.Net.Security;
using System.ServiceModel.Description;

namespace GuestOps.Client;

/// <summary>How <see cref="VimConnection"/> reaches the server.</summary>
public sealed record VimConnectionOptions
{
    /// <summary>Accept any server certificate (a self-signed test server). Off by default.</summary>
    public bool AcceptAnyServerCertificate { get; init; }

    /// <summary>
    /// Decides on the server's certificate for the SOAP calls and the /guestFile transfers, in place of the system's
    /// trust store (e.g. a pinned thumbprint). Its <c>sender</c> is the HTTP request or handler; the certificate, chain
    /// and policy errors are those of the TLS handshake. Takes precedence over <see cref="AcceptAnyServerCertificate"/>.
    /// </summary>
    public RemoteCertificateValidationCallback? ServerCertificateValidation { get; init; }

    /// <summary>
    /// A <c>vmware_soap_session</c> cookie (<c>name=value</c>, as <see cref="VimConnection.SessionCookie"/> read it
    /// after a login) to resume that session instead of logging in again.
    /// </summary>
    public string? SessionCookie { get; init; }

    /// <summary>The limit of one SOAP call, and of one /guestFile transfer unless <see cref="TransferTimeout"/> is set.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>The limit of one /guestFile transfer (<see cref="System.Threading.Timeout.InfiniteTimeSpan"/>: none);
    /// null: <see cref="Timeout"/>.</summary>
    public TimeSpan? TransferTimeout { get; init; }

    /// <summary>The largest SOAP response accepted (large listings, event queries).</summary>
    public long MaxReceivedMessageSize { get; init; } = 64 * 1024 * 1024;

    /// <summary>WCF endpoint behaviors added to the SOAP channel, e.g. one whose binding parameter
    /// <c>Func&lt;HttpClientHandler, HttpMessageHandler&gt;</c> wraps the HTTP handler to see every answer.</summary>
    public IReadOnlyList<IEndpointBehavior> EndpointBehaviors { get; init; } = [];
}
