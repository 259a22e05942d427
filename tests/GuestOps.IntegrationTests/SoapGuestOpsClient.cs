using System.Diagnostics;
using System.Globalization;
using System.Xml.Linq;
using GuestOps.IntegrationTests.Infrastructure;

namespace GuestOps.IntegrationTests;

/// <summary>
/// Issue 4's GuestFileManager and GuestProcessManager requests as hand-built SOAP, as pyVmomi sends them (WSDL parameter
/// order), for one VM and one guest account: what the classes not yet on <see cref="GuestOpsClient"/> use.
/// </summary>
public sealed class SoapGuestOpsClient(SoapClient client, string vmId, string user, string password)
{
    public SoapClient Client { get; } = client;

    public string VmId { get; } = vmId;

    public string User { get; } = user;

    public SoapGuestOpsClient As(string otherUser, string otherPassword) => new(Client, VmId, otherUser, otherPassword);

    private string Head => Moref.Vm(VmId).Xml("vm") + GuestSoap.Auth(User, password);

    private static string Bool(bool value) => value ? "true" : "false";

    private static string Time(DateTime value) => value.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    private Task<SoapResponse> File(string operation, string parameters, string description) =>
        Client.PostAsync(Soap.Call(operation, GuestSoap.FileManager, Head + parameters), $"{operation} on {VmId} as {User}: {description}");

    private Task<SoapResponse> Process(string operation, string parameters, string description) =>
        Client.PostAsync(Soap.Call(operation, GuestSoap.ProcessManager, Head + parameters), $"{operation} on {VmId} as {User}: {description}");

    public Task<SoapResponse> MakeDirectory(string path, bool createParents) =>
        File("MakeDirectoryInGuest", GuestSoap.Element("directoryPath", path) + Soap.Element("createParentDirectories", Bool(createParents)), $"{path} parents={createParents}");

    public Task<SoapResponse> DeleteFile(string path) =>
        File("DeleteFileInGuest", GuestSoap.Element("filePath", path), path);

    public Task<SoapResponse> DeleteDirectory(string path, bool recursive) =>
        File("DeleteDirectoryInGuest", GuestSoap.Element("directoryPath", path) + Soap.Element("recursive", Bool(recursive)), $"{path} recursive={recursive}");

    public Task<SoapResponse> MoveFile(string source, string destination, bool overwrite) =>
        File("MoveFileInGuest", GuestSoap.Element("srcFilePath", source) + GuestSoap.Element("dstFilePath", destination) + Soap.Element("overwrite", Bool(overwrite)), $"{source} -> {destination} overwrite={overwrite}");

    public Task<SoapResponse> MoveDirectory(string source, string destination) =>
        File("MoveDirectoryInGuest", GuestSoap.Element("srcDirectoryPath", source) + GuestSoap.Element("dstDirectoryPath", destination), $"{source} -> {destination}");

    public Task<SoapResponse> CreateTemporaryFile(string prefix, string suffix, string? directory = null) =>
        File("CreateTemporaryFileInGuest", Soap.Element("prefix", prefix) + Soap.Element("suffix", suffix) + (directory is null ? "" : GuestSoap.Element("directoryPath", directory)), $"'{prefix}' '{suffix}' in {directory ?? "(default)"}");

    public Task<SoapResponse> CreateTemporaryDirectory(string prefix, string suffix, string? directory = null) =>
        File("CreateTemporaryDirectoryInGuest", Soap.Element("prefix", prefix) + Soap.Element("suffix", suffix) + (directory is null ? "" : GuestSoap.Element("directoryPath", directory)), $"'{prefix}' '{suffix}' in {directory ?? "(default)"}");

    /// <summary>GuestPosixFileAttributes with the given fields (the others absent: unchanged).</summary>
    public Task<SoapResponse> ChangePosixAttributes(string path, DateTime? modificationTime = null, DateTime? accessTime = null, long? ownerId = null, long? groupId = null, long? permissions = null)
    {
        var attributes = "<fileAttributes xsi:type=\"GuestPosixFileAttributes\">"
            + (modificationTime is { } m ? Soap.Element("modificationTime", Time(m)) : "")
            + (accessTime is { } a ? Soap.Element("accessTime", Time(a)) : "")
            + (ownerId is { } o ? Soap.Element("ownerId", o.ToString(CultureInfo.InvariantCulture)) : "")
            + (groupId is { } g ? Soap.Element("groupId", g.ToString(CultureInfo.InvariantCulture)) : "")
            + (permissions is { } p ? Soap.Element("permissions", p.ToString(CultureInfo.InvariantCulture)) : "")
            + "</fileAttributes>";
        return File("ChangeFileAttributesInGuest", GuestSoap.Element("guestFilePath", path) + attributes, $"{path} posix");
    }

