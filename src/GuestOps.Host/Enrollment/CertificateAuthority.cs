using System.Formats.Asn1;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace GuestOps.Host.Enrollment;

/// <summary>
/// The host agent's small certificate authority (as Nutanix Guest Tools does it): an ECDSA P-256 key and a
/// self-signed CA certificate created once in <c>&lt;state&gt;/enrollment</c> (<c>ca.key</c>, <c>ca.crt</c>, both 0600).
/// It issues the worker listener's server certificate and, at enrollment, one client certificate per VM whose subject
/// (CN) and subject alternative name (URI <c>urn:guestops:vm:&lt;id&gt;</c>) carry the VM id.
/// </summary>
public sealed class CertificateAuthority : IDisposable
{
    public const string KeyFileName = "ca.key";
    public const string CertificateFileName = "ca.crt";

    /// <summary>Prefix of the SAN URI that binds a worker certificate to a VM id (the id is URI-escaped).</summary>
    public const string VmUriPrefix = "urn:guestops:vm:";

    public static readonly Oid ClientAuthentication = new("1.3.6.1.5.5.7.3.2", "Client Authentication");
    public static readonly Oid ServerAuthentication = new("1.3.6.1.5.5.7.3.1", "Server Authentication");

    private readonly ECDsa _key;
    private readonly X509Certificate2 _withKey;

    private CertificateAuthority(X509Certificate2 certificate, ECDsa key)
    {
        Certificate = certificate;
        _key = key;
        _withKey = certificate.CopyWithPrivateKey(key);
    }

    /// <summary>The CA certificate (public part): what workers trust.</summary>
    public X509Certificate2 Certificate { get; }

    public string CertificatePem => Certificate.ExportCertificatePem();

    /// <summary>SHA-256 thumbprint of the CA certificate (hex).</summary>
    public string Thumbprint => Certificate.GetCertHashString(HashAlgorithmName.SHA256);

    /// <summary>Loads the CA of <paramref name="directory"/>, creating it (under the directory's lock) when absent.</summary>
    public static CertificateAuthority LoadOrCreate(string directory, TimeProvider? time = null)
    {
        directory = StateFiles.EnsureDirectory(directory);
        var keyPath = Path.Combine(directory, KeyFileName);
        var certificatePath = Path.Combine(directory, CertificateFileName);
        if (!File.Exists(keyPath) || !File.Exists(certificatePath))
        {
            using var gate = StateFiles.Lock(Path.Combine(directory, EnrollmentStore.LockFileName));
            if (!File.Exists(keyPath) || !File.Exists(certificatePath))
            {
                Create(keyPath, certificatePath, (time ?? TimeProvider.System).GetUtcNow());
            }
        }

        return FromPem(File.ReadAllText(certificatePath), File.ReadAllText(keyPath), $"{keyPath} is not the key of {certificatePath}.");
    }

