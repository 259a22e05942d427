using System.Text;

namespace GuestOps.Reliability.Fuzzing;

/// <summary>
/// Seeds: the request bodies of the captured real clients (pyVmomi, govc, rbvmomi in
/// <c>tests/fixtures/wire-captures</c> of the repository that holds this program), plus a few
/// built-in requests so the fuzzer runs without them.
/// </summary>
internal static class FuzzSeeds
{
    private static readonly string[] BuiltIn =
    [
        Envelope("<RetrieveServiceContent xmlns=\"urn:vim25\"><_this type=\"ServiceInstance\">ServiceInstance</_this></RetrieveServiceContent>"),
        Envelope("<Login xmlns=\"urn:vim25\"><_this type=\"SessionManager\">SessionManager</_this><userName>root</userName><password>x</password></Login>"),
        Envelope("<RetrievePropertiesEx xmlns=\"urn:vim25\"><_this type=\"PropertyCollector\">propertyCollector</_this><specSet><propSet><type>VirtualMachine</type><pathSet>name</pathSet><pathSet>guest.guestOperationsReady</pathSet></propSet><objectSet><obj type=\"Folder\">group-d1</obj><skip>true</skip><selectSet xsi:type=\"TraversalSpec\"><name>t</name><type>Folder</type><path>childEntity</path><skip>false</skip><selectSet><name>t</name></selectSet></selectSet></objectSet></specSet><options><maxObjects>1</maxObjects></options></RetrievePropertiesEx>"),
        Envelope("<ListFilesInGuest xmlns=\"urn:vim25\"><_this type=\"GuestFileManager\">guestOperationsFileManager</_this><vm type=\"VirtualMachine\">vm-1</vm><auth xsi:type=\"NamePasswordAuthentication\"><interactiveSession>false</interactiveSession><username>demo</username><password>x</password></auth><filePath>/tmp</filePath><index>0</index><maxResults>10</maxResults><matchPattern>.*</matchPattern></ListFilesInGuest>"),
        Envelope("<StartProgramInGuest xmlns=\"urn:vim25\"><_this type=\"GuestProcessManager\">guestOperationsProcessManager</_this><vm type=\"VirtualMachine\">vm-1</vm><auth xsi:type=\"NamePasswordAuthentication\"><interactiveSession>false</interactiveSession><username>demo</username><password>x</password></auth><spec xsi:type=\"GuestProgramSpec\"><programPath>/bin/true</programPath><arguments>a</arguments><envVariables>A=1</envVariables></spec></StartProgramInGuest>"),
        Envelope("<InitiateFileTransferToGuest xmlns=\"urn:vim25\"><_this type=\"GuestFileManager\">guestOperationsFileManager</_this><vm type=\"VirtualMachine\">vm-1</vm><auth xsi:type=\"NamePasswordAuthentication\"><interactiveSession>false</interactiveSession><username>demo</username><password>x</password></auth><guestFilePath>/tmp/x</guestFilePath><fileAttributes xsi:type=\"GuestPosixFileAttributes\"><permissions>420</permissions></fileAttributes><fileSize>5</fileSize><overwrite>true</overwrite></InitiateFileTransferToGuest>"),
    ];

    public static IReadOnlyList<byte[]> Load(string? directory, TextWriter log)
    {
        var seeds = BuiltIn.Select(Encoding.UTF8.GetBytes).ToList();
        directory ??= FindCaptures();
        if (directory is null || !Directory.Exists(directory))
        {
            log.WriteLine("fuzz: no wire captures found; built-in seeds only");
            return seeds;
        }

        var captured = 0;
        foreach (var file in Directory.EnumerateFiles(directory, "*.http", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            var bytes = File.ReadAllBytes(file);
            var request = IndexOf(bytes, "### REQUEST\n"u8);
            var response = IndexOf(bytes, "\n\n### RESPONSE\n"u8);
            var head = request < 0 ? -1 : IndexOf(bytes.AsSpan(request), "\n\n"u8);
            if (request < 0 || response < 0 || head < 0 || !bytes.AsSpan(request + "### REQUEST\n".Length).StartsWith("POST "u8))
            {
                continue;
            }

            var start = request + head + 2;
            if (response > start)
            {
                seeds.Add(bytes[start..response]);
                captured++;
            }
        }

        log.WriteLine($"fuzz: {captured} captured requests from {directory} and {BuiltIn.Length} built-in seeds");
        return seeds;
    }

    private static string? FindCaptures()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "GuestOps.sln")))
            {
                return Path.Combine(dir.FullName, "tests", "fixtures", "wire-captures");
            }
        }

        return null;
    }

    private static int IndexOf(ReadOnlySpan<byte> data, ReadOnlySpan<byte> value) => data.IndexOf(value);

    private static string Envelope(string body) =>
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\"><soapenv:Body>"
        + body + "</soapenv:Body></soapenv:Envelope>";
}
