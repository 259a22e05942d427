using System.Globalization;
using System.Runtime.InteropServices;

namespace GuestOps.Host.Providers;

// The guest's files are owned by host ids: guest id N is host id offset + N (offset 0 without a user namespace). When the
// offset changes between two power-ons (uidmap installed or removed, another subordinate id range, another VM slot), every
// file of the guest is moved to the new offset, so guest users keep owning their homes and files.
public static partial class GuestImage
{
    /// <summary>The VM directory's record of the host id offset its guest files were last prepared with (not visible in the guest).</summary>
    public const string IdMappingFileName = "id-mapping";

    /// <summary>Ids a guest can own: guest ids 0..65535.</summary>
    private const int GuestIds = 65536;

    /// <summary>Moves the guest's files to <paramref name="hostIdOffset"/> when they were prepared with another offset
    /// (recorded in <see cref="IdMappingFileName"/>; for a VM directory from before the record, the owner of its /etc),
    /// then records the offset. Returns the previous offset when files were moved, else null.</summary>
    public static int? RepairIdMapping(string vmDirectory, int hostIdOffset)
    {
        var record = Path.Combine(vmDirectory, IdMappingFileName);
        var previous = ReadRecordedOffset(record) ?? (Stat(Path.Combine(vmDirectory, "etc")) is { } etc ? (int)etc.Uid : null);
        int? moved = null;
        if (previous is { } old && old != hostIdOffset)
        {
            foreach (var dir in WritableDirectories)
            {
                Remap(Path.Combine(vmDirectory, dir), old, hostIdOffset);
            }

            moved = old;
        }

        File.WriteAllText(record, $"uid-offset {hostIdOffset.ToString(CultureInfo.InvariantCulture)}\n");
        return moved;
    }

    private static int? ReadRecordedOffset(string record)
    {
        if (!File.Exists(record))
        {
            return null;
        }

        var parts = File.ReadAllText(record).Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return parts.Length == 2 && parts[0] == "uid-offset" && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var offset) ? offset : null;
    }

    /// <summary>Moves the owner and group of <paramref name="path"/> and everything below it (symbolic links themselves, never
    /// their targets) from ids old..old+65535 to the same guest ids at <paramref name="to"/>; other ids stay.</summary>
    private static void Remap(string path, int from, int to)
    {
        if (Stat(path) is not { } status)
        {
            return;
        }

        uint Moved(uint id) => id >= (uint)from && id < (uint)from + GuestIds ? (uint)(id - from + to) : id;
        var (uid, gid) = (Moved(status.Uid), Moved(status.Gid));
        if (uid != status.Uid || gid != status.Gid)
        {
            Chown(path, (int)uid, (int)gid);
            if (!status.IsSymlink && (status.Mode & 0b110_000_000_000) != 0)
            {
                // chown clears set-user-id and set-group-id: keep the guest's mode.
                File.SetUnixFileMode(path, (UnixFileMode)(status.Mode & 0b111_111_111_111));
            }
        }

        if (status.IsDirectory)
        {
            foreach (var child in Directory.EnumerateFileSystemEntries(path))
            {
                Remap(child, from, to);
            }
        }
    }

    private readonly record struct FileStatus(uint Uid, uint Gid, uint Mode)
    {
        public bool IsDirectory => (Mode & 0xF000) == 0x4000;

        public bool IsSymlink => (Mode & 0xF000) == 0xA000;
    }

    /// <summary>lstat through statx (one layout on every Linux architecture); null when the path does not exist.</summary>
    private static unsafe FileStatus? Stat(string path)
    {
        const int AtFdCwd = -100, AtSymlinkNoFollow = 0x100, StatxType = 0x1, StatxMode = 0x2, StatxUid = 0x8, StatxGid = 0x10;
        var buffer = stackalloc byte[256];
        if (statx(AtFdCwd, path, AtSymlinkNoFollow, StatxType | StatxMode | StatxUid | StatxGid, buffer) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            return errno == 2 /* ENOENT */ ? null : throw new IOException($"Cannot read the owner of {path} (errno {errno}).");
        }

        // struct statx: stx_mask u32 @0, stx_blksize u32 @4, stx_attributes u64 @8, stx_nlink u32 @16, stx_uid u32 @20, stx_gid u32 @24, stx_mode u16 @28
        return new FileStatus(*(uint*)(buffer + 20), *(uint*)(buffer + 24), *(ushort*)(buffer + 28));
    }

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial int statx(int directoryFd, string path, int flags, int mask, byte* buffer);
}