    /// <summary>The CA of a certificate and its private key (PEM), as a cluster's shared enrollment document holds them.</summary>
    /// <exception cref="CryptographicException">The key is not the certificate's, or either is unreadable.</exception>
    public static CertificateAuthority FromPem(string certificatePem, string keyPem, string? mismatch = null)
    {
        var certificate = X509Certificate2.CreateFromPem(certificatePem);
        var key = ECDsa.Create();
        try
        {
            key.ImportFromPem(keyPem);
            using var publicKey = certificate.GetECDsaPublicKey();
            if (publicKey is null || !publicKey.ExportSubjectPublicKeyInfo().AsSpan().SequenceEqual(key.ExportSubjectPublicKeyInfo()))
            {
                throw new CryptographicException(mismatch ?? "The CA key is not the key of the CA certificate.");
            }

            return new CertificateAuthority(certificate, key);
        }
        catch
        {
            key.Dispose();
            certificate.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Issues a VM's worker certificate for the public key of <paramref name="csrPem"/>. The request's signature must
    /// verify (proof of possession) and its key must be ECDSA P-256/P-384 or RSA &gt;= 2048; everything else in it
    /// (subject, extensions) is ignored.
    /// </summary>
    /// <exception cref="CryptographicException">The request is malformed, unsigned or has a weak key.</exception>
    public X509Certificate2 IssueWorkerCertificate(string csrPem, string vmId, DateTimeOffset now, TimeSpan validity)
    {
        ArgumentException.ThrowIfNullOrEmpty(vmId);
        CertificateRequest csr;
        try
        {
            csr = CertificateRequest.LoadSigningRequestPem(csrPem, HashAlgorithmName.SHA256, CertificateRequestLoadOptions.Default);
        }
        catch (Exception e) when (e is ArgumentException or FormatException)
        {
            throw new CryptographicException("The certificate request is not a PEM PKCS#10 request.", e);
        }

        var publicKey = csr.PublicKey;
        CheckKey(publicKey);
        var subject = new X500DistinguishedNameBuilder();
        subject.AddOrganizationName("GuestOps");
        subject.AddOrganizationalUnitName("GuestOps VM worker");
        subject.AddCommonName(vmId);
        var request = new CertificateRequest(subject.Build(), publicKey, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddUri(VmUri(vmId));
        request.CertificateExtensions.Add(san.Build(critical: false));
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | (publicKey.Oid.Value == "1.2.840.113549.1.1.1" ? X509KeyUsageFlags.KeyEncipherment : 0), true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([ClientAuthentication], false));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(publicKey, false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(Certificate, includeKeyIdentifier: true, includeIssuerAndSerial: false));
        return request.Create(_withKey, NotBefore(now), Min(now + validity, Certificate.NotAfter.ToUniversalTime()), SerialNumber());
    }

    /// <summary>A server certificate (with a new private key) for the worker listener, naming each of
    /// <paramref name="names"/> (host names or IP addresses).</summary>
    public X509Certificate2 IssueServerCertificate(IEnumerable<string> names, DateTimeOffset now, TimeSpan validity)
    {
        var distinct = names.Where(n => !string.IsNullOrWhiteSpace(n)).Distinct(StringComparer.OrdinalIgnoreCase).ToList();
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var subject = new X500DistinguishedNameBuilder();
        subject.AddOrganizationName("GuestOps");
        subject.AddOrganizationalUnitName("GuestOps worker listener");
        subject.AddCommonName(distinct.FirstOrDefault() ?? "guestops-host");
        var request = new CertificateRequest(subject.Build(), key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        foreach (var name in distinct)
        {
            if (IPAddress.TryParse(name, out var ip))
            {
                san.AddIpAddress(ip);
            }
            else
            {
                san.AddDnsName(name);
            }
        }

        request.CertificateExtensions.Add(san.Build(critical: false));
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([ServerAuthentication], false));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(Certificate, includeKeyIdentifier: true, includeIssuerAndSerial: false));
        using var issued = request.Create(_withKey, NotBefore(now), Min(now + validity, Certificate.NotAfter.ToUniversalTime()), SerialNumber());
        return issued.CopyWithPrivateKey(key);
    }

    /// <summary>
    /// Checks that <paramref name="certificate"/> is a worker certificate of this CA, valid at <paramref name="now"/>
    /// (chain of exactly leaf → this CA, client-authentication usage, not expired) and returns the VM id it binds;
    /// null with <paramref name="reason"/> otherwise. Whether it is the VM's <em>current</em> certificate is the
    /// <see cref="EnrollmentStore"/>'s business.
    /// </summary>
    public string? VerifyWorkerCertificate(X509Certificate2 certificate, DateTimeOffset now, out string reason)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(Certificate);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.DisableCertificateDownloads = true;
        chain.ChainPolicy.VerificationTime = now.UtcDateTime;
        chain.ChainPolicy.VerificationTimeIgnored = false;
        chain.ChainPolicy.ApplicationPolicy.Add(ClientAuthentication);
        if (!chain.Build(certificate))
        {
            reason = "not a valid client certificate of this host agent's CA: "
                + string.Join("; ", chain.ChainStatus.Select(s => s.StatusInformation.Trim()).Where(s => s.Length > 0).DefaultIfEmpty("untrusted"));
            return null;
        }

        if (chain.ChainElements.Count != 2 || chain.ChainElements[1].Certificate.RawDataMemory.Span.SequenceEqual(Certificate.RawDataMemory.Span) is false)
        {
            reason = "not issued directly by this host agent's CA";
            return null;
        }

        if (VmIdOf(certificate) is not { } vmId)
        {
            reason = "the certificate names no VM";
            return null;
        }

        reason = "";
        return vmId;
    }

