using System.Diagnostics;
using System.Globalization;
using System.ServiceModel;
using GuestOps.Client;
using GuestOps.IntegrationTests.Infrastructure;
using GuestOps.Vim;

namespace GuestOps.IntegrationTests;

/// <summary>One GuestProcessInfo of a ListProcessesInGuest answer.</summary>
public sealed record GuestProcess(string Name, long Pid, string Owner, string CmdLine, DateTime StartTime, DateTime? EndTime, int? ExitCode)
{
    public static GuestProcess From(GuestProcessInfo p) =>
        new(p.name, p.pid, p.owner, p.cmdLine, p.startTime.ToUniversalTime(), p.endTime?.ToUniversalTime(), p.exitCode);

    public override string ToString() => $"pid {Pid} {Name} ({Owner}) '{CmdLine}' start {StartTime:O} end {EndTime?.ToString("O") ?? "-"} exit {ExitCode?.ToString(CultureInfo.InvariantCulture) ?? "-"}";
}

/// <summary>What a guest call answered: success, or the vim fault it failed with (as WCF received it).</summary>
public class GuestCallResult
{
    private static readonly string[] InternalsMarkers = ["   at ", ".cs:line", "Exception:", "System.Xml.", "System.InvalidOperationException", "--- End of"];

    protected GuestCallResult(string description, FaultException? exception, TimeSpan elapsed)
    {
        Description = description;
        Exception = exception;
        Elapsed = elapsed;
    }

    public string Description { get; }

    /// <summary>The fault WCF threw; <c>FaultException&lt;TDeclared&gt;</c> when the detail element matched a declared fault.</summary>
    public FaultException? Exception { get; }

    public TimeSpan Elapsed { get; }

    public bool IsOk => Exception is null;

    /// <summary>The concrete vim fault (the detail's xsi:type), or null on success.</summary>
    public MethodFault? Fault => Exception is null ? null : VimFaults.Detail(Exception);

    /// <summary>The faultstring.</summary>
    public string FaultMessage => Exception?.Message ?? "";

    /// <summary>The declared fault the detail element names (FileFault for <c>FileFaultFault</c>), or null.</summary>
    public string? DeclaredFault => Exception?.GetType() is { IsGenericType: true } type ? type.GetGenericArguments()[0].Name : null;

    public static async Task<GuestCallResult> RunAsync(Func<Task> call, string description)
    {
        var clock = Stopwatch.StartNew();
        try
        {
            await call();
            return new GuestCallResult(description, null, clock.Elapsed);
        }
        catch (FaultException e)
        {
            return new GuestCallResult(description, e, clock.Elapsed);
        }
    }

    /// <summary>Asserts success.</summary>
    public void AssertOk()
    {
        if (Exception is not null)
        {
            throw new AssertFailedException($"{Description}: expected success, got {Describe()}");
        }
    }

    /// <summary>
    /// Asserts a vim fault: faultcode ServerFaultCode, a detail element named <c>&lt;Declared&gt;Fault</c> after a fault
    /// the operation declares (<paramref name="declared"/> when given), whose xsi:type is <paramref name="type"/>, and a
    /// faultstring that says something without .NET internals. Returns the typed fault for detail checks.
    /// </summary>
    public MethodFault AssertFault(string type, string? declared = null)
    {
        if (Exception is null)
        {
            throw new AssertFailedException($"{Description}: expected the fault {type}, the call succeeded.");
        }

        var fault = Fault ?? throw new AssertFailedException($"{Description}: expected the fault {type}; the fault's detail is no fault the operation declares: {Describe()}");
        Assert.AreEqual("ServerFaultCode", Exception.Code.Name, $"{Description}: faultcode");
        Assert.AreEqual(type, fault.GetType().Name, $"{Description}: fault type (xsi:type of the detail): {Describe()}");
        if (declared is not null)
        {
            Assert.AreEqual(declared, DeclaredFault + "Fault", $"{Description}: detail element name (the fault the operation declares)");
        }

        Assert.IsFalse(string.IsNullOrWhiteSpace(FaultMessage), $"{Description}: faultstring must say something");
        foreach (var marker in InternalsMarkers)
        {
            Assert.IsFalse(FaultMessage.Contains(marker, StringComparison.Ordinal), $"{Description}: the faultstring leaks internals ('{marker}'): {FaultMessage}");
        }

        return fault;
    }

