using GuestOps.Channel.Messages;
using GuestOps.Server.Guest;
using GuestOps.Soap;
using GuestOps.Vim;

namespace GuestOps.Server.ManagedObjects;

/// <summary>vim.vm.guest.FileManager: files and directories inside the guest, as the authenticated guest user.</summary>
public sealed class GuestFileManager(string id, GuestCalls guest, PropertyReader reader) : ManagedObject(id, reader)
{
    private static readonly PropertyTable<GuestFileManager> Table = new();

    public override PropertyTable Properties => Table;

    /// <summary>Lists a directory (with <c>.</c> and <c>..</c>) or describes one file; pages with index/maxResults/remaining;
    /// matchPattern is a regular expression over entry names (reference 3.4).</summary>
    public async Task<GuestListFileInfo> ListFilesInGuest(VimCall call, ManagedObjectReference vm, GuestAuthentication auth, string filePath, int? index, int? maxResults, string? matchPattern)
    {
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
    public Task ChangeFileAttributesInGuest(VimCall call, ManagedObjectReference vm, GuestAuthentication auth, string guestFilePath, GuestFileAttributes fileAttributes) =>
        guest.InvokeAsync<EmptyResult>(call, vm, auth, fileAttributes switch
        {
            GuestPosixFileAttributes posix => new ChangeFileAttributesRequest
            {
                Path = guestFilePath,
                Kind = GuestAttributeKind.Posix,
                ModificationTime = posix.modificationTime,
                AccessTime = posix.accessTime,
                OwnerId = posix.ownerId,
                GroupId = posix.groupId,
                Permissions = posix.permissions,
            },
            GuestWindowsFileAttributes windows => new ChangeFileAttributesRequest
            {
                Path = guestFilePath,
                Kind = GuestAttributeKind.Windows,
                ModificationTime = windows.modificationTime,
                AccessTime = windows.accessTime,
                Hidden = windows.hidden,
                ReadOnly = windows.readOnly,
            },
            _ => new ChangeFileAttributesRequest
            {
                Path = guestFilePath,
                Kind = GuestAttributeKind.Posix,
                ModificationTime = fileAttributes.modificationTime,
                AccessTime = fileAttributes.accessTime,
            },
        });

    public async Task<string> CreateTemporaryDirectoryInGuest(VimCall call, ManagedObjectReference vm, GuestAuthentication auth, string prefix, string suffix, string? directoryPath) =>
        (await guest.InvokeAsync<PathResult>(call, vm, auth, new CreateTemporaryRequest
        {
            IsDirectory = true,
            Prefix = prefix,
            Suffix = suffix,
            Directory = string.IsNullOrEmpty(directoryPath) ? null : directoryPath,
        })).Path;

    public async Task<string> CreateTemporaryFileInGuest(VimCall call, ManagedObjectReference vm, GuestAuthentication auth, string prefix, string suffix, string? directoryPath) =>
        (await guest.InvokeAsync<PathResult>(call, vm, auth, new CreateTemporaryRequest
        {
            IsDirectory = false,
            Prefix = prefix,
            Suffix = suffix,
            Directory = string.IsNullOrEmpty(directoryPath) ? null : directoryPath,
        })).Path;

    public Task DeleteDirectoryInGuest(VimCall call, ManagedObjectReference vm, GuestAuthentication auth, string directoryPath, bool recursive) =>
        guest.InvokeAsync<EmptyResult>(call, vm, auth, new DeleteDirectoryRequest { Path = directoryPath, Recursive = recursive });

    public Task DeleteFileInGuest(VimCall call, ManagedObjectReference vm, GuestAuthentication auth, string filePath) =>
        guest.InvokeAsync<EmptyResult>(call, vm, auth, new DeleteFileRequest { Path = filePath });

    public Task MakeDirectoryInGuest(VimCall call, ManagedObjectReference vm, GuestAuthentication auth, string directoryPath, bool createParentDirectories) =>
        guest.InvokeAsync<EmptyResult>(call, vm, auth, new MakeDirectoryRequest { Path = directoryPath, CreateParents = createParentDirectories });

    public Task MoveDirectoryInGuest(VimCall call, ManagedObjectReference vm, GuestAuthentication auth, string srcDirectoryPath, string dstDirectoryPath) =>
        guest.InvokeAsync<EmptyResult>(call, vm, auth, new MoveDirectoryRequest { Source = srcDirectoryPath, Destination = dstDirectoryPath });

    public Task MoveFileInGuest(VimCall call, ManagedObjectReference vm, GuestAuthentication auth, string srcFilePath, string dstFilePath, bool overwrite) =>
        guest.InvokeAsync<EmptyResult>(call, vm, auth, new MoveFileRequest { Source = srcFilePath, Destination = dstFilePath, Overwrite = overwrite });

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