    /// <summary>The VM id a worker certificate binds (its <c>urn:guestops:vm:</c> SAN URI), or null.</summary>
    public static string? VmIdOf(X509Certificate2 certificate)
    {
        var extension = certificate.Extensions["2.5.29.17"];
        if (extension is null)
        {
            return null;
        }

        try
        {
            var reader = new AsnReader(extension.RawData, AsnEncodingRules.DER);
            var names = reader.ReadSequence();
            reader.ThrowIfNotEmpty();
            var uriTag = new Asn1Tag(TagClass.ContextSpecific, 6);
            string? found = null;
            while (names.HasData)
            {
                var tag = names.PeekTag();
                if (tag == uriTag)
                {
                    var uri = names.ReadCharacterString(UniversalTagNumber.IA5String, uriTag);
                    if (uri.StartsWith(VmUriPrefix, StringComparison.Ordinal))
                    {
                        if (found is not null)
                        {
                            return null; // two VM names: ambiguous, never issued by us
                        }

                        found = Uri.UnescapeDataString(uri[VmUriPrefix.Length..]);
                    }
                }
                else
                {
                    names.ReadEncodedValue();
                }
            }

            return string.IsNullOrEmpty(found) ? null : found;
        }
        catch (AsnContentException)
        {
            return null;
        }
    }

    /// <summary>SHA-256 thumbprint (upper-case hex) of a certificate, the key of the enrollment records.</summary>
    public static string ThumbprintOf(X509Certificate2 certificate) => certificate.GetCertHashString(HashAlgorithmName.SHA256);

    public void Dispose()
    {
        _withKey.Dispose();
        _key.Dispose();
        Certificate.Dispose();
    }

    private static Uri VmUri(string vmId) => new(VmUriPrefix + Uri.EscapeDataString(vmId));

    private static void CheckKey(PublicKey publicKey)
    {
        using var ec = publicKey.GetECDsaPublicKey();
        if (ec is not null)
        {
            if (ec.KeySize is 256 or 384)
            {
                return;
            }

            throw new CryptographicException("Only ECDSA P-256 or P-384 keys are accepted.");
        }

        using var rsa = publicKey.GetRSAPublicKey();
        if (rsa is not null && rsa.KeySize >= 2048)
        {
            return;
        }

        throw new CryptographicException("The key must be ECDSA P-256/P-384 or RSA of at least 2048 bits.");
    }

    private static void Create(string keyPath, string certificatePath, DateTimeOffset now)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var subject = new X500DistinguishedNameBuilder();
        subject.AddOrganizationName("GuestOps");
        // A random suffix: two host agents' CAs never share a name, so chains cannot be confused.
        subject.AddCommonName($"GuestOps host agent CA {Dns.GetHostName()} {Convert.ToHexString(RandomNumberGenerator.GetBytes(4))}");
        var request = new CertificateRequest(subject.Build(), key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign | X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        using var certificate = request.CreateSelfSigned(now.AddMinutes(-5), now.AddYears(20));
        // The key first: a crash between the two writes leaves no certificate, so the next start creates both again.
        StateFiles.WriteAtomically(keyPath, key.ExportPkcs8PrivateKeyPem());
        StateFiles.WriteAtomically(certificatePath, certificate.ExportCertificatePem());
    }

    private static byte[] SerialNumber()
    {
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7F; // positive
        serial[0] |= 0x01; // no leading zero byte
        return serial;
    }

    /// <summary>Five minutes of clock skew, never before the CA itself.</summary>
    private DateTimeOffset NotBefore(DateTimeOffset now)
    {
        var caStart = new DateTimeOffset(Certificate.NotBefore.ToUniversalTime());
        var start = now.AddMinutes(-5);
        return start < caStart ? caStart : start;
    }

    private static DateTimeOffset Min(DateTimeOffset a, DateTimeOffset b) => a < b ? a : b;
}