    /// <summary>Asserts the fault <typeparamref name="TFault"/> as <see cref="AssertFault(string, string?)"/> does.</summary>
    public TFault AssertFault<TFault>(string? declared = null)
        where TFault : MethodFault => (TFault)AssertFault(typeof(TFault).Name, declared);

    public override string ToString() => Exception is null ? $"{Description}: ok ({Elapsed.TotalMilliseconds:0} ms)" : $"{Description}: {Describe()}";

    private string Describe() => Exception is null ? "success" : $"{Fault?.GetType().Name ?? "(no vim fault)"} [{DeclaredFault ?? "undeclared"}Fault, {Exception.Code.Name}]: {FaultMessage}";
}

/// <summary>A guest call's answer with its value.</summary>
public sealed class GuestCallResult<T> : GuestCallResult
{
    private readonly T? _value;

    private GuestCallResult(string description, T? value, FaultException? exception, TimeSpan elapsed)
        : base(description, exception, elapsed) => _value = value;

    /// <summary>The returned value; asserts success.</summary>
    public T Value
    {
        get
        {
            AssertOk();
            return _value!;
        }
    }

    public static async Task<GuestCallResult<T>> RunAsync(Func<Task<T>> call, string description)
    {
        var clock = Stopwatch.StartNew();
        try
        {
            var value = await call();
            return new GuestCallResult<T>(description, value, null, clock.Elapsed);
        }
        catch (FaultException e)
        {
            return new GuestCallResult<T>(description, default, e, clock.Elapsed);
        }
    }
}

/// <summary>
/// Issue 4's GuestFileManager and GuestProcessManager calls through the typed client (GuestOps.Client), for one VM and
/// one guest account. Methods return the call's <see cref="GuestCallResult"/>; the *Ok variants assert success.
/// </summary>
/// <param name="user">Who <paramref name="auth"/> is, for the descriptions.</param>
public sealed class GuestOpsClient(TypedGuestClient client, ManagedObjectReference vm, GuestAuthentication auth, string user)
{
    public GuestOpsClient(TypedGuestClient client, ManagedObjectReference vm, string user, string password)
        : this(client, vm, TypedGuestClient.Auth(user, password), user)
    {
    }

    public GuestOpsClient(TypedGuestClient client, string vmId, string user, string password)
        : this(client, TypedGuestClient.VmRef(vmId), user, password)
    {
    }

    public TypedGuestClient Client { get; } = client;

    public ManagedObjectReference Vm { get; } = vm;

    public string VmId => Vm.Value;

    public string User { get; } = user;

    private IVimPort Port => Client.Port;

    private GuestManagers Managers => Client.Managers;

    private GuestAuthentication Auth { get; } = auth;

    public GuestOpsClient As(string otherUser, string otherPassword) => new(Client, Vm, otherUser, otherPassword);

    private string Describe(string operation, string details) => $"{operation} on {VmId} as {User}: {details}";

    private Task<GuestCallResult> Call(string operation, string details, Func<Task> call) => GuestCallResult.RunAsync(call, Describe(operation, details));

    private Task<GuestCallResult<T>> Call<T>(string operation, string details, Func<Task<T>> call) => GuestCallResult<T>.RunAsync(call, Describe(operation, details));

    public Task<GuestCallResult> ValidateCredentials() =>
        Call("ValidateCredentialsInGuest", "", () => Port.ValidateCredentialsInGuestAsync(Managers.AuthManager, Vm, Auth));

    /// <summary>AcquireCredentialsInGuest (this client's own auth is not sent: <paramref name="requestedAuth"/> is).</summary>
    public Task<GuestCallResult<GuestAuthentication>> AcquireCredentials(GuestAuthentication requestedAuth, long? sessionId = null) =>
        Call("AcquireCredentialsInGuest", $"{requestedAuth.GetType().Name}{(sessionId is null ? "" : " session " + sessionId)}",
            () => Port.AcquireCredentialsInGuestAsync(Managers.AuthManager, Vm, requestedAuth, sessionId));

