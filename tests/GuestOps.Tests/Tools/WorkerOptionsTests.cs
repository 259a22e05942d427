using GuestOps.Channel.Transport;
using GuestOps.Tools;

namespace GuestOps.Tests.Tools;

[TestClass]
public sealed class WorkerOptionsTests
{
    [TestMethod]
    public void Parses_UnixEndpoint_AndDefaults()
    {
        var o = WorkerOptions.Parse(["--connect", "unix:/run/guestops/vm1.sock"], out var error, out _);
        Assert.IsNull(error);
        Assert.AreEqual(ChannelTransportKind.Unix, o!.Endpoint.Kind);
        Assert.AreEqual("/run/guestops/vm1.sock", o.Endpoint.Path);
        Assert.AreEqual("guestops-tools", o.PamService);
        Assert.AreEqual(TimeSpan.Zero, o.CredentialCacheTtl);
    }

    [TestMethod]
    public void Parses_AllOptions()
    {
        var o = WorkerOptions.Parse(
            ["--connect", "tcp:[::1]:9443", "--tls-cert", "c.pem", "--tls-key", "k.pem", "--tls-ca", "ca.pem", "--pam-service", "login",
             "--credential-cache-ttl", "30", "--disable", "ListFilesInGuest", "--heartbeat-interval", "500", "--log-level", "debug"],
            out var error,
            out _);
        Assert.IsNull(error, error);
        Assert.AreEqual("::1", o!.Endpoint.Host);
        Assert.AreEqual(9443, o.Endpoint.Port);
        Assert.AreEqual("login", o.PamService);
        Assert.AreEqual(TimeSpan.FromSeconds(30), o.CredentialCacheTtl);
        Assert.Contains("ListFilesInGuest", o.DisabledOperations);
        Assert.AreEqual(TimeSpan.FromMilliseconds(500), o.HeartbeatInterval);
    }

    [TestMethod]
    public void Parses_SeveralTcpEndpoints_InOrder()
    {
        var o = WorkerOptions.Parse(
            ["--connect", "tcp:a:1, tcp:b:2,tcp:a:1", "--tls-cert", "c.pem", "--tls-key", "k.pem", "--tls-ca", "ca.pem"],
            out var error,
            out _);
        Assert.IsNull(error, error);
        CollectionAssert.AreEqual(new[] { "a:1", "b:2" }, o!.Endpoints.Select(e => $"{e.Host}:{e.Port}").ToArray());
        Assert.AreEqual("a", o.Endpoint.Host);

        WorkerOptions.Parse(["--connect", "tcp:a:1,unix:/run/x.sock", "--tls-cert", "c", "--tls-key", "k", "--tls-ca", "ca"], out error, out _);
        StringAssert.Contains(error, "several", StringComparison.Ordinal);
    }

    [TestMethod]
    public void Rejects_BadInput()
    {
        foreach (var args in new[]
                 {
                     Array.Empty<string>(),
                     ["--connect"],
                     ["--connect", "http://x"],
                     ["--connect", "tcp:host:1"], // mTLS material required
                     ["--connect", "vsock:3:1024"],
                     ["--connect", "unix:/s", "--pam-service", "../etc/passwd"],
                     ["--connect", "unix:/s", "--bogus"],
                 })
        {
            Assert.IsNull(WorkerOptions.Parse(args, out var error, out _), string.Join(' ', args));
            Assert.IsNotNull(error);
        }

        Assert.IsNull(WorkerOptions.Parse(["--help"], out var e2, out var info));
        Assert.IsNull(e2);
        StringAssert.Contains(info!, "--connect");
    }
}
