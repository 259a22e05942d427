using System.CommandLine;
using System.Globalization;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using GuestOps.Channel.Enrollment;
using GuestOps.Channel.Transport;

namespace GuestOps.Tools.Enrollment;

/// <summary>Enrollment was refused or failed; <see cref="Code"/> is the host's reason when it gave one.</summary>
internal sealed class EnrollmentFailedException(string message, string? code = null, Exception? inner = null) : Exception(message, inner)
{
    public string? Code { get; } = code;
}

/// <summary>What an enrollment wrote.</summary>
internal sealed record EnrollmentResult(string VmId, string Address, string? ServerName, string KeyPath, string CertificatePath, string CaPath, DateTime NotAfter);

/// <summary>
/// <c>guestops-tools enroll --bundle FILE --out DIR</c>: exchanges an admin's one-time enrollment bundle for this VM's
/// worker certificate. A new ECDSA P-256 key is made here and never leaves the VM; a certificate request and the token
/// go to the host agent's worker listener over TLS, trusting only the bundle's CA; the certificate that comes back is
/// checked (our key, issued by that CA) and written with the key (0600) and the CA into DIR.
/// </summary>
internal static class EnrollCommand
{
    public const string KeyFileName = "worker.key";
    public const string CertificateFileName = "worker.crt";
    public const string CaFileName = "ca.crt";

    public const string Usage = """
        usage: guestops-tools enroll --bundle FILE --out DIR [--server-name NAME] [--timeout SEC]

          --bundle FILE        the enrollment bundle from the host's admin (GuestOps.Server enroll --vm NAME)
          --out DIR            where to write worker.key (0600), worker.crt and ca.crt (created 0700 if missing)
          --server-name NAME   name expected in the listener's certificate (default: from the bundle)
          --timeout SEC        give up after SEC seconds (default 30)

        then: guestops-tools --connect tcp:HOST:PORT[,tcp:HOST:PORT...] --tls-cert DIR/worker.crt --tls-key DIR/worker.key --tls-ca DIR/ca.crt
        """;

    public static async Task<int> RunAsync(IReadOnlyList<string> args, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken)
    {
        var help = ToolsCommandLine.Flag("--help", "-h");
        var bundleOption = ToolsCommandLine.Value<string?>("--bundle", v => v, null);
        var outOption = ToolsCommandLine.Value<string?>("--out", v => v, null);
        var serverNameOption = ToolsCommandLine.Value<string?>("--server-name", v => v, null);
        var timeoutOption = ToolsCommandLine.Value("--timeout", Seconds, TimeSpan.FromSeconds(30));
        var command = new Command("enroll") { help, bundleOption, outOption, serverNameOption, timeoutOption };
        var parsed = ToolsCommandLine.Parse(command, args, out var error);
        if (parsed.GetValue(help))
        {
            stdout.WriteLine(Usage);
            return 0;
        }

        error = error switch
        {
            "--timeout needs a value." => "--timeout needs seconds in 1..3600.",
            "--bundle needs a value." or "--out needs a value." or "--server-name needs a value." => null, // as not given
            _ => error,
        };
        if (error is not null)
        {
            return Usage2(stderr, error);
        }

        // The three paths as given (a missing value counts as not given), the timeout once it is known to be valid.
        string? Given(Option<string?> option) => parsed.GetResult(option) is { Tokens.Count: > 0 } given ? given.Tokens[^1].Value : null;
        var (bundlePath, outDir, serverName) = (Given(bundleOption), Given(outOption), Given(serverNameOption));
        var timeout = parsed.GetValue(timeoutOption);
        if (string.IsNullOrEmpty(bundlePath) || string.IsNullOrEmpty(outDir))
        {
            return Usage2(stderr, "--bundle and --out are required.");
        }

        EnrollmentBundle bundle;
        try
        {
            bundle = ReadBundle(bundlePath);
        }
        catch (EnrollmentFailedException e)
        {
            stderr.WriteLine("guestops-tools enroll: " + e.Message);
            return 2;
        }

        try
        {
            var result = await EnrollAsync(bundle, outDir, serverName, timeout, cancellationToken).ConfigureAwait(false);
            stdout.WriteLine($"Enrolled as VM {(string.IsNullOrEmpty(bundle.VmName) ? result.VmId : bundle.VmName)} ({result.VmId}); certificate valid until {result.NotAfter.ToUniversalTime():u}.");
            stdout.WriteLine($"Wrote {result.KeyPath} (0600), {result.CertificatePath}, {result.CaPath}.");
            var nameArgument = result.ServerName is { } name && name != ChannelEndpoint.Parse(result.Address).Host ? $" --tls-server-name {name}" : "";
            stdout.WriteLine($"Connect with: guestops-tools --connect {string.Join(",", bundle.AllAddresses())} --tls-cert {result.CertificatePath} --tls-key {result.KeyPath} --tls-ca {result.CaPath}{nameArgument}");
            return 0;
        }
        catch (EnrollmentFailedException e)
        {
            stderr.WriteLine("guestops-tools enroll: " + e.Message);
            return 1;
        }
    }

