using GuestOps.Cli.Soap;
using GuestOps.Vim;

namespace GuestOps.Cli.Vim;

/// <summary>
/// GuestAuthManager, GuestFileManager and GuestProcessManager calls (reference 3) for one VM and one guest
/// authentication. The managers are read from GuestOperationsManager, as govc does, so any server's moids work.
/// </summary>
public sealed class GuestOperations
{
    private readonly VimSoapClient _soap;
    private readonly ManagedObjectReference? _authManager;
    private readonly ManagedObjectReference? _fileManager;
    private readonly ManagedObjectReference? _processManager;

    private GuestOperations(VimService service, ManagedObjectReference vm, GuestAuthentication auth, ManagedObjectReference? authManager, ManagedObjectReference? fileManager, ManagedObjectReference? processManager)
    {
        Service = service;
        _soap = service.Soap;
        Vm = vm;
        Auth = auth;
        _authManager = authManager;
        _fileManager = fileManager;
        _processManager = processManager;
    }

    public VimService Service { get; }

    public ManagedObjectReference Vm { get; }

    public GuestAuthentication Auth { get; }

    public static async Task<GuestOperations> CreateAsync(VimService service, ManagedObjectReference vm, GuestAuthentication auth, CancellationToken cancellationToken)
    {
        var manager = service.Content.Require(service.Content.GuestOperationsManager, "GuestOperationsManager");
        var properties = await service.RetrievePropertiesAsync(manager, ["authManager", "fileManager", "processManager"], cancellationToken);
        ManagedObjectReference? Read(string name) => properties.TryGetValue(name, out var e) ? VimXml.MoRef(e) : null;
        return new GuestOperations(service, vm, auth, Read("authManager"), Read("fileManager"), Read("processManager"));
    }

    private SoapRequest Call(string operation, ManagedObjectReference? manager, string managerName) =>
        new SoapRequest(operation, Service.Content.Require(manager, managerName)).MoRef("vm", Vm).Auth("auth", Auth);

    private SoapRequest File(string operation) => Call(operation, _fileManager, "GuestFileManager");

    private SoapRequest Process(string operation) => Call(operation, _processManager, "GuestProcessManager");

    /// <summary>The same VM and managers with another guest authentication (e.g. the ticket of an SSPI logon).</summary>
    public GuestOperations WithAuth(GuestAuthentication auth) => new(Service, Vm, auth, _authManager, _fileManager, _processManager);

    /// <summary>One AcquireCredentialsInGuest leg (reference 6); a GuestAuthenticationChallenge fault asks for the next.</summary>
    public async Task<System.Xml.Linq.XElement> AcquireCredentialsAsync(SSPIAuthentication requested, long? sessionId, CancellationToken cancellationToken)
    {
        var request = new SoapRequest("AcquireCredentialsInGuest", Service.Content.Require(_authManager, "GuestAuthManager"))
            .MoRef("vm", Vm).Auth("requestedAuth", requested).Long("sessionID", sessionId);
        return (await _soap.InvokeAsync(request, cancellationToken)).ReturnValues().FirstOrDefault()
            ?? throw new CliException("AcquireCredentialsInGuest returned nothing.");
    }

    public Task ReleaseCredentialsAsync(CancellationToken cancellationToken) =>
        _soap.InvokeAsync(Call("ReleaseCredentialsInGuest", _authManager, "GuestAuthManager"), cancellationToken);

    public Task ValidateCredentialsAsync(CancellationToken cancellationToken) =>
        _soap.InvokeAsync(Call("ValidateCredentialsInGuest", _authManager, "GuestAuthManager"), cancellationToken);

    /// <summary>One page of ListFilesInGuest.</summary>
    public async Task<GuestListFileInfo> ListFilesAsync(string path, int? index, int? maxResults, string? matchPattern, CancellationToken cancellationToken)
    {
        var request = File("ListFilesInGuest").String("filePath", path).Int("index", index).Int("maxResults", maxResults).String("matchPattern", matchPattern);
        var response = await _soap.InvokeAsync(request, cancellationToken);
        return response.ReturnValues().Select(VimXml.ListFileInfo).FirstOrDefault() ?? new GuestListFileInfo { files = [] };
    }

    /// <summary>Every entry, paging as govc does: index += entries received until remaining is 0.</summary>
    public async Task<List<GuestFileInfo>> ListAllFilesAsync(string path, string? matchPattern, CancellationToken cancellationToken)
    {
        var all = new List<GuestFileInfo>();
        while (true)
        {
            var page = await ListFilesAsync(path, all.Count == 0 ? null : all.Count, null, matchPattern, cancellationToken);
            all.AddRange(page.files ?? []);
            if (page.remaining <= 0 || page.files is not { Length: > 0 })
            {
                return all;
            }
        }
    }

