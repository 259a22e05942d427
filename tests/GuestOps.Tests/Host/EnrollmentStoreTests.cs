using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using GuestOps.Host.Enrollment;

namespace GuestOps.Tests.Host;

/// <summary>A clock the test moves by hand.</summary>
internal sealed class ManualTime(DateTimeOffset start) : TimeProvider
{
    public DateTimeOffset Now { get; set; } = start;

    public override DateTimeOffset GetUtcNow() => Now;
}

/// <summary>The CA and the token/certificate store of the external provider.</summary>
[TestClass]
public sealed class EnrollmentStoreTests
{
    private string _dir = null!;
    private ManualTime _time = null!;

    [TestInitialize]
    public void Init()
    {
        _dir = Directory.CreateTempSubdirectory("guestops-enroll-").FullName;
        _time = new ManualTime(DateTimeOffset.UtcNow);
    }

    [TestCleanup]
    public void Cleanup() => Directory.Delete(_dir, recursive: true);

    [TestMethod]
    public void Token_IsSingleUse_AndTheSecondRedeemIsRefusedWithoutIssuing()
    {
        using var ca = CertificateAuthority.LoadOrCreate(_dir, _time);
        var store = new EnrollmentStore(_dir, _time);
        var token = store.CreateToken("vm-1", TimeSpan.FromHours(24));

        var record = store.Redeem("vm-1", token.Token, () => Issue(ca, "vm-1"));
        Assert.AreEqual("vm-1", record.VmId);
        Assert.IsNotNull(store.Admitting("vm-1", record.Thumbprint));

        var issuedAgain = false;
        var second = Assert.ThrowsExactly<EnrollmentException>(() => store.Redeem("vm-1", token.Token, () =>
        {
            issuedAgain = true;
            return Issue(ca, "vm-1");
        }));
        Assert.AreEqual(EnrollmentFailure.TokenUsed, second.Failure);
        Assert.AreEqual("tokenUsed", second.Code);
        Assert.IsFalse(issuedAgain, "a used token must not reach the CA");
        Assert.IsNotNull(store.Admitting("vm-1", record.Thumbprint), "a refused replay leaves the enrolled certificate alone");
    }

    [TestMethod]
    public void Token_Expires()
    {
        using var ca = CertificateAuthority.LoadOrCreate(_dir, _time);
        var store = new EnrollmentStore(_dir, _time);
        var token = store.CreateToken("vm-1", TimeSpan.FromHours(24));
        _time.Now += TimeSpan.FromHours(24) + TimeSpan.FromSeconds(1);
        var e = Assert.ThrowsExactly<EnrollmentException>(() => store.Redeem("vm-1", token.Token, () => Issue(ca, "vm-1")));
        Assert.AreEqual(EnrollmentFailure.TokenExpired, e.Failure);

        // Just before expiry it works.
        var fresh = store.CreateToken("vm-1", TimeSpan.FromHours(1));
        _time.Now += TimeSpan.FromMinutes(59);
        store.Redeem("vm-1", fresh.Token, () => Issue(ca, "vm-1"));
    }