    /// <summary>Reads and checks a bundle file.</summary>
    public static EnrollmentBundle ReadBundle(string path)
    {
        EnrollmentBundle? bundle;
        try
        {
            bundle = EnrollmentBundle.Parse(File.ReadAllText(path));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException)
        {
            throw new EnrollmentFailedException($"cannot read the bundle {path}: {e.Message}", inner: e);
        }

        if (bundle is null)
        {
            throw new EnrollmentFailedException($"{path} is not an enrollment bundle (format {EnrollmentProtocol.BundleFormat}).");
        }

        if (string.IsNullOrEmpty(bundle.VmId) || string.IsNullOrEmpty(bundle.Token) || string.IsNullOrEmpty(bundle.Address) || string.IsNullOrEmpty(bundle.CaCertificate))
        {
            throw new EnrollmentFailedException($"{path} lacks vmId, token, address or caCertificate.");
        }

        return bundle;
    }

    /// <summary>Enrolls with <paramref name="bundle"/> and writes the key, certificate and CA into <paramref name="outDir"/>.</summary>
    public static async Task<EnrollmentResult> EnrollAsync(EnrollmentBundle bundle, string outDir, string? serverName, TimeSpan timeout, CancellationToken cancellationToken)
    {
        ChannelEndpoint endpoint;
        X509Certificate2 ca;
        try
        {
            endpoint = ChannelEndpoint.Parse(bundle.Address);
            ca = X509Certificate2.CreateFromPem(bundle.CaCertificate);
        }
        catch (Exception e) when (e is FormatException or CryptographicException or ArgumentException)
        {
            throw new EnrollmentFailedException($"the bundle's address or CA certificate is malformed: {e.Message}", inner: e);
        }

        using var caCertificate = ca;
        if (endpoint.Kind != ChannelTransportKind.Tcp)
        {
            throw new EnrollmentFailedException($"the bundle's address {bundle.Address} is not tcp:HOST:PORT.");
        }

        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var subject = new X500DistinguishedNameBuilder();
        subject.AddCommonName(bundle.VmId);
        var csr = new CertificateRequest(subject.Build(), key, HashAlgorithmName.SHA256).CreateSigningRequestPem();
        var targetHost = serverName ?? bundle.ServerName ?? endpoint.Host!;

        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        EnrollmentResponse? response;
        try
        {
            using var client = new TcpClient { NoDelay = true };
            await client.ConnectAsync(endpoint.Host!, endpoint.Port, deadline.Token).ConfigureAwait(false);
            await using var ssl = new SslStream(client.GetStream(), leaveInnerStreamOpen: false);
            await ssl.AuthenticateAsClientAsync(
                new SslClientAuthenticationOptions
                {
                    TargetHost = targetHost,
                    EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
                    CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
                    RemoteCertificateValidationCallback = ChannelTls.TrustOnly(caCertificate, requireName: true),
                },
                deadline.Token).ConfigureAwait(false);
            await EnrollmentProtocol.WriteAsync(ssl, new EnrollmentRequest { VmId = bundle.VmId, Token = bundle.Token, Csr = csr }, EnrollmentJsonContext.Default.EnrollmentRequest, deadline.Token).ConfigureAwait(false);
            response = await EnrollmentProtocol.ReadAsync(ssl, EnrollmentJsonContext.Default.EnrollmentResponse, deadline.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new EnrollmentFailedException($"the host agent at {endpoint} did not answer within {timeout.TotalSeconds:0} s.");
        }
        catch (AuthenticationException e)
        {
            throw new EnrollmentFailedException($"TLS with {endpoint} failed (is it the listener of the bundle's host, named {targetHost}?): {e.Message}", inner: e);
        }
        catch (Exception e) when (e is IOException or SocketException)
        {
            throw new EnrollmentFailedException($"cannot enroll at {endpoint}: {e.Message}", inner: e);
        }

        if (response is null)
        {
            throw new EnrollmentFailedException($"{endpoint} did not answer with an enrollment response.");
        }

        if (response.Error is not null || response.Certificate is null)
        {
            throw new EnrollmentFailedException($"enrollment refused ({response.Error ?? "no certificate"}): {response.Message}", response.Error);
        }

        using var certificate = CheckIssued(response.Certificate, key, caCertificate);
        return Write(outDir, key, certificate, caCertificate, bundle, targetHost);
    }

    /// <summary>The issued certificate must carry our key, be for client authentication and chain to the bundle's CA.</summary>
    private static X509Certificate2 CheckIssued(string pem, ECDsa key, X509Certificate2 ca)
    {
        X509Certificate2 certificate;
        try
        {
            certificate = X509Certificate2.CreateFromPem(pem);
        }
        catch (CryptographicException e)
        {
            throw new EnrollmentFailedException($"the host returned an unreadable certificate: {e.Message}", inner: e);
        }

        using var publicKey = certificate.GetECDsaPublicKey();
        if (publicKey is null || !publicKey.ExportSubjectPublicKeyInfo().AsSpan().SequenceEqual(key.ExportSubjectPublicKeyInfo()))
        {
            certificate.Dispose();
            throw new EnrollmentFailedException("the host returned a certificate for another key.");
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.DisableCertificateDownloads = true;
        chain.ChainPolicy.ApplicationPolicy.Add(new Oid("1.3.6.1.5.5.7.3.2"));
        if (!chain.Build(certificate))
        {
            certificate.Dispose();
            throw new EnrollmentFailedException("the host returned a certificate that does not chain to the bundle's CA for client authentication.");
        }

        return certificate;
    }

    private static EnrollmentResult Write(string outDir, ECDsa key, X509Certificate2 certificate, X509Certificate2 ca, EnrollmentBundle bundle, string serverName)
    {
        try
        {
            outDir = Path.GetFullPath(outDir);
            if (OperatingSystem.IsWindows())
            {
                Directory.CreateDirectory(outDir);
            }
            else if (!Directory.Exists(outDir))
            {
                Directory.CreateDirectory(outDir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            }

            var keyPath = Path.Combine(outDir, KeyFileName);
            var certificatePath = Path.Combine(outDir, CertificateFileName);
            var caPath = Path.Combine(outDir, CaFileName);
            const UnixFileMode Public = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
            WriteAtomically(caPath, ca.ExportCertificatePem() + "\n", Public);
            WriteAtomically(keyPath, key.ExportPkcs8PrivateKeyPem() + "\n", UnixFileMode.UserRead | UnixFileMode.UserWrite);
            WriteAtomically(certificatePath, certificate.ExportCertificatePem() + "\n", Public);
            return new EnrollmentResult(bundle.VmId, bundle.Address, serverName, keyPath, certificatePath, caPath, certificate.NotAfter);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new EnrollmentFailedException($"enrolled, but cannot write into {outDir}: {e.Message}", inner: e);
        }
    }

    /// <summary>A temporary file created with <paramref name="mode"/> (never wider), then renamed over the target.</summary>
    private static void WriteAtomically(string path, string contents, UnixFileMode mode)
    {
        var temp = $"{path}.{Environment.ProcessId}.tmp";
        File.Delete(temp);
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = mode;
        }

        using (var stream = new FileStream(temp, options))
        {
            stream.Write(System.Text.Encoding.ASCII.GetBytes(contents));
            stream.Flush(flushToDisk: true);
        }

        File.Move(temp, path, overwrite: true);
    }

    private static TimeSpan Seconds(string text) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds) && seconds is >= 1 and <= 3600
            ? TimeSpan.FromSeconds(seconds)
            : throw new FormatException("--timeout needs seconds in 1..3600.");

    private static int Usage2(TextWriter stderr, string message)
    {
        stderr.WriteLine("guestops-tools enroll: " + message);
        stderr.WriteLine(Usage);
        return 2;
    }
}
