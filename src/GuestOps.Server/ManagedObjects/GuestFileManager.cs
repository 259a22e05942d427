using GuestOps.Channel.Messages;
using GuestOps.Host.Transfers;
using GuestOps.Server.Guest;
using GuestOps.Soap;
using GuestOps.Vim;
using GuestOps.Vim.Contracts;

namespace GuestOps.Server.ManagedObjects;

/// <summary>vim.vm.guest.FileManager: files and directories inside the guest, as the authenticated guest user.</summary>
public sealed class GuestFileManager(string id, GuestCalls guest, ITransferTokens transfers, PropertyReader reader) : ManagedObject(id, reader), IGuestFileManager
{
    private static readonly PropertyTable<GuestFileManager> Table = new();

    public override PropertyTable Properties => Table;

    /// <summary>Lists a directory (with <c>.</c> and <c>..</c>) or describes one file; pages with index/maxResults/remaining;
    /// matchPattern is a regular expression over entry names.</summary>
    public async Task<GuestListFileInfo> ListFilesInGuestAsync(ManagedObjectReference _this, ManagedObjectReference vm, GuestAuthentication auth, string filePath, int? index, int? maxResults, string? matchPattern)
    {
        var call = Call;
        var result = await guest.InvokeAsync<ListFilesResult>(call, vm, auth, new ListFilesRequest
        {
            Path = filePath,
            Index = index ?? 0,
            MaxResults = maxResults is > 0 ? maxResults : null,
            MatchPattern = matchPattern,
        });
        return new GuestListFileInfo
        {
            files = result.Entries.Count == 0 ? null : result.Entries.Select(FileInfo).ToArray(),
            remaining = result.Remaining,
        };
    }

    /// <summary>Changes the given attributes; unset ones stay. A symlink path changes its target. The other OS's
    /// attribute type is refused by the guest (OperationNotSupportedByGuest).</summary>
    public Task ChangeFileAttributesInGuestAsync(ManagedObjectReference _this, ManagedObjectReference vm, GuestAuthentication auth, string guestFilePath, GuestFileAttributes fileAttributes) =>
        guest.InvokeAsync<EmptyResult>(Call, vm, auth, new ChangeFileAttributesRequest { Path = guestFilePath, Attributes = Changes(fileAttributes) });

    /// <summary>
    /// Validates the upload in the guest (credentials, parent directory, overwrite, permissions, ownership) and returns
    /// a one-time URL <c>https://*:PORT/guestFile?id=..&amp;token=..</c> for an HTTP PUT of exactly
    /// <paramref name="fileSize"/> bytes, served at <c>/guestFile</c>.
    /// </summary>
    public async Task<string> InitiateFileTransferToGuestAsync(ManagedObjectReference _this, ManagedObjectReference vm, GuestAuthentication auth, string guestFilePath, GuestFileAttributes fileAttributes, long fileSize, bool overwrite)
    {
        var call = Call;
        if (fileSize < 0)
        {
            throw GuestFaultMessages.Exception(new InvalidArgument { invalidProperty = "fileSize" }, $"fileSize {fileSize} is negative.");
        }

        var grant = await guest.InvokeAsync<TransferGrantResult>(call, vm, auth, new InitiateUploadRequest
        {
            Path = guestFilePath,
            Size = fileSize,
            Overwrite = overwrite,
            Attributes = Changes(fileAttributes ?? new GuestFileAttributes()),
            LifetimeSeconds = GrantLifetimeSeconds,
        });
        var issued = await transfers.IssueAsync(new TransferRequest(vm.Value, GuestFileTransferDirection.ToGuest, guestFilePath, grant.User, fileSize, grant.Grant), call.CancellationToken);
        return guest.TransferUrl(call, vm, issued);
    }

    /// <summary>Validates the download in the guest (a regular file the user may read) and returns its size and
    /// attributes with a one-time URL for an HTTP GET, served at <c>/guestFile</c>.</summary>
    public async Task<FileTransferInformation> InitiateFileTransferFromGuestAsync(ManagedObjectReference _this, ManagedObjectReference vm, GuestAuthentication auth, string guestFilePath)
    {
        var call = Call;
        var grant = await guest.InvokeAsync<TransferGrantResult>(call, vm, auth, new InitiateDownloadRequest
        {
            Path = guestFilePath,
            LifetimeSeconds = GrantLifetimeSeconds,
        });
        var file = grant.File ?? throw GuestFaultMessages.Exception(new SystemError { reason = "unexpected guest answer" }, "The guest agent did not describe the file.");
        var issued = await transfers.IssueAsync(new TransferRequest(vm.Value, GuestFileTransferDirection.FromGuest, guestFilePath, grant.User, file.Size, grant.Grant), call.CancellationToken);
        return new FileTransferInformation
        {
            attributes = FileInfo(file).attributes,
            size = file.Size,
            url = guest.TransferUrl(call, vm, issued),
        };
    }