    public Task MakeDirectoryAsync(string path, bool createParents, CancellationToken cancellationToken) =>
        _soap.InvokeAsync(File("MakeDirectoryInGuest").String("directoryPath", path).Bool("createParentDirectories", createParents), cancellationToken);

    public Task DeleteFileAsync(string path, CancellationToken cancellationToken) =>
        _soap.InvokeAsync(File("DeleteFileInGuest").String("filePath", path), cancellationToken);

    public Task DeleteDirectoryAsync(string path, bool recursive, CancellationToken cancellationToken) =>
        _soap.InvokeAsync(File("DeleteDirectoryInGuest").String("directoryPath", path).Bool("recursive", recursive), cancellationToken);

    public Task MoveFileAsync(string source, string destination, bool overwrite, CancellationToken cancellationToken) =>
        _soap.InvokeAsync(File("MoveFileInGuest").String("srcFilePath", source).String("dstFilePath", destination).Bool("overwrite", overwrite), cancellationToken);

    public Task MoveDirectoryAsync(string source, string destination, CancellationToken cancellationToken) =>
        _soap.InvokeAsync(File("MoveDirectoryInGuest").String("srcDirectoryPath", source).String("dstDirectoryPath", destination), cancellationToken);

    public async Task<string> CreateTemporaryFileAsync(string prefix, string suffix, string? directory, CancellationToken cancellationToken) =>
        (await _soap.InvokeAsync(File("CreateTemporaryFileInGuest").String("prefix", prefix).String("suffix", suffix).String("directoryPath", directory), cancellationToken))
            .ReturnValues().First().Value;

    public async Task<string> CreateTemporaryDirectoryAsync(string prefix, string suffix, string? directory, CancellationToken cancellationToken) =>
        (await _soap.InvokeAsync(File("CreateTemporaryDirectoryInGuest").String("prefix", prefix).String("suffix", suffix).String("directoryPath", directory), cancellationToken))
            .ReturnValues().First().Value;

    public Task ChangeFileAttributesAsync(string path, GuestFileAttributes attributes, CancellationToken cancellationToken) =>
        _soap.InvokeAsync(File("ChangeFileAttributesInGuest").String("guestFilePath", path).Attributes("fileAttributes", attributes), cancellationToken);

    public async Task<string> InitiateFileTransferToGuestAsync(string path, GuestFileAttributes attributes, long size, bool overwrite, CancellationToken cancellationToken) =>
        (await _soap.InvokeAsync(File("InitiateFileTransferToGuest").String("guestFilePath", path).Attributes("fileAttributes", attributes)
            .Long("fileSize", size).Bool("overwrite", overwrite), cancellationToken)).ReturnValues().First().Value;

    public async Task<FileTransferInformation> InitiateFileTransferFromGuestAsync(string path, CancellationToken cancellationToken) =>
        VimXml.TransferInformation((await _soap.InvokeAsync(File("InitiateFileTransferFromGuest").String("guestFilePath", path), cancellationToken)).ReturnValues().First());

    public async Task<long> StartProgramAsync(GuestProgramSpec spec, CancellationToken cancellationToken) =>
        long.Parse((await _soap.InvokeAsync(Process("StartProgramInGuest").ProgramSpec("spec", spec), cancellationToken)).ReturnValues().First().Value,
            System.Globalization.CultureInfo.InvariantCulture);

    public async Task<List<GuestProcessInfo>> ListProcessesAsync(IReadOnlyList<long>? pids, CancellationToken cancellationToken)
    {
        var request = Process("ListProcessesInGuest");
        foreach (var pid in pids ?? [])
        {
            request.Long("pids", pid);
        }

        return (await _soap.InvokeAsync(request, cancellationToken)).ReturnValues().Select(VimXml.ProcessInfo).ToList();
    }

    public Task TerminateProcessAsync(long pid, CancellationToken cancellationToken) =>
        _soap.InvokeAsync(Process("TerminateProcessInGuest").Long("pid", pid), cancellationToken);

    public async Task<List<string>> ReadEnvironmentVariablesAsync(IReadOnlyList<string>? names, CancellationToken cancellationToken) =>
        (await _soap.InvokeAsync(Process("ReadEnvironmentVariableInGuest").Strings("names", names), cancellationToken)).ReturnValues().Select(e => e.Value).ToList();
}