    public Task<GuestCallResult> ReleaseCredentials() =>
        Call("ReleaseCredentialsInGuest", "", () => Port.ReleaseCredentialsInGuestAsync(Managers.AuthManager, Vm, Auth));

    public Task<GuestCallResult> MakeDirectory(string path, bool createParents) =>
        Call("MakeDirectoryInGuest", $"{path} parents={createParents}", () => Port.MakeDirectoryInGuestAsync(Managers.FileManager, Vm, Auth, path, createParents));

    public Task<GuestCallResult> DeleteFile(string path) =>
        Call("DeleteFileInGuest", path, () => Port.DeleteFileInGuestAsync(Managers.FileManager, Vm, Auth, path));

    public Task<GuestCallResult> DeleteDirectory(string path, bool recursive) =>
        Call("DeleteDirectoryInGuest", $"{path} recursive={recursive}", () => Port.DeleteDirectoryInGuestAsync(Managers.FileManager, Vm, Auth, path, recursive));

    public Task<GuestCallResult> MoveFile(string source, string destination, bool overwrite) =>
        Call("MoveFileInGuest", $"{source} -> {destination} overwrite={overwrite}", () => Port.MoveFileInGuestAsync(Managers.FileManager, Vm, Auth, source, destination, overwrite));

    public Task<GuestCallResult> MoveDirectory(string source, string destination) =>
        Call("MoveDirectoryInGuest", $"{source} -> {destination}", () => Port.MoveDirectoryInGuestAsync(Managers.FileManager, Vm, Auth, source, destination));

    public Task<GuestCallResult<string>> CreateTemporaryFile(string prefix, string suffix, string? directory = null) =>
        Call("CreateTemporaryFileInGuest", $"'{prefix}' '{suffix}' in {directory ?? "(default)"}", () => Port.CreateTemporaryFileInGuestAsync(Managers.FileManager, Vm, Auth, prefix, suffix, directory));

    public Task<GuestCallResult<string>> CreateTemporaryDirectory(string prefix, string suffix, string? directory = null) =>
        Call("CreateTemporaryDirectoryInGuest", $"'{prefix}' '{suffix}' in {directory ?? "(default)"}", () => Port.CreateTemporaryDirectoryInGuestAsync(Managers.FileManager, Vm, Auth, prefix, suffix, directory));

    /// <summary>ChangeFileAttributesInGuest with GuestPosixFileAttributes of the given fields (the others absent: unchanged).</summary>
    public Task<GuestCallResult> ChangePosixAttributes(string path, DateTime? modificationTime = null, DateTime? accessTime = null, int? ownerId = null, int? groupId = null, long? permissions = null) =>
        ChangeAttributes(path, PosixAttributes(modificationTime, accessTime, ownerId, groupId, permissions));

    public Task<GuestCallResult> ChangeWindowsAttributes(string path, bool hidden, bool readOnly) =>
        ChangeAttributes(path, new GuestWindowsFileAttributes { hidden = hidden, readOnly = readOnly });

    public Task<GuestCallResult> ChangeAttributes(string path, GuestFileAttributes attributes) =>
        Call("ChangeFileAttributesInGuest", $"{path} {attributes.GetType().Name}", () => Port.ChangeFileAttributesInGuestAsync(Managers.FileManager, Vm, Auth, path, attributes));

    /// <summary>GuestPosixFileAttributes with only the fields set, as govc sends them.</summary>
    public static GuestPosixFileAttributes PosixAttributes(DateTime? modificationTime = null, DateTime? accessTime = null, int? ownerId = null, int? groupId = null, long? permissions = null) =>
        new() { modificationTime = modificationTime, accessTime = accessTime, ownerId = ownerId, groupId = groupId, permissions = permissions };

    /// <summary>InitiateFileTransferToGuest; <paramref name="attributes"/> default: pyVmomi's bare GuestFileAttributes.</summary>
    public Task<GuestCallResult<string>> InitiateFileTransferToGuest(string path, long fileSize, bool overwrite, GuestFileAttributes? attributes = null) =>
        Call("InitiateFileTransferToGuest", $"{path} size={fileSize} overwrite={overwrite}",
            () => Port.InitiateFileTransferToGuestAsync(Managers.FileManager, Vm, Auth, path, attributes ?? new GuestFileAttributes(), fileSize, overwrite));

