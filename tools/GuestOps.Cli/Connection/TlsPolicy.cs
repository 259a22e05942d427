using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace GuestOps.Cli.Connection;

/// <summary>
/// How the server's certificate is checked: the system's trust store by default; <c>-k</c> accepts any certificate;
/// a pinned SHA-1 or SHA-256 thumbprint (hex, colons optional) accepts exactly that certificate.
/// </summary>
public sealed class TlsPolicy(bool insecure, string? thumbprint)
{
    private readonly string? _pinned = thumbprint is null ? null : Normalize(thumbprint);

    /// <summary>Thumbprints of the last certificate presented (for the error message when it is refused).</summary>
    public string? PresentedSha256 { get; private set; }

    public string? PresentedSha1 { get; private set; }

    /// <summary>The check of the server's certificate for the SOAP calls and the /guestFile transfers.</summary>
    public bool Validate(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        if (certificate is not null)
        {
            var raw = certificate.GetRawCertData();
            PresentedSha256 = Convert.ToHexString(SHA256.HashData(raw));
            PresentedSha1 = Convert.ToHexString(SHA1.HashData(raw));
        }

        if (_pinned is not null)
        {
            return _pinned == PresentedSha256 || _pinned == PresentedSha1;
        }

        return insecure || errors == SslPolicyErrors.None;
    }

    /// <summary>A one-line explanation for a refused certificate.</summary>
    public string Explain(Uri endpoint) => _pinned is not null
        ? $"The certificate of {endpoint.Authority} does not match the pinned thumbprint (it presented SHA-256 {PresentedSha256})."
        : $"The certificate of {endpoint.Authority} is not trusted (SHA-256 {PresentedSha256}, SHA-1 {PresentedSha1}). Use -k (GOVC_INSECURE=1) to skip verification or --thumbprint to pin it.";

    private static string Normalize(string thumbprint) =>
        thumbprint.Replace(":", "", StringComparison.Ordinal).Replace(" ", "", StringComparison.Ordinal).Trim().ToUpperInvariant();
}
