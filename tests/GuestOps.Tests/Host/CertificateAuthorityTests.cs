using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using GuestOps.Host.Enrollment;

namespace GuestOps.Tests.Host;

/// <summary>What the host agent's CA issues and which presented certificates it recognizes.</summary>
[TestClass]
public sealed class CertificateAuthorityTests
{
    private string _dir = null!;

    [TestInitialize]
    public void Init() => _dir = Directory.CreateTempSubdirectory("guestops-ca-").FullName;

    [TestCleanup]
    public void Cleanup() => Directory.Delete(_dir, recursive: true);

    [TestMethod]
    public void WorkerCertificate_BindsTheVmId_ForClientAuthOnly_ForAboutAYear()
    {
        using var ca = CertificateAuthority.LoadOrCreate(_dir);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        // The request asks for another name and for server use: both are ignored.
        var request = new CertificateRequest("CN=vm-2, O=Evil", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([CertificateAuthority.ServerAuthentication], false));
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        var now = DateTimeOffset.UtcNow;
        using var issued = ca.IssueWorkerCertificate(request.CreateSigningRequestPem(), "vm-1", now, TimeSpan.FromDays(365));

        Assert.AreEqual("vm-1", CertificateAuthority.VmIdOf(issued));
        Assert.AreEqual("vm-1", issued.GetNameInfo(X509NameType.SimpleName, false));
        Assert.AreEqual(ca.Certificate.Subject, issued.Issuer);
        var usages = issued.Extensions.OfType<X509EnhancedKeyUsageExtension>().Single().EnhancedKeyUsages.Cast<Oid>().Select(o => o.Value).ToList();
        CollectionAssert.AreEqual(new[] { CertificateAuthority.ClientAuthentication.Value }, usages);
        Assert.IsFalse(issued.Extensions.OfType<X509BasicConstraintsExtension>().Single().CertificateAuthority);
        Assert.IsLessThan(TimeSpan.FromMinutes(1), (issued.NotAfter.ToUniversalTime() - now.AddDays(365).UtcDateTime).Duration());
        using var issuedKey = issued.GetECDsaPublicKey();
        CollectionAssert.AreEqual(key.ExportSubjectPublicKeyInfo(), issuedKey!.ExportSubjectPublicKeyInfo(), "the certificate is for the requester's key");

        Assert.AreEqual("vm-1", ca.VerifyWorkerCertificate(issued, now, out var reason), reason);
        Assert.IsNull(ca.VerifyWorkerCertificate(issued, now.AddDays(366), out reason), "expired");
    }

    [TestMethod]
    public void VmIds_WithOddCharacters_RoundTrip()
    {
        using var ca = CertificateAuthority.LoadOrCreate(_dir);
        foreach (var id in new[] { "vm-42", "db server/01", "vm:ä,=+" })
        {
            using var cert = EnrollmentStoreTests.Issue(ca, id);
            Assert.AreEqual(id, CertificateAuthority.VmIdOf(cert));
            Assert.AreEqual(id, ca.VerifyWorkerCertificate(cert, DateTimeOffset.UtcNow, out _));
        }
    }

    [TestMethod]
    public void ForeignCa_WithTheSameVmId_IsNotRecognized()
    {
        using var ca = CertificateAuthority.LoadOrCreate(Path.Combine(_dir, "ours"));
        using var other = CertificateAuthority.LoadOrCreate(Path.Combine(_dir, "theirs"));
        Assert.AreNotEqual(ca.Certificate.Subject, other.Certificate.Subject, "CA names are unique");
        using var foreign = EnrollmentStoreTests.Issue(other, "vm-1");
        Assert.AreEqual("vm-1", CertificateAuthority.VmIdOf(foreign));
        Assert.IsNull(ca.VerifyWorkerCertificate(foreign, DateTimeOffset.UtcNow, out var reason));
        StringAssert.Contains(reason, "CA");
    }

    [TestMethod]
    public void ServerCertificate_IsNotAWorkerCertificate()
    {
        using var ca = CertificateAuthority.LoadOrCreate(_dir);
        using var server = ca.IssueServerCertificate(["vm-1", "127.0.0.1"], DateTimeOffset.UtcNow, TimeSpan.FromDays(90));
        Assert.IsTrue(server.HasPrivateKey);
        Assert.IsNull(ca.VerifyWorkerCertificate(server, DateTimeOffset.UtcNow, out _), "server usage only, and no VM URI");
        var san = server.Extensions.OfType<X509SubjectAlternativeNameExtension>().Single();
        CollectionAssert.Contains(san.EnumerateDnsNames().ToList(), "vm-1");
        CollectionAssert.Contains(san.EnumerateIPAddresses().ToList(), IPAddress.Loopback);
    }

    [TestMethod]
    public void BadRequests_AreRefused()
    {
        using var ca = CertificateAuthority.LoadOrCreate(_dir);
        Assert.ThrowsExactly<CryptographicException>(() => ca.IssueWorkerCertificate("not a csr", "vm-1", DateTimeOffset.UtcNow, TimeSpan.FromDays(1)));

        using var weak = RSA.Create(1024);
        var weakCsr = new CertificateRequest("CN=x", weak, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1).CreateSigningRequestPem();
        Assert.ThrowsExactly<CryptographicException>(() => ca.IssueWorkerCertificate(weakCsr, "vm-1", DateTimeOffset.UtcNow, TimeSpan.FromDays(1)));

        // A request whose signature does not verify (proof of possession fails).
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var der = new CertificateRequest("CN=x", key, HashAlgorithmName.SHA256).CreateSigningRequest();
        der[^3] ^= 0x55;
        var tampered = PemEncoding.WriteString("CERTIFICATE REQUEST", der);
        Assert.ThrowsExactly<CryptographicException>(() => ca.IssueWorkerCertificate(tampered, "vm-1", DateTimeOffset.UtcNow, TimeSpan.FromDays(1)));
    }
}
