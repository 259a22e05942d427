using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace GuestOps.Server.Hosting;

/// <summary>The HTTPS certificate: the configured PFX, or a self-signed one created once in the state directory
/// (SAN: host name, localhost, 127.0.0.1, ::1), whose thumbprints are logged for clients that pin them.</summary>
public static partial class ServerCertificate
{
    public static X509Certificate2 LoadOrCreate(GuestOpsOptions options, ILogger logger)
    {
        var path = options.CertificatePath ?? Path.Combine(options.StateDirectory, "server.pfx");
        X509Certificate2 certificate;
        if (File.Exists(path))
        {
            try
            {
                certificate = X509CertificateLoader.LoadPkcs12FromFile(path, options.CertificatePassword);
            }
            catch (CryptographicException e)
            {
                throw new GuestOpsConfigurationException($"GuestOps:CertificatePath / CertificatePassword (GUESTOPS_CERTIFICATE_PATH, GUESTOPS_CERTIFICATE_PASSWORD): cannot load {path}: {e.Message}", e);
            }
        }
        else if (options.CertificatePath is not null)
        {
            throw new GuestOpsConfigurationException($"GuestOps:CertificatePath (GUESTOPS_CERTIFICATE_PATH): {path} does not exist.");
        }
        else
        {
            certificate = CreateSelfSigned();
            var temp = path + ".tmp";
            File.WriteAllBytes(temp, certificate.Export(X509ContentType.Pkcs12));
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(temp, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }

            File.Move(temp, path, overwrite: true);
            LogCreated(logger, path);
        }

        LogThumbprints(logger, certificate.Subject, certificate.GetCertHashString(HashAlgorithmName.SHA1), certificate.GetCertHashString(HashAlgorithmName.SHA256));
        return certificate;
    }

    private static X509Certificate2 CreateSelfSigned()
    {
        using var key = RSA.Create(2048);
        var hostName = Dns.GetHostName();
        var request = new CertificateRequest($"CN={hostName}, O=GuestOps", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName(hostName);
        san.AddDnsName("localhost");
        san.AddIpAddress(IPAddress.Loopback);
        san.AddIpAddress(IPAddress.IPv6Loopback);
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        var now = DateTimeOffset.UtcNow;
        using var created = request.CreateSelfSigned(now.AddDays(-1), now.AddYears(10));
        return X509CertificateLoader.LoadPkcs12(created.Export(X509ContentType.Pkcs12), null);
    }

    [LoggerMessage(EventId = 4010, Level = LogLevel.Information, Message = "Created a self-signed certificate at {Path}")]
    private static partial void LogCreated(ILogger logger, string path);

    [LoggerMessage(EventId = 4011, Level = LogLevel.Information, Message = "Certificate {Subject}: SHA-1 thumbprint {Sha1}, SHA-256 thumbprint {Sha256}")]
    private static partial void LogThumbprints(ILogger logger, string subject, string sha1, string sha256);
}
