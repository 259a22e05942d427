using GuestOps.Client;
using GuestOps.Vim;

namespace GuestOps.Cli.Vim;

/// <summary>
/// GuestAuthManager, GuestFileManager and GuestProcessManager calls for one VM and one guest authentication, through
/// the typed client. The managers are read from GuestOperationsManager, as govc does, so any server's moids work.
/// </summary>
public sealed class GuestOperations
{
    private readonly GuestManagers _managers;

    private GuestOperations(VimConnection connection, ManagedObjectReference vm, GuestAuthentication auth, GuestManagers managers)
    {
        Connection = connection;
        Vm = vm;
        Auth = auth;
        _managers = managers;
    }

    public VimConnection Connection { get; }

    public ManagedObjectReference Vm { get; }

    public GuestAuthentication Auth { get; }

    private IVimPort Port => Connection.Port;

    public static async Task<GuestOperations> CreateAsync(VimConnection connection, ManagedObjectReference vm, GuestAuthentication auth, CancellationToken cancellationToken)
    {
        if (connection.Content.guestOperationsManager is null)
        {
            throw new CliException($"The endpoint ({connection.Content.about.fullName}) has no GuestOperationsManager: it does not offer guest operations.");
        }

        return new GuestOperations(connection, vm, auth, await connection.GuestManagersAsync(cancellationToken));
    }

    /// <summary>The same VM and managers with another guest authentication (e.g. the ticket of an SSPI logon).</summary>
    public GuestOperations WithAuth(GuestAuthentication auth) => new(Connection, Vm, auth, _managers);

    /// <summary>One AcquireCredentialsInGuest leg; a GuestAuthenticationChallenge fault asks for the next.</summary>
    public Task<GuestAuthentication> AcquireCredentialsAsync(SSPIAuthentication requested, long? sessionId, CancellationToken cancellationToken) =>
        Port.AcquireCredentialsInGuestAsync(_managers.AuthManager, Vm, requested, sessionId).WaitAsync(cancellationToken);

    public Task ReleaseCredentialsAsync(CancellationToken cancellationToken) =>
        Port.ReleaseCredentialsInGuestAsync(_managers.AuthManager, Vm, Auth).WaitAsync(cancellationToken);

    public Task ValidateCredentialsAsync(CancellationToken cancellationToken) =>
        Port.ValidateCredentialsInGuestAsync(_managers.AuthManager, Vm, Auth).WaitAsync(cancellationToken);

    /// <summary>One page of ListFilesInGuest.</summary>
    public async Task<GuestListFileInfo> ListFilesAsync(string path, int? index, int? maxResults, string? matchPattern, CancellationToken cancellationToken) =>
        await Port.ListFilesInGuestAsync(_managers.FileManager, Vm, Auth, path, index, maxResults, matchPattern).WaitAsync(cancellationToken)
            ?? new GuestListFileInfo { files = [] };

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
        Port.MakeDirectoryInGuestAsync(_managers.FileManager, Vm, Auth, path, createParents).WaitAsync(cancellationToken);

    public Task DeleteFileAsync(string path, CancellationToken cancellationToken) =>
        Port.DeleteFileInGuestAsync(_managers.FileManager, Vm, Auth, path).WaitAsync(cancellationToken);

    public Task DeleteDirectoryAsync(string path, bool recursive, CancellationToken cancellationToken) =>
        Port.DeleteDirectoryInGuestAsync(_managers.FileManager, Vm, Auth, path, recursive).WaitAsync(cancellationToken);

    public Task MoveFileAsync(string source, string destination, bool overwrite, CancellationToken cancellationToken) =>
        Port.MoveFileInGuestAsync(_managers.FileManager, Vm, Auth, source, destination, overwrite).WaitAsync(cancellationToken);

    public Task MoveDirectoryAsync(string source, string destination, CancellationToken cancellationToken) =>
        Port.MoveDirectoryInGuestAsync(_managers.FileManager, Vm, Auth, source, destination).WaitAsync(cancellationToken);

    public Task<string> CreateTemporaryFileAsync(string prefix, string suffix, string? directory, CancellationToken cancellationToken) =>
        Port.CreateTemporaryFileInGuestAsync(_managers.FileManager, Vm, Auth, prefix, suffix, directory).WaitAsync(cancellationToken);

    public Task<string> CreateTemporaryDirectoryAsync(string prefix, string suffix, string? directory, CancellationToken cancellationToken) =>
        Port.CreateTemporaryDirectoryInGuestAsync(_managers.FileManager, Vm, Auth, prefix, suffix, directory).WaitAsync(cancellationToken);

    public Task ChangeFileAttributesAsync(string path, GuestFileAttributes attributes, CancellationToken cancellationToken) =>
        Port.ChangeFileAttributesInGuestAsync(_managers.FileManager, Vm, Auth, path, attributes).WaitAsync(cancellationToken);

    public Task<string> InitiateFileTransferToGuestAsync(string path, GuestFileAttributes attributes, long size, bool overwrite, CancellationToken cancellationToken) =>
        Port.InitiateFileTransferToGuestAsync(_managers.FileManager, Vm, Auth, path, attributes, size, overwrite).WaitAsync(cancellationToken);

    public Task<FileTransferInformation> InitiateFileTransferFromGuestAsync(string path, CancellationToken cancellationToken) =>
        Port.InitiateFileTransferFromGuestAsync(_managers.FileManager, Vm, Auth, path).WaitAsync(cancellationToken);

    public Task<long> StartProgramAsync(GuestProgramSpec spec, CancellationToken cancellationToken) =>
        Port.StartProgramInGuestAsync(_managers.ProcessManager, Vm, Auth, spec).WaitAsync(cancellationToken);

    public async Task<List<GuestProcessInfo>> ListProcessesAsync(IReadOnlyList<long>? pids, CancellationToken cancellationToken) =>
        [.. await Port.ListProcessesInGuestAsync(_managers.ProcessManager, Vm, Auth, pids is { Count: > 0 } ? [.. pids] : null).WaitAsync(cancellationToken) ?? []];

    public Task TerminateProcessAsync(long pid, CancellationToken cancellationToken) =>
        Port.TerminateProcessInGuestAsync(_managers.ProcessManager, Vm, Auth, pid).WaitAsync(cancellationToken);

    public async Task<List<string>> ReadEnvironmentVariablesAsync(IReadOnlyList<string>? names, CancellationToken cancellationToken) =>
        [.. await Port.ReadEnvironmentVariableInGuestAsync(_managers.ProcessManager, Vm, Auth, names is { Count: > 0 } ? [.. names] : null).WaitAsync(cancellationToken) ?? []];
}