    public Task<SoapResponse> ChangeWindowsAttributes(string path, bool hidden, bool readOnly) =>
        File("ChangeFileAttributesInGuest", GuestSoap.Element("guestFilePath", path)
            + $"<fileAttributes xsi:type=\"GuestWindowsFileAttributes\">{Soap.Element("hidden", Bool(hidden))}{Soap.Element("readOnly", Bool(readOnly))}</fileAttributes>", $"{path} windows");

    /// <summary>InitiateFileTransferToGuest; <paramref name="attributes"/> is the whole fileAttributes element (default:
    /// pyVmomi's bare <c>&lt;fileAttributes&gt;&lt;/fileAttributes&gt;</c>).</summary>
    public Task<SoapResponse> InitiateFileTransferToGuest(string path, long fileSize, bool overwrite, string? attributes = null) =>
        File("InitiateFileTransferToGuest", GuestSoap.Element("guestFilePath", path) + (attributes ?? "<fileAttributes></fileAttributes>")
            + Soap.Element("fileSize", fileSize.ToString(CultureInfo.InvariantCulture)) + Soap.Element("overwrite", Bool(overwrite)), $"{path} size={fileSize} overwrite={overwrite}");

    public Task<SoapResponse> InitiateFileTransferFromGuest(string path) =>
        File("InitiateFileTransferFromGuest", GuestSoap.Element("guestFilePath", path), path);

    /// <summary>GuestPosixFileAttributes as govc sends them (only the fields set).</summary>
    public static string PosixAttributes(DateTime? modificationTime = null, DateTime? accessTime = null, long? ownerId = null, long? groupId = null, long? permissions = null) =>
        "<fileAttributes xsi:type=\"GuestPosixFileAttributes\">"
        + (modificationTime is { } m ? Soap.Element("modificationTime", Time(m)) : "")
        + (accessTime is { } a ? Soap.Element("accessTime", Time(a)) : "")
        + (ownerId is { } o ? Soap.Element("ownerId", o.ToString(CultureInfo.InvariantCulture)) : "")
        + (groupId is { } g ? Soap.Element("groupId", g.ToString(CultureInfo.InvariantCulture)) : "")
        + (permissions is { } p ? Soap.Element("permissions", p.ToString(CultureInfo.InvariantCulture)) : "")
        + "</fileAttributes>";

    public async Task<string> InitiateFileTransferToGuestOk(string path, long fileSize, bool overwrite, string? attributes = null) =>
        (await InitiateFileTransferToGuest(path, fileSize, overwrite, attributes)).ReturnValues("InitiateFileTransferToGuest").Single().Value;

    /// <summary>The FileTransferInformation: url, size and the attributes element.</summary>
    public async Task<(string Url, long Size, System.Xml.Linq.XElement Attributes)> InitiateFileTransferFromGuestOk(string path)
    {
        var info = (await InitiateFileTransferFromGuest(path)).ReturnValues("InitiateFileTransferFromGuest").Single();
        return ((string)info.Element(Soap.Vim + "url")!, (long)info.Element(Soap.Vim + "size")!, info.Element(Soap.Vim + "attributes")!);
    }

    public Task<SoapResponse> ListFiles(string path) => GuestSoap.ListFilesAsync(Client, VmId, User, password, path, maxResults: 1000);

    public Task<SoapResponse> StartProgram(string programPath, string arguments, string? workingDirectory = null, IReadOnlyList<string>? environment = null) =>
        Process("StartProgramInGuest", "<spec xsi:type=\"GuestProgramSpec\">" + GuestSoap.Element("programPath", programPath) + GuestSoap.Element("arguments", arguments)
            + (workingDirectory is null ? "" : GuestSoap.Element("workingDirectory", workingDirectory))
            + string.Concat((environment ?? []).Select(e => GuestSoap.Element("envVariables", e))) + "</spec>",
            $"{programPath} {arguments}");

    public Task<SoapResponse> ListProcesses(params long[] pids) =>
        Process("ListProcessesInGuest", string.Concat(pids.Select(p => Soap.Element("pids", p.ToString(CultureInfo.InvariantCulture)))), pids.Length == 0 ? "all" : string.Join(",", pids));

    public Task<SoapResponse> TerminateProcess(long pid) =>
        Process("TerminateProcessInGuest", Soap.Element("pid", pid.ToString(CultureInfo.InvariantCulture)), pid.ToString(CultureInfo.InvariantCulture));

