namespace GuestOps.Channel.Messages;

/// <summary>What kind of object a directory entry is (symlinks are not followed for this).</summary>
public enum GuestFileType
{
    /// <summary>A regular file or anything that is neither a directory nor a symlink (device, fifo, socket).</summary>
    File = 0,
    Directory = 1,
    Symlink = 2,
}

/// <summary>
/// One entry of a listing. For a symlink, <see cref="Type"/> is <see cref="GuestFileType.Symlink"/>,
/// <see cref="SymlinkTarget"/> is the link text, and the attributes describe the target (or the link itself when
/// the target does not exist).
/// </summary>
[System.Text.Json.Serialization.JsonConverter(typeof(GuestFileEntryConverter))]
public sealed record GuestFileEntry
{
    /// <summary>The entry name in a directory listing; the requested path for a single file.</summary>
    public required string Name { get; init; }

    public GuestFileType Type { get; init; }

    /// <summary>Size in bytes; 0 for directories.</summary>
    public long Size { get; init; }

    /// <summary>POSIX st_mode including the file-type bits.</summary>
    public uint Mode { get; init; }

    public uint Uid { get; init; }

    public uint Gid { get; init; }

    public DateTimeOffset AccessTime { get; init; }

    public DateTimeOffset ModificationTime { get; init; }

    public string? SymlinkTarget { get; init; }
}

/// <summary>One page of a listing and how many matching entries follow it.</summary>
public sealed record ListFilesResult : ChannelResult
{
    public IReadOnlyList<GuestFileEntry> Entries { get; init; } = [];

    /// <summary>Number of matching entries after the ones returned.</summary>
    public int Remaining { get; init; }
}
