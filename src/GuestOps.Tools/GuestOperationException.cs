using GuestOps.Channel.Messages;

namespace GuestOps.Tools;

/// <summary>A guest-side failure with its wire error code; becomes a <see cref="GuestError"/> response.</summary>
public sealed class GuestOperationException(GuestErrorCode code, string message) : Exception(message)
{
    public GuestErrorCode Code { get; } = code;

    public string? Path { get; init; }

    public int? OsError { get; init; }

    public GuestError ToError() => new(Code, Message) { Path = Path, OsError = OsError };

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
            _ => GuestErrorCode.FileAccessError,
        };
        var reason = code switch
        {
            GuestErrorCode.FileNotFound => "no such file or directory",
            GuestErrorCode.PermissionDenied => "permission denied",
            GuestErrorCode.FileNameTooLong => "file name too long",
            _ => $"error {errno}",
        };
        return new GuestOperationException(code, $"{what} '{path}': {reason}") { Path = path, OsError = errno };
    }
}
