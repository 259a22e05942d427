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
