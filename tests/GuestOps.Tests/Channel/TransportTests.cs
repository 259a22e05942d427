using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using GuestOps.Channel;
using GuestOps.Channel.Connection;
using GuestOps.Channel.Messages;
using GuestOps.Channel.Transport;

namespace GuestOps.Tests.Channel;

[TestClass]
public sealed class TransportTests
{
    private static readonly DelegateHandler Ok = new((_, _) => ValueTask.FromResult(ChannelResponse.Success(EmptyResult.Instance)));

    [TestMethod]
    public void Endpoints_Parse_AndFormat()
    {
        Assert.AreEqual("/run/x.sock", ChannelEndpoint.Parse("unix:/run/x.sock").Path);
        var tcp = ChannelEndpoint.Parse("tcp:[::1]:9443");
        Assert.AreEqual("::1", tcp.Host);
        Assert.AreEqual(9443, tcp.Port);
        Assert.AreEqual("tcp:[::1]:9443", tcp.ToString());
        var vsock = ChannelEndpoint.Parse("vsock:2:5000");
        Assert.AreEqual(ChannelTransportKind.Vsock, vsock.Kind);
        Assert.AreEqual(2u, vsock.Cid);
        Assert.ThrowsExactly<FormatException>(() => ChannelEndpoint.Parse("tcp:host"));
        Assert.ThrowsExactly<FormatException>(() => ChannelEndpoint.Parse("pipe:/x"));
        Assert.ThrowsExactly<FormatException>(() => ChannelEndpoint.Parse("unix:"));
    }

    [TestMethod]
    [Timeout(60_000, CooperativeCancellation = true)]
    public async Task UnixSocket_ConnectsAChannel_AndReplacesAStaleSocketFile()
    {
        var ct = ChannelTestKit.Timeout(out var cts);
        using var _ = cts;
        var dir = Directory.CreateTempSubdirectory("guestops-uds-").FullName;
        try
        {
            var path = Path.Combine(dir, "vm.sock");
            await File.WriteAllTextAsync(path, "stale", ct);
            await using var listener = UnixSocketChannelListener.Start(path);
            if (!OperatingSystem.IsWindows())
            {
                Assert.AreEqual(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
            }

            var accept = listener.AcceptAsync(ct).AsTask();
            var workerTransport = await new UnixSocketChannelConnector(path).ConnectAsync(ct);
            var hostTransport = await accept;
            var hostTask = ChannelConnection.EstablishAsync(hostTransport.Stream, ChannelTestKit.HostOptions(), ct);
            await using var worker = await ChannelConnection.EstablishAsync(workerTransport.Stream, ChannelTestKit.WorkerOptions(Ok), ct);
            await using var host = await hostTask;
            Assert.IsTrue((await host.SendAsync(new ValidateCredentialsRequest(), ct)).IsSuccess);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }

        Assert.IsFalse(File.Exists(Path.Combine(dir, "vm.sock")));
    }

    [TestMethod]
    [Timeout(60_000, CooperativeCancellation = true)]
    public async Task TcpMutualTls_AcceptsTheEnrolledWorker_AndRejectsAStrangerCertificate()
    {
        var ct = ChannelTestKit.Timeout(out var cts);
        using var _ = cts;
        using var ca = CreateCa("guestops test CA");
        using var otherCa = CreateCa("someone else");
        using var serverCert = Issue(ca, "localhost", server: true);
        using var workerCert = Issue(ca, "vm-42", server: false);
        using var strangerCert = Issue(otherCa, "vm-42", server: false);

        await using var listener = TcpTlsChannelListener.Start(new IPEndPoint(IPAddress.Loopback, 0), serverCert, ChannelTls.TrustOnly(ca));
        var port = listener.Endpoint.Port;

        // The stranger's handshake fails; the listener keeps going.
        var strangerAccept = listener.AcceptAsync(ct).AsTask();
        var stranger = new TcpTlsChannelConnector("localhost", port, strangerCert, ChannelTls.TrustOnly(ca, requireName: true));
        await Assert.ThrowsAsync<Exception>(async () =>
        {
            var t = await stranger.ConnectAsync(ct);
            // TLS 1.3 may report the client certificate rejection on first use instead of in the handshake.
            var buffer = new byte[1];
            await t.Stream.WriteAsync(buffer, ct);
            if (await t.Stream.ReadAsync(buffer, ct) == 0)
            {
                throw new IOException("closed");
            }
        });
        Assert.IsFalse(strangerAccept.IsCompleted);

        var worker = new TcpTlsChannelConnector("localhost", port, workerCert, ChannelTls.TrustOnly(ca, requireName: true));
        var workerTransport = await worker.ConnectAsync(ct);
        var hostTransport = await strangerAccept.WaitAsync(ct);
        Assert.AreEqual(workerCert.Thumbprint, hostTransport.PeerCertificate!.Thumbprint, "the host learns which worker certificate connected");

        // File data both ways over TLS: large frames go from their buffers to the SslStream and are read from it straight
        // into frame buffers, interleaved with the pipe's small frames.
        var data = RandomNumberGenerator.GetBytes(700_001);
        var echo = new DelegateHandler(async (call, token) =>
        {
            using var uploaded = new MemoryStream();
            await call.RequestData.CopyToAsync(uploaded, token);
            var bytes = uploaded.ToArray();
            for (var off = 0; off < bytes.Length; off += 150_000)
            {
                await call.ResponseData.WriteAsync(bytes.AsMemory(off, Math.Min(150_000, bytes.Length - off)), token);
            }

            return ChannelResponse.Success(EmptyResult.Instance);
        });
        var hostTask = ChannelConnection.EstablishAsync(hostTransport.Stream, ChannelTestKit.HostOptions(), ct);
        await using var w = await ChannelConnection.EstablishAsync(workerTransport.Stream, ChannelTestKit.WorkerOptions(echo), ct);
        await using var host = await hostTask;
        await using var call = await host.StartCallAsync(new ValidateCredentialsRequest(), ct);
        var upload = Task.Run(async () =>
        {
            await call.RequestData.WriteAsync(data, ct);
            await call.RequestData.CompleteAsync(ct);
        }, ct);
        using var downloaded = new MemoryStream();
        await call.ResponseData.CopyToAsync(downloaded, ct);
        await upload;
        Assert.IsTrue((await call.GetResponseAsync(ct)).IsSuccess);
        CollectionAssert.AreEqual(data, downloaded.ToArray());
    }

    private static X509Certificate2 CreateCa(string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var req = new CertificateRequest("CN=" + name, key, HashAlgorithmName.SHA256);
        req.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        req.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        return req.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-10), DateTimeOffset.UtcNow.AddDays(2));
    }

    private static X509Certificate2 Issue(X509Certificate2 ca, string name, bool server)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var req = new CertificateRequest("CN=" + name, key, HashAlgorithmName.SHA256);
        req.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        req.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            [server ? new Oid("1.3.6.1.5.5.7.3.1") : new Oid("1.3.6.1.5.5.7.3.2")], false));
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName(name);
        req.CertificateExtensions.Add(san.Build());
        var serial = RandomNumberGenerator.GetBytes(12);
        using var issued = req.Create(ca, DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1), serial);
        using var withKey = issued.CopyWithPrivateKey(key);
        // Round-trip through PKCS#12 so SslStream gets a persisted key on every platform.
        return X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12), null);
    }
}
