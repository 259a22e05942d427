using System.Text;
using GuestOps.Channel.Enrollment;
using GuestOps.Host.Enrollment;

namespace GuestOps.Tests.Host;

/// <summary>
/// The enrollment exchange's bytes and the bundle file's text, pinned: host agents and workers of different releases
/// talk to each other, so a change here is a protocol change (a new <see cref="EnrollmentProtocol.Version"/> or
/// <see cref="EnrollmentProtocol.BundleFormat"/>), never a refactoring.
/// </summary>
[TestClass]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class EnrollmentProtocolTests
{
    private static readonly EnrollmentBundle SampleBundle = new()
    {
        VmId = "vm-7",
        VmName = "db 7",
        Address = "tcp:h:1",
        ServerName = "h",
        CaCertificate = "CA",
        Token = "tok",
        Expires = new DateTimeOffset(2030, 1, 2, 3, 4, 5, TimeSpan.Zero),
    };

    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    public async Task Messages_AreFramedAsBefore()
    {
        var ct = TestContext.CancellationToken;
        using var stream = new MemoryStream();
        await EnrollmentProtocol.WriteAsync(stream, new EnrollmentRequest { VmId = "vm-1", Token = "tok", Csr = "csr" }, EnrollmentJsonContext.Default.EnrollmentRequest, ct);
        CollectionAssert.AreEqual(Frame("""{"version":1,"vmId":"vm-1","token":"tok","csr":"csr"}"""), stream.ToArray());

        stream.SetLength(0);
        await EnrollmentProtocol.WriteAsync(stream, new EnrollmentResponse { Certificate = "c", CaCertificate = "ca" }, EnrollmentJsonContext.Default.EnrollmentResponse, ct);
        await EnrollmentProtocol.WriteAsync(stream, new EnrollmentResponse { Error = "tokenUsed", Message = "m" }, EnrollmentJsonContext.Default.EnrollmentResponse, ct);
        CollectionAssert.AreEqual(
            Frame("""{"version":1,"certificate":"c","caCertificate":"ca"}""").Concat(Frame("""{"version":1,"error":"tokenUsed","message":"m"}""")).ToArray(),
            stream.ToArray());

        stream.Position = 0;
        Assert.AreEqual(new EnrollmentResponse { Certificate = "c", CaCertificate = "ca" }, await EnrollmentProtocol.ReadAsync(stream, EnrollmentJsonContext.Default.EnrollmentResponse, ct));
        Assert.AreEqual(new EnrollmentResponse { Error = "tokenUsed", Message = "m" }, await EnrollmentProtocol.ReadAsync(stream, EnrollmentJsonContext.Default.EnrollmentResponse, ct));
    }

    [TestMethod]
    public async Task Read_RefusesWhatIsNotAnEnrollmentMessage()
    {
        var ct = TestContext.CancellationToken;
        Task<EnrollmentRequest?> Read(byte[] bytes) => EnrollmentProtocol.ReadAsync(new MemoryStream(bytes), EnrollmentJsonContext.Default.EnrollmentRequest, ct);

        Assert.AreEqual(new EnrollmentRequest { VmId = "v", Token = "t", Csr = "c" }, await Read(Frame("""{"version":1,"vmId":"v","token":"t","csr":"c"}""")));
        var wrongMagic = Frame("{}");
        wrongMagic[0] = (byte)'X';
        Assert.IsNull(await Read(wrongMagic));
        Assert.IsNull(await Read([.. "GOENROLL"u8, 0, 0, 0, 0]), "empty");
        Assert.IsNull(await Read([.. "GOENROLL"u8, 0, 0, 0x80, 1]), "over 32 KiB");
        Assert.IsNull(await Read(Frame("not json")));
        await Assert.ThrowsExactlyAsync<EndOfStreamException>(() => Read(Frame("{}")[..^1]));
    }

    [TestMethod]
    public void Bundle_IsWrittenAsBefore_AndReadBack()
    {
        const string Expected = """
            {
              "format": "guestops-enrollment/1",
              "vmId": "vm-7",
              "vmName": "db 7",
              "address": "tcp:h:1",
              "serverName": "h",
              "caCertificate": "CA",
              "token": "tok",
              "expires": "2030-01-02T03:04:05+00:00"
            }
            """;
        Assert.AreEqual(Expected.ReplaceLineEndings("\n"), SampleBundle.ToJson().ReplaceLineEndings("\n"));
        Assert.AreEqual(SampleBundle, EnrollmentBundle.FromJson(Expected));
        Assert.DoesNotContain("serverName", (SampleBundle with { ServerName = null }).ToJson(), "nulls are left out");

        Assert.IsNull(EnrollmentBundle.FromJson(Expected.Replace("guestops-enrollment/1", "guestops-enrollment/2", StringComparison.Ordinal)), "another format");
        Assert.IsNull(EnrollmentBundle.FromJson("""{"vmId":"vm-7","token":"tok"}"""), "no format: not a bundle");
        Assert.IsNull(EnrollmentBundle.FromJson("""{"format":null}"""));
        Assert.IsNull(EnrollmentBundle.FromJson("not json"));
    }

    [TestMethod]
    public void Bundle_OfSeveralHostAgents_KeepsAddressAsTheFirst_AndOldBundlesStillRead()
    {
        var several = SampleBundle with { Addresses = ["tcp:h:1", "tcp:g:2"] };
        var json = several.ToJson();
        StringAssert.Contains(json, "\"address\": \"tcp:h:1\"", StringComparison.Ordinal);
        StringAssert.Contains(json, "\"addresses\": [", StringComparison.Ordinal);
        CollectionAssert.AreEqual(new[] { "tcp:h:1", "tcp:g:2" }, EnrollmentBundle.FromJson(json)!.AllAddresses().ToArray());

        // A bundle written before there were several addresses (no "addresses") lists its one address.
        CollectionAssert.AreEqual(new[] { "tcp:h:1" }, EnrollmentBundle.FromJson(SampleBundle.ToJson())!.AllAddresses().ToArray());
        Assert.DoesNotContain("addresses", SampleBundle.ToJson(), "a one-host bundle is written as before");
        CollectionAssert.AreEqual(new[] { "tcp:h:1" }, (SampleBundle with { Addresses = [] }).AllAddresses().ToArray());
        CollectionAssert.AreEqual(new[] { "tcp:g:2", "tcp:h:1" }, (SampleBundle with { Addresses = ["tcp:g:2", "", "tcp:h:1", "tcp:g:2"] }).AllAddresses().ToArray());
    }

    [TestMethod]
    public void Bundle_IsSavedForItsOwnerOnly()
    {
        var dir = Directory.CreateTempSubdirectory("guestops-bundle-").FullName;
        try
        {
            var path = Path.Combine(dir, "bundle.json");
            SampleBundle.Save(path);
            Assert.AreEqual(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
            Assert.AreEqual(SampleBundle.ToJson() + Environment.NewLine, File.ReadAllText(path));
            Assert.AreEqual(SampleBundle, EnrollmentBundle.FromJson(File.ReadAllText(path)));
            Assert.HasCount(1, Directory.GetFiles(dir), "no temporary file left behind");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static byte[] Frame(string json)
    {
        var body = Encoding.UTF8.GetBytes(json);
        return [.. "GOENROLL"u8, (byte)(body.Length >> 24), (byte)(body.Length >> 16), (byte)(body.Length >> 8), (byte)body.Length, .. body];
    }
}
