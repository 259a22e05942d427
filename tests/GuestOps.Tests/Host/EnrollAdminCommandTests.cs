using System.Net;
using GuestOps.Channel.Enrollment;
using GuestOps.Host.Enrollment;
using GuestOps.Server.Hosting;

namespace GuestOps.Tests.Host;

/// <summary><c>GuestOps.Server enroll|revoke</c> and the worker listener settings they share with the server.</summary>
[TestClass]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class EnrollAdminCommandTests
{
    private string _state = null!;

    [TestInitialize]
    public void Init() => _state = Directory.CreateTempSubdirectory("guestops-admin-").FullName;

    [TestCleanup]
    public void Cleanup() => Directory.Delete(_state, recursive: true);

    [TestMethod]
    public void Enroll_WritesAOneTimeBundle_ForAnExternalVm()
    {
        var bundlePath = Path.Combine(_state, "out", "..", "ext.json");
        var (code, stdout, stderr) = Run("enroll", "--vm", "ext-vm", "--out", bundlePath, "--valid-hours", "2");
        Assert.AreEqual(0, code, stderr);
        var full = Path.GetFullPath(bundlePath);
        StringAssert.Contains(stdout, $"written to {full}");
        Assert.AreEqual(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(full));

        var bundle = EnrollmentBundle.FromJson(File.ReadAllText(full));
        Assert.IsNotNull(bundle);
        Assert.AreEqual("vm-1", bundle.VmId);
        Assert.AreEqual("ext-vm", bundle.VmName);
        Assert.AreEqual("tcp:192.0.2.10:8902", bundle.Address, "the listener address as configured");
        Assert.AreEqual("192.0.2.10", bundle.ServerName);
        Assert.IsLessThan(TimeSpan.FromMinutes(1), (bundle.Expires - DateTimeOffset.UtcNow - TimeSpan.FromHours(2)).Duration());
        using var ca = CertificateAuthority.LoadOrCreate(EnrollmentStore.DirectoryOf(_state));
        Assert.AreEqual(ca.CertificatePem, bundle.CaCertificate);

        var stored = new EnrollmentStore(EnrollmentStore.DirectoryOf(_state)).Read().Tokens.Single();
        Assert.AreEqual(EnrollmentStore.HashToken(bundle.Token), stored.TokenHash);
        Assert.DoesNotContain(bundle.Token, File.ReadAllText(Path.Combine(EnrollmentStore.DirectoryOf(_state), EnrollmentStore.FileName)));
    }

    [TestMethod]
    public void Enroll_RefusesVmsThatAreNotExternal_OrUnknown_OrWithoutAListener()
    {
        var (code, _, stderr) = Run("enroll", "--vm", "plain-vm");
        Assert.AreEqual(1, code);
        StringAssert.Contains(stderr, "does not have Provider=external");

        (code, _, stderr) = Run("enroll", "--vm", "nope");
        Assert.AreEqual(1, code);
        StringAssert.Contains(stderr, "No VM named 'nope'");

        (code, _, stderr) = Run(["enroll", "--vm", "ext-vm"], listenUrl: null);
        Assert.AreEqual(2, code);
        StringAssert.Contains(stderr, "GuestOps:WorkerListenUrl");

        (code, _, _) = Run("enroll");
        Assert.AreEqual(2, code, "--vm is required");
    }

    [TestMethod]
    public void Enroll_FindsTheVmById_AndRevokeCancelsItsBundle()
    {
        var (code, _, stderr) = Run("enroll", "--vm", "vm-1", "--out", Path.Combine(_state, "b.json"));
        Assert.AreEqual(0, code, stderr);
        (code, var stdout, stderr) = Run("revoke", "--vm", "ext-vm");
        Assert.AreEqual(0, code, stderr);
        StringAssert.Contains(stdout, "revoked");
        Assert.IsNotNull(new EnrollmentStore(EnrollmentStore.DirectoryOf(_state)).Read().Tokens.Single().Cancelled);
    }

    [TestMethod]
    public void ListenerSettings_DeriveTheAdvertisedAddress()
    {
        var any = WorkerListenerSettings.From(new GuestOpsOptions { WorkerListenUrl = "tcp://0.0.0.0:8902" })!;
        Assert.AreEqual(new IPEndPoint(IPAddress.Any, 8902), any.ListenEndPoint);
        Assert.AreEqual($"tcp:{Dns.GetHostName()}:8902", any.AdvertisedAddress, "every address: the machine's name");
        CollectionAssert.IsSubsetOf(new[] { Dns.GetHostName(), "localhost", "127.0.0.1" }, any.ServerNames.ToList());

        var star = WorkerListenerSettings.From(new GuestOpsOptions { WorkerListenUrl = "tcp://*:9000", WorkerAdvertisedAddress = "host.example" })!;
        Assert.AreEqual("tcp:host.example:9000", star.AdvertisedAddress);
        CollectionAssert.Contains(star.ServerNames.ToList(), "host.example");

        var v6 = WorkerListenerSettings.From(new GuestOpsOptions { WorkerListenUrl = "tcp://[::1]:9001", WorkerAdvertisedAddress = "tcp:[fd00::5]:443" })!;
        Assert.AreEqual(IPAddress.IPv6Loopback, v6.ListenEndPoint.Address);
        Assert.AreEqual("tcp:[fd00::5]:443", v6.AdvertisedAddress);

        Assert.IsNull(WorkerListenerSettings.From(new GuestOpsOptions()));
        Assert.ThrowsExactly<GuestOpsConfigurationException>(() => WorkerListenerSettings.From(new GuestOpsOptions { WorkerListenUrl = "tcp://some.host:1" }));
        Assert.ThrowsExactly<GuestOpsConfigurationException>(() => WorkerListenerSettings.From(new GuestOpsOptions { WorkerListenUrl = "tcp://0.0.0.0" }));
    }

    private (int Code, string Stdout, string Stderr) Run(params string[] args) => Run(args, "tcp://192.0.2.10:8902");

    private (int Code, string Stdout, string Stderr) Run(string[] args, string? listenUrl)
    {
        // appsettings.json next to the tests has demo-vm-1 and demo-vm-2 at 0 and 1: override both.
        var settings = new List<string>(args)
        {
            "--state-dir", _state,
            "--GuestOps:VirtualMachines:0:Name=ext-vm",
            "--GuestOps:VirtualMachines:0:Provider=external",
            "--GuestOps:VirtualMachines:1:Name=plain-vm",
        };
        if (listenUrl is not null)
        {
            settings.Add("--GuestOps:WorkerListenUrl=" + listenUrl);
        }

        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var code = new ServerCommandLine(TextReader.Null, stdout, stderr, (_, _) => throw new AssertFailedException("an admin command must not run the server"))
            .InvokeAsync(settings).GetAwaiter().GetResult();
        return (code, stdout.ToString(), stderr.ToString());
    }
}