    [TestMethod]
    public void OnlyTheTokenHash_IsStored_InAnOwnerOnlyFile()
    {
        var store = new EnrollmentStore(_dir, _time);
        var token = store.CreateToken("vm-1", TimeSpan.FromHours(24));
        Assert.IsGreaterThanOrEqualTo(43, token.Token.Length, "256 random bits");
        var text = File.ReadAllText(store.FilePath);
        Assert.DoesNotContain(token.Token, text, "the token itself must never be stored");
        Assert.Contains(EnrollmentStore.HashToken(token.Token), text);
        Assert.AreEqual(Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(token.Token))), EnrollmentStore.HashToken(token.Token));
        if (!OperatingSystem.IsWindows())
        {
            Assert.AreEqual(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(store.FilePath));
        }

        var stored = store.Read().Tokens.Single();
        Assert.AreEqual("vm-1", stored.VmId);
        Assert.AreEqual(token.Expires, stored.Expires);
        Assert.IsNull(stored.Used);
    }

    [TestMethod]
    public void Token_IsBoundToItsVm_AndAWrongVmDoesNotBurnIt()
    {
        using var ca = CertificateAuthority.LoadOrCreate(_dir, _time);
        var store = new EnrollmentStore(_dir, _time);
        var token = store.CreateToken("vm-1", TimeSpan.FromHours(24));
        var e = Assert.ThrowsExactly<EnrollmentException>(() => store.Redeem("vm-2", token.Token, () => Issue(ca, "vm-2")));
        Assert.AreEqual(EnrollmentFailure.InvalidToken, e.Failure);
        Assert.ThrowsExactly<EnrollmentException>(() => store.Redeem("vm-1", token.Token + "x", () => Issue(ca, "vm-1")));
        store.Redeem("vm-1", token.Token, () => Issue(ca, "vm-1"));
    }

    [TestMethod]
    public void AFailedIssue_LeavesTheTokenUnused()
    {
        var store = new EnrollmentStore(_dir, _time);
        var token = store.CreateToken("vm-1", TimeSpan.FromHours(24));
        Assert.ThrowsExactly<EnrollmentException>(() => store.Redeem("vm-1", token.Token, () => throw new EnrollmentException(EnrollmentFailure.BadRequest, "bad csr")));
        Assert.IsNull(store.Read().Tokens.Single().Used);
    }

    [TestMethod]
    public void ANewerBundle_CancelsTheOlderUnusedOne()
    {
        using var ca = CertificateAuthority.LoadOrCreate(_dir, _time);
        var store = new EnrollmentStore(_dir, _time);
        var first = store.CreateToken("vm-1", TimeSpan.FromHours(24));
        var second = store.CreateToken("vm-1", TimeSpan.FromHours(24));
        Assert.AreEqual(EnrollmentFailure.InvalidToken, Assert.ThrowsExactly<EnrollmentException>(() => store.Redeem("vm-1", first.Token, () => Issue(ca, "vm-1"))).Failure);
        store.Redeem("vm-1", second.Token, () => Issue(ca, "vm-1"));
    }

    [TestMethod]
    public void ReEnrollment_RevokesThePreviousCertificate_AndRevokeEndsAll()
    {
        using var ca = CertificateAuthority.LoadOrCreate(_dir, _time);
        var store = new EnrollmentStore(_dir, _time);
        var one = store.Redeem("vm-1", store.CreateToken("vm-1", TimeSpan.FromHours(1)).Token, () => Issue(ca, "vm-1"));
        var other = store.Redeem("vm-2", store.CreateToken("vm-2", TimeSpan.FromHours(1)).Token, () => Issue(ca, "vm-2"));
        var two = store.Redeem("vm-1", store.CreateToken("vm-1", TimeSpan.FromHours(1)).Token, () => Issue(ca, "vm-1"));
        Assert.IsNull(store.Admitting("vm-1", one.Thumbprint), "replaced");
        Assert.IsNotNull(store.Admitting("vm-1", two.Thumbprint));
        Assert.IsNotNull(store.Admitting("vm-2", other.Thumbprint), "another VM is unaffected");

        // Certificate binding: a certificate admits only the VM it was enrolled for.
        Assert.IsNull(store.Admitting("vm-2", two.Thumbprint));
        Assert.IsNull(store.Admitting("vm-1", other.Thumbprint));

        var pending = store.CreateToken("vm-1", TimeSpan.FromHours(1));
        Assert.AreEqual(1, store.Revoke("vm-1"));
        Assert.IsNull(store.Admitting("vm-1", two.Thumbprint));
        Assert.AreEqual(EnrollmentFailure.InvalidToken, Assert.ThrowsExactly<EnrollmentException>(() => store.Redeem("vm-1", pending.Token, () => Issue(ca, "vm-1"))).Failure, "revoke cancels unused bundles");
    }

    [TestMethod]
    public void AnExpiredCertificate_NoLongerAdmits()
    {
        using var ca = CertificateAuthority.LoadOrCreate(_dir, _time);
        var store = new EnrollmentStore(_dir, _time);
        var record = store.Redeem("vm-1", store.CreateToken("vm-1", TimeSpan.FromHours(1)).Token, () => Issue(ca, "vm-1", TimeSpan.FromDays(365)));
        _time.Now += TimeSpan.FromDays(366);
        Assert.IsNull(store.Admitting("vm-1", record.Thumbprint));
    }

    [TestMethod]
    public void TwoStoreInstances_SeeEachOthersChanges()
    {
        // The admin command and the running server are two processes over one file: no caching.
        var admin = new EnrollmentStore(_dir, _time);
        var server = new EnrollmentStore(_dir, _time);
        using var ca = CertificateAuthority.LoadOrCreate(_dir, _time);
        var token = admin.CreateToken("vm-1", TimeSpan.FromHours(1));
        var record = server.Redeem("vm-1", token.Token, () => Issue(ca, "vm-1"));
        Assert.IsNotNull(admin.Admitting("vm-1", record.Thumbprint));
        admin.Revoke("vm-1");
        Assert.IsNull(server.Admitting("vm-1", record.Thumbprint));
    }

    [TestMethod]
    public void CertificateAuthority_IsCreatedOnce_P256_OwnerOnlyFiles()
    {
        string thumbprint;
        using (var ca = CertificateAuthority.LoadOrCreate(_dir, _time))
        {
            thumbprint = ca.Thumbprint;
            using var key = ca.Certificate.GetECDsaPublicKey();
            Assert.IsNotNull(key);
            Assert.AreEqual(256, key.KeySize);
            var constraints = ca.Certificate.Extensions.OfType<X509BasicConstraintsExtension>().Single();
            Assert.IsTrue(constraints.CertificateAuthority);
            Assert.IsTrue(constraints.HasPathLengthConstraint);
            Assert.AreEqual(0, constraints.PathLengthConstraint);
        }

        using (var again = CertificateAuthority.LoadOrCreate(_dir, _time))
        {
            Assert.AreEqual(thumbprint, again.Thumbprint, "loaded, not created again");
        }

        if (!OperatingSystem.IsWindows())
        {
            foreach (var file in new[] { CertificateAuthority.KeyFileName, CertificateAuthority.CertificateFileName })
            {
                Assert.AreEqual(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(_dir, file)), file);
            }
        }

        StringAssert.StartsWith(File.ReadAllText(Path.Combine(_dir, CertificateAuthority.KeyFileName)), "-----BEGIN PRIVATE KEY-----");
    }

    /// <summary>A worker certificate for <paramref name="vmId"/> from a fresh key, as enrollment issues it.</summary>
    internal static X509Certificate2 Issue(CertificateAuthority ca, string vmId, TimeSpan? validity = null)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var csr = new CertificateRequest("CN=whatever", key, HashAlgorithmName.SHA256).CreateSigningRequestPem();
        return ca.IssueWorkerCertificate(csr, vmId, DateTimeOffset.UtcNow, validity ?? TimeSpan.FromDays(365));
    }
}