    public Task<SoapResponse> ReadEnvironment(params string[] names) =>
        Process("ReadEnvironmentVariableInGuest", string.Concat(names.Select(n => GuestSoap.Element("names", n))), names.Length == 0 ? "all" : string.Join(",", names));

    // ------------------------------------------------------------ asserting variants

    public async Task Ok(Task<SoapResponse> call, string operation) => (await call).AssertOk(operation);

    public async Task<string> CreateTemporaryFileOk(string prefix, string suffix, string? directory = null) =>
        (await CreateTemporaryFile(prefix, suffix, directory)).ReturnValues("CreateTemporaryFileInGuest").Single().Value;

    public async Task<string> CreateTemporaryDirectoryOk(string prefix, string suffix, string? directory = null) =>
        (await CreateTemporaryDirectory(prefix, suffix, directory)).ReturnValues("CreateTemporaryDirectoryInGuest").Single().Value;

    /// <summary>Creates an empty file at an exact path: a temporary file in its directory, renamed.</summary>
    public async Task CreateFileOk(string path)
    {
        var directory = path[..path.LastIndexOf('/')];
        var temporary = await CreateTemporaryFileOk("new-", ".tmp", directory.Length == 0 ? "/" : directory);
        (await MoveFile(temporary, path, overwrite: false)).AssertOk("MoveFileInGuest");
    }

    public async Task<GuestListing> ListOk(string path) => GuestSoap.ReadListing(await ListFiles(path));

    /// <summary>The entries of a directory without . and ..</summary>
    public async Task<Dictionary<string, GuestFileEntry>> ChildrenOk(string directory) =>
        (await ListOk(directory)).Files.Where(f => f.Path is not "." and not "..").ToDictionary(f => f.Path);

    public async Task<GuestFileEntry> StatOk(string path)
    {
        var listing = await ListOk(path);
        Assert.AreEqual(1, listing.Files.Count, $"ListFilesInGuest {path} lists {string.Join(", ", listing.Names)}");
        return listing.Files[0];
    }

    public async Task<long> StartProgramOk(string programPath, string arguments, string? workingDirectory = null, IReadOnlyList<string>? environment = null) =>
        long.Parse((await StartProgram(programPath, arguments, workingDirectory, environment)).ReturnValues("StartProgramInGuest").Single().Value, CultureInfo.InvariantCulture);

    public async Task<IReadOnlyList<GuestProcess>> ListProcessesOk(params long[] pids) =>
        (await ListProcesses(pids)).ReturnValues("ListProcessesInGuest").Select(ReadProcess).ToList();

    public async Task<IReadOnlyList<string>> ReadEnvironmentOk(params string[] names) =>
        (await ReadEnvironment(names)).ReturnValues("ReadEnvironmentVariableInGuest").Select(e => e.Value).ToList();

    /// <summary>Polls ListProcessesInGuest(pids=[pid]) until the program has an endTime (bounded).</summary>
    public async Task<GuestProcess> WaitForExitAsync(long pid, TimeSpan? timeout = null)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var listed = await ListProcessesOk(pid);
            Assert.AreEqual(1, listed.Count, $"ListProcessesInGuest [{pid}] must list the started program (running or exited < 5 min ago): {string.Join("; ", listed)}");
            if (listed[0].EndTime is not null)
            {
                return listed[0];
            }

            Assert.IsNull(listed[0].ExitCode, $"A running process has no exitCode: {listed[0]}");
            if (clock.Elapsed > (timeout ?? TimeSpan.FromSeconds(10)))
            {
                throw new AssertFailedException($"Program {pid} did not exit within {(timeout ?? TimeSpan.FromSeconds(10)).TotalSeconds} s: {listed[0]}");
            }

            await Task.Delay(50);
        }
    }

    public static GuestProcess ReadProcess(XElement p)
    {
        string Text(string name) => (string?)p.Element(Soap.Vim + name) ?? throw new AssertFailedException($"GuestProcessInfo without {name}: {p}");
        DateTime? Date(string name) => p.Element(Soap.Vim + name) is { } e
            ? DateTime.Parse(e.Value, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal)
            : null;
        return new GuestProcess(Text("name"), long.Parse(Text("pid"), CultureInfo.InvariantCulture), Text("owner"), Text("cmdLine"),
            Date("startTime") ?? throw new AssertFailedException($"GuestProcessInfo without startTime: {p}"), Date("endTime"),
            p.Element(Soap.Vim + "exitCode") is { } x ? int.Parse(x.Value, CultureInfo.InvariantCulture) : null);
    }
}