    public Task<GuestCallResult<FileTransferInformation>> InitiateFileTransferFromGuest(string path) =>
        Call("InitiateFileTransferFromGuest", path, () => Port.InitiateFileTransferFromGuestAsync(Managers.FileManager, Vm, Auth, path));

    public Task<GuestCallResult<GuestListFileInfo>> ListFiles(string path, int? index = null, int? maxResults = 1000, string? matchPattern = null) =>
        Call("ListFilesInGuest", $"{path} index={index?.ToString(CultureInfo.InvariantCulture) ?? "-"} maxResults={maxResults?.ToString(CultureInfo.InvariantCulture) ?? "-"} matchPattern={matchPattern ?? "-"}",
            () => Port.ListFilesInGuestAsync(Managers.FileManager, Vm, Auth, path, index, maxResults, matchPattern));

    public Task<GuestCallResult<long>> StartProgram(string programPath, string arguments, string? workingDirectory = null, IReadOnlyList<string>? environment = null) =>
        Call("StartProgramInGuest", $"{programPath} {arguments}", () => Port.StartProgramInGuestAsync(Managers.ProcessManager, Vm, Auth,
            new GuestProgramSpec { programPath = programPath, arguments = arguments, workingDirectory = workingDirectory, envVariables = environment?.ToArray() }));

    public Task<GuestCallResult<GuestProcessInfo[]>> ListProcesses(params long[] pids) =>
        Call("ListProcessesInGuest", pids.Length == 0 ? "all" : string.Join(",", pids), () => Port.ListProcessesInGuestAsync(Managers.ProcessManager, Vm, Auth, pids.Length == 0 ? null : pids));

    public Task<GuestCallResult> TerminateProcess(long pid) =>
        Call("TerminateProcessInGuest", pid.ToString(CultureInfo.InvariantCulture), () => Port.TerminateProcessInGuestAsync(Managers.ProcessManager, Vm, Auth, pid));

    public Task<GuestCallResult<string[]>> ReadEnvironment(params string[] names) =>
        Call("ReadEnvironmentVariableInGuest", names.Length == 0 ? "all" : string.Join(",", names), () => Port.ReadEnvironmentVariableInGuestAsync(Managers.ProcessManager, Vm, Auth, names.Length == 0 ? null : names));

    // ------------------------------------------------------------ asserting variants

    public async Task<string> CreateTemporaryFileOk(string prefix, string suffix, string? directory = null) =>
        (await CreateTemporaryFile(prefix, suffix, directory)).Value;

    public async Task<string> CreateTemporaryDirectoryOk(string prefix, string suffix, string? directory = null) =>
        (await CreateTemporaryDirectory(prefix, suffix, directory)).Value;

    public async Task<string> InitiateFileTransferToGuestOk(string path, long fileSize, bool overwrite, GuestFileAttributes? attributes = null) =>
        (await InitiateFileTransferToGuest(path, fileSize, overwrite, attributes)).Value;

    public async Task<FileTransferInformation> InitiateFileTransferFromGuestOk(string path) => (await InitiateFileTransferFromGuest(path)).Value;

    /// <summary>Creates an empty file at an exact path: a temporary file in its directory, renamed.</summary>
    public async Task CreateFileOk(string path)
    {
        var directory = path[..path.LastIndexOf('/')];
        var temporary = await CreateTemporaryFileOk("new-", ".tmp", directory.Length == 0 ? "/" : directory);
        (await MoveFile(temporary, path, overwrite: false)).AssertOk();
    }

    public async Task<GuestListing> ListOk(string path, int? index = null, int? maxResults = 1000, string? matchPattern = null) =>
        GuestListing.From((await ListFiles(path, index, maxResults, matchPattern)).Value);

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
        (await StartProgram(programPath, arguments, workingDirectory, environment)).Value;

    public async Task<IReadOnlyList<GuestProcess>> ListProcessesOk(params long[] pids) =>
        ((await ListProcesses(pids)).Value ?? []).Select(GuestProcess.From).ToList();

    public async Task<IReadOnlyList<string>> ReadEnvironmentOk(params string[] names) => (await ReadEnvironment(names)).Value ?? [];

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
}
