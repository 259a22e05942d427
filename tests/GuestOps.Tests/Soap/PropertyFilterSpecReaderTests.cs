using System.Text;
using System.Xml;
using System.Xml.Serialization;
using GuestOps.Soap;
using GuestOps.Vim;
using GuestOps.Vim.Contracts;

namespace GuestOps.Tests.Soap;

/// <summary>
/// The fast path for RetrieveProperties(Ex) parameters reads every request real clients sent (the wire captures of
/// pyVmomi, govc and rbvmomi in tests/fixtures/wire-captures) exactly as XmlSerializer reads them, and gives up on shapes it does
/// not know.
/// </summary>
[TestClass]
public sealed class PropertyFilterSpecReaderTests
{
    private static readonly VimOperationCatalog Catalog = new(VimContracts.All);
    private static readonly XmlReaderSettings Settings = SoapEnvelope.ReaderSettings(16 << 20);
    private static readonly XmlSerializer Canonical = new(typeof(PropertyFilterSpec[]), [typeof(TraversalSpec), typeof(SelectionSpec)]);

    /// <summary>The recorded wire captures of the repository (tests/fixtures/wire-captures).</summary>
    private static string WireCaptures()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "GuestOps.sln")))
        {
            dir = dir.Parent;
        }

        var captures = Path.Combine(dir?.FullName ?? throw new AssertFailedException("GuestOps.sln not found above the test binaries."), "tests", "fixtures", "wire-captures");
        Assert.IsTrue(Directory.Exists(captures), $"{captures} is missing.");
        return captures;
    }

    /// <summary>The request bodies of every captured RetrieveProperties / RetrievePropertiesEx call.</summary>
    private static IEnumerable<(string File, byte[] Body)> CapturedRequests()
    {
        foreach (var file in Directory.EnumerateFiles(WireCaptures(), "*.http", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            var text = File.ReadAllText(file);
            var start = text.IndexOf("### REQUEST", StringComparison.Ordinal);
            var end = text.IndexOf("### RESPONSE", StringComparison.Ordinal);
            if (start < 0 || end < 0)
            {
                continue;
            }

            var request = text[start..end];
            var headerEnd = request.IndexOf("\n\n", StringComparison.Ordinal);
            var body = headerEnd < 0 ? "" : request[(headerEnd + 2)..].Trim();
            if (body.StartsWith('<') && (body.Contains("<RetrievePropertiesEx", StringComparison.Ordinal) || body.Contains("<RetrieveProperties ", StringComparison.Ordinal) || body.Contains("<RetrieveProperties>", StringComparison.Ordinal)))
            {
                yield return (file, Encoding.UTF8.GetBytes(body));
            }
        }
    }

    private static (VimOperation Operation, object?[]? Fast, object?[] Serializer) ReadBoth(byte[] body)
    {
        using var stream = new MemoryStream(body);
        VimOperation operation;
        object?[]? fast;
        using (var reader = SoapEnvelope.OpenOperation(stream, Settings))
        {
            Assert.IsTrue(Catalog.TryGet(reader.LocalName, out operation));
            fast = PropertyFilterSpecReader.TryRead(reader, operation);
        }

        stream.Position = 0;
        using var again = SoapEnvelope.OpenOperation(stream, Settings);
        var serializer = (object?[])operation.RequestSerializer.Deserialize(again)!;
        return (operation, fast, serializer);
    }

    private static string Canonicalize(object?[] arguments)
    {
        var builder = new StringBuilder();
        var @this = (ManagedObjectReference?)arguments[0];
        builder.Append(@this?.type).Append(':').Append(@this?.Value).Append('\n');
        using (var writer = new StringWriter(builder))
        {
            Canonical.Serialize(writer, arguments[1]);
        }

        if (arguments.Length > 2)
        {
            builder.Append("\nmaxObjects=").Append((arguments[2] as RetrieveOptions)?.maxObjects?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? (arguments[2] is null ? "no options" : "-"));
        }

        return builder.ToString();
    }

    [TestMethod]
    public void EveryCapturedRequest_IsReadByTheFastPath_AsXmlSerializerReadsIt()
    {
        var count = 0;
        foreach (var (file, body) in CapturedRequests())
        {
            var (operation, fast, serializer) = ReadBoth(body);
            Assert.IsNotNull(fast, $"{file}: the fast path gave up on a real client's {operation.Name}");
            Assert.AreEqual(Canonicalize(serializer), Canonicalize(fast), file);
            count++;
        }

        Assert.IsTrue(count > 50, $"only {count} captured RetrieveProperties(Ex) requests found");
    }

    [TestMethod]
    [DataRow("<specSet><propSet><type>VirtualMachine</type><dynamicType>x</dynamicType></propSet></specSet>", DisplayName = "dynamicType")]
    [DataRow("<specSet><objectSet><obj type=\"Folder\">group-d1</obj><selectSet xsi:type=\"ContainerView\"><name>n</name></selectSet></objectSet></specSet>", DisplayName = "unexpected xsi:type")]
    [DataRow("<specSet><propSet><type>VirtualMachine</type><unknown>1</unknown></propSet></specSet>", DisplayName = "unknown element")]
    [DataRow("<specSet extra=\"1\"><propSet><type>VirtualMachine</type></propSet></specSet>", DisplayName = "unknown attribute")]
    public void UnknownShapes_AreLeftToXmlSerializer(string specSet)
    {
        var body = Encoding.UTF8.GetBytes(
            "<soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"><soapenv:Body>"
            + "<RetrievePropertiesEx xmlns=\"urn:vim25\"><_this type=\"PropertyCollector\">propertyCollector</_this>" + specSet + "<options/></RetrievePropertiesEx>"
            + "</soapenv:Body></soapenv:Envelope>");
        using var stream = new MemoryStream(body);
        using var reader = SoapEnvelope.OpenOperation(stream, Settings);
        Assert.IsTrue(Catalog.TryGet(reader.LocalName, out var operation));
        Assert.IsNull(PropertyFilterSpecReader.TryRead(reader, operation));
    }
}
