using GuestOps.Channel.Messages;
using GuestOps.Tools.Native;
using GuestOps.Tools.Errors;

namespace GuestOps.Tools.Files;

/// <summary>
/// A validated absolute guest path: not empty, no NUL, starts with <c>/</c>. Trailing slashes are dropped (except for
/// <c>/</c> itself) so that <c>/tmp/link/</c> names the link, not the directory it points to: every operation decides
/// on symlinks explicitly.
/// </summary>
internal sealed class GuestPath
{
    private GuestPath(string original, string normalized)
    {
        Original = original;
        Value = normalized;
        Z = LibC.Utf8Z(normalized);
    }

    /// <summary>The path as the request gave it (for messages and <see cref="GuestError.Path"/>).</summary>
    public string Original { get; }

    /// <summary>The path without trailing slashes.</summary>
    public string Value { get; }

    /// <summary>NUL-terminated UTF-8 form of <see cref="Value"/>.</summary>
    public byte[] Z { get; }

    /// <summary>The parent directory (<c>/</c> for top-level names and for <c>/</c>).</summary>
    public string Parent
    {
        get
        {
            var i = Value.LastIndexOf('/');
            return i <= 0 ? "/" : Value[..i];
        }
    }

    /// <summary>The last component (empty for <c>/</c>).</summary>
    public string Name => Value[(Value.LastIndexOf('/') + 1)..];

    public bool IsRoot => Value == "/";

    /// <exception cref="GuestOperationException">InvalidArgument for an empty, relative or NUL-containing path.</exception>
    public static GuestPath Parse(string? path, string what = "path")
    {
        if (string.IsNullOrEmpty(path))
        {
            throw new GuestOperationException(GuestErrorCode.InvalidArgument, $"The {what} is empty.") { Path = path };
        }

        if (path.Contains('\0'))
        {
            throw new GuestOperationException(GuestErrorCode.InvalidArgument, $"The {what} contains a NUL character.") { Path = path };
        }

        if (path[0] != '/')
        {
            throw new GuestOperationException(GuestErrorCode.InvalidArgument, $"The {what} '{path}' is not absolute.") { Path = path };
        }

        var trimmed = path.TrimEnd('/');
        return new GuestPath(path, trimmed.Length == 0 ? "/" : trimmed);
    }

    /// <summary><see cref="Parse"/> for an optional path: null when absent or empty.</summary>
    public static GuestPath? ParseOptional(string? path, string what = "path") => string.IsNullOrEmpty(path) ? null : Parse(path, what);

    /// <summary>A child of this directory.</summary>
    public GuestPath Child(string name) => new(Value == "/" ? "/" + name : Value + "/" + name, Value == "/" ? "/" + name : Value + "/" + name);

    public override string ToString() => Value;
}