    /// <summary>The worker keeps a grant a little longer than the URL lives, so the URL's own expiry is what users see.</summary>
    private int GrantLifetimeSeconds => (int)Math.Ceiling(transfers.Lifetime.TotalSeconds) + 5;

    /// <summary>vSphere file attributes as the guest's attribute changes (a bare GuestFileAttributes counts as POSIX times).</summary>
    private static GuestFileAttributeChanges Changes(GuestFileAttributes attributes)
    {
        var times = new GuestFileAttributeChanges { Kind = GuestAttributeKind.Posix, ModificationTime = attributes.modificationTime, AccessTime = attributes.accessTime };
        return attributes switch
        {
            GuestPosixFileAttributes posix => times with { OwnerId = posix.ownerId, GroupId = posix.groupId, Permissions = posix.permissions },
            GuestWindowsFileAttributes windows => times with { Kind = GuestAttributeKind.Windows, Hidden = windows.hidden, ReadOnly = windows.readOnly },
            _ => times,
        };
    }

    public Task<string> CreateTemporaryDirectoryInGuestAsync(ManagedObjectReference _this, ManagedObjectReference vm, GuestAuthentication auth, string prefix, string suffix, string? directoryPath) =>
        CreateTemporaryAsync(vm, auth, new CreateTemporaryDirectoryRequest { Prefix = prefix, Suffix = suffix, Directory = NullIfEmpty(directoryPath) });

    public Task<string> CreateTemporaryFileInGuestAsync(ManagedObjectReference _this, ManagedObjectReference vm, GuestAuthentication auth, string prefix, string suffix, string? directoryPath) =>
        CreateTemporaryAsync(vm, auth, new CreateTemporaryFileRequest { Prefix = prefix, Suffix = suffix, Directory = NullIfEmpty(directoryPath) });

    public Task DeleteDirectoryInGuestAsync(ManagedObjectReference _this, ManagedObjectReference vm, GuestAuthentication auth, string directoryPath, bool recursive) =>
        guest.InvokeAsync<EmptyResult>(Call, vm, auth, new DeleteDirectoryRequest { Path = directoryPath, Recursive = recursive });

    public Task DeleteFileInGuestAsync(ManagedObjectReference _this, ManagedObjectReference vm, GuestAuthentication auth, string filePath) =>
        guest.InvokeAsync<EmptyResult>(Call, vm, auth, new DeleteFileRequest { Path = filePath });

    public Task MakeDirectoryInGuestAsync(ManagedObjectReference _this, ManagedObjectReference vm, GuestAuthentication auth, string directoryPath, bool createParentDirectories) =>
        guest.InvokeAsync<EmptyResult>(Call, vm, auth, new MakeDirectoryRequest { Path = directoryPath, CreateParents = createParentDirectories });

    public Task MoveDirectoryInGuestAsync(ManagedObjectReference _this, ManagedObjectReference vm, GuestAuthentication auth, string srcDirectoryPath, string dstDirectoryPath) =>
        guest.InvokeAsync<EmptyResult>(Call, vm, auth, new MoveDirectoryRequest { Source = srcDirectoryPath, Destination = dstDirectoryPath });

    public Task MoveFileInGuestAsync(ManagedObjectReference _this, ManagedObjectReference vm, GuestAuthentication auth, string srcFilePath, string dstFilePath, bool overwrite) =>
        guest.InvokeAsync<EmptyResult>(Call, vm, auth, new MoveFileRequest { Source = srcFilePath, Destination = dstFilePath, Overwrite = overwrite });

    /// <summary>Both temporary-path methods: the guest's own temporary directory when none (or "") is given.</summary>
    private async Task<string> CreateTemporaryAsync(ManagedObjectReference vm, GuestAuthentication auth, CreateTemporaryRequest request) =>
        (await guest.InvokeAsync<PathResult>(Call, vm, auth, request)).Path;

    private static string? NullIfEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;

    public static GuestFileInfo FileInfo(GuestFileEntry entry) => new()
    {
        path = entry.Name,
        type = entry.Type switch { GuestFileType.Directory => "directory", GuestFileType.Symlink => "symlink", _ => "file" },
        size = entry.Type == GuestFileType.Directory ? 0 : entry.Size,
        attributes = new GuestPosixFileAttributes
        {
            modificationTime = entry.ModificationTime.UtcDateTime,
            accessTime = entry.AccessTime.UtcDateTime,
            symlinkTarget = entry.SymlinkTarget,
            ownerId = unchecked((int)entry.Uid),
            groupId = unchecked((int)entry.Gid),
            permissions = entry.Mode,
        },
    };
}
