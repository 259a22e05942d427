using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using GuestOps.Vim;

namespace GuestOps.Cli.Commands;

/// <summary>How guest files are shown: ls -l style lines, or JSON objects.</summary>
public static class GuestFileFormat
{
    public static string Mode(GuestFileInfo file)
    {
        var mode = (file.attributes as GuestPosixFileAttributes)?.permissions ?? 0;
        var text = new StringBuilder(file.type switch { "directory" => "d", "symlink" => "l", _ => "-" });
        for (var shift = 6; shift >= 0; shift -= 3)
        {
            var bits = (mode >> shift) & 7;
            text.Append((bits & 4) != 0 ? 'r' : '-').Append((bits & 2) != 0 ? 'w' : '-');
            var special = shift switch { 6 => (mode & 0x800) != 0, 3 => (mode & 0x400) != 0, _ => (mode & 0x200) != 0 };
            var exec = (bits & 1) != 0;
            text.Append(special ? (shift == 0 ? (exec ? 't' : 'T') : (exec ? 's' : 'S')) : exec ? 'x' : '-');
        }

        return text.ToString();
    }

    public static IReadOnlyList<string> Row(GuestFileInfo file)
    {
        var posix = file.attributes as GuestPosixFileAttributes;
        return
        [
            Mode(file),
            posix?.ownerId?.ToString(CultureInfo.InvariantCulture) ?? "-",
            posix?.groupId?.ToString(CultureInfo.InvariantCulture) ?? "-",
            file.size.ToString(CultureInfo.InvariantCulture),
            file.attributes.modificationTime?.ToLocalTime().ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture) ?? "-",
            file.attributes.symlinkTarget is { Length: > 0 } target ? $"{file.path} -> {target}" : file.path,
        ];
    }

    public static JsonObject Json(GuestFileInfo file)
    {
        var posix = file.attributes as GuestPosixFileAttributes;
        return new JsonObject
        {
            ["path"] = file.path,
            ["type"] = file.type,
            ["size"] = file.size,
            ["permissions"] = posix?.permissions is { } p ? Convert.ToString(p & 0xFFF, 8) : null,
            ["ownerId"] = posix?.ownerId,
            ["groupId"] = posix?.groupId,
            ["modificationTime"] = file.attributes.modificationTime?.ToString("O", CultureInfo.InvariantCulture),
            ["accessTime"] = file.attributes.accessTime?.ToString("O", CultureInfo.InvariantCulture),
            ["symlinkTarget"] = file.attributes.symlinkTarget,
        };
    }

    /// <summary>The parent directory and name of a guest path (POSIX or Windows separators).</summary>
    public static (string Parent, string Name) Split(string path)
    {
        var trimmed = path.Length > 1 ? path.TrimEnd('/', '\\') : path;
        var index = trimmed.LastIndexOfAny(['/', '\\']);
        return index switch
        {
            < 0 => ("", trimmed),
            0 => (trimmed[..1], trimmed[1..]),
            _ => (trimmed[..index], trimmed[(index + 1)..]),
        };
    }
}
