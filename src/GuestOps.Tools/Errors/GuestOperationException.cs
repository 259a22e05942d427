using GuestOps.Channel.Messages;

namespace GuestOps.Tools.Errors;

/// <summary>A guest-side failure with its wire error code; becomes a <see cref="GuestError"/> response.</summary>
public sealed class GuestOperationException(GuestErrorCode code, string message) : Exception(message)
{
    public GuestErrorCode Code { get; } = code;

    public string? Path { get; init; }

    public int? OsError { get; init; }

    /// <summary>The process involved (NoSuchProcess, PermissionDenied on a process, ...).</summary>
    public long? Pid { get; init; }

    public GuestError ToError() => new(Code, Message) { Path = Path, Pid = Pid, OsError = OsError };

    /// <summary>Maps an errno from a file operation on <paramref name="path"/>.</summary>
    public static GuestOperationException FromErrno(int errno, string path, string what)
    {
        var code = errno switch
        {
            Native.LibC.ENOENT or Native.LibC.ENOTDIR => GuestErrorCode.FileNotFound,
            Native.LibC.EACCES or Native.LibC.EPERM => GuestErrorCode.PermissionDenied,
            Native.LibC.ENAMETOOLONG => GuestErrorCode.FileNameTooLong,
            Native.LibC.EEXIST => GuestErrorCode.FileAlreadyExists,
            Native.LibC.ENOTEMPTY => GuestErrorCode.DirectoryNotEmpty,
            Native.LibC.EINVAL => GuestErrorCode.InvalidArgument,
            Native.LibC.ENOSYS => GuestErrorCode.NotSupported,
            Native.LibC.ENOSPC or Native.LibC.EDQUOT => GuestErrorCode.NoDiskSpace,
            Native.LibC.ETXTBSY or Native.LibC.EBUSY => GuestErrorCode.FileLocked,
            _ => GuestErrorCode.FileAccessError,
        };
        var reason = code switch
        {
            GuestErrorCode.FileNotFound => "no such file or directory",
            GuestErrorCode.PermissionDenied => "permission denied",
            GuestErrorCode.FileNameTooLong => "file name too long",
            GuestErrorCode.FileAlreadyExists => "file exists",
            GuestErrorCode.DirectoryNotEmpty => "directory not empty",
            GuestErrorCode.NoDiskSpace => "no space left on device",
            GuestErrorCode.InvalidArgument => "invalid argument",
            GuestErrorCode.FileLocked when errno == Native.LibC.ETXTBSY => "text file busy",
            _ when errno == Native.LibC.EROFS => "read-only file system",
            _ when errno == Native.LibC.ELOOP => "too many levels of symbolic links",
            _ when errno == Native.LibC.EBUSY => "device or resource busy",
            _ when errno == Native.LibC.EIO => "input/output error",
            _ => $"error {errno}",
        };
        return new GuestOperationException(code, $"{what} '{path}': {reason}") { Path = path, OsError = errno };
    }

    /// <summary>A failure with a fixed code about <paramref name="path"/>.</summary>
    public static GuestOperationException ForPath(GuestErrorCode code, string path, string message, int? errno = null) =>
        new(code, message) { Path = path, OsError = errno };

    /// <summary>NotAFile: <paramref name="path"/> names a directory where a file was expected.</summary>
    public static GuestOperationException IsADirectory(string path, int? errno = null) =>
        ForPath(GuestErrorCode.NotAFile, path, $"'{path}' is a directory, not a file.", errno);

    /// <summary>NotADirectory: <paramref name="path"/> names something else where a directory was expected.</summary>
    public static GuestOperationException NotADirectory(string path, int? errno = null) =>
        ForPath(GuestErrorCode.NotADirectory, path, $"'{path}' is not a directory.", errno);
}
