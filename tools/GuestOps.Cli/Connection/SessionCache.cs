using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace GuestOps.Cli.Connection;

/// <summary>
/// Session cookies kept between commands, as govc keeps them: one file per endpoint URL and user in
/// ~/.guestops/sessions (GUESTOPS_SESSION_DIR), named by a hash of both, readable by the owner only (0600, folder 0700).
/// The cookie is the only secret stored; passwords never are.
/// </summary>
public sealed class SessionCache(string directory)
{
    public string Directory { get; } = directory;

    public string PathFor(string url, string user) =>
        Path.Combine(Directory, Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{url.ToLowerInvariant()}#{user}")))[..32] + ".json");

    /// <summary>The cached cookie, or null.</summary>
    public string? Load(string url, string user)
    {
        var path = PathFor(url, user);
        try
        {
            var node = JsonNode.Parse(File.ReadAllText(path));
            return node?["url"]?.GetValue<string>() == url && node["user"]?.GetValue<string>() == user ? node["cookie"]?.GetValue<string>() : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException or InvalidOperationException)
        {
            return null;
        }
    }

    public void Save(string url, string user, string cookie)
    {
        if (!OperatingSystem.IsWindows())
        {
            System.IO.Directory.CreateDirectory(Directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
        else
        {
            System.IO.Directory.CreateDirectory(Directory);
        }

        var path = PathFor(url, user);
        var temporary = path + "." + Environment.ProcessId + ".tmp";
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using (var stream = new FileStream(temporary, options))
        {
            var json = new JsonObject { ["url"] = url, ["user"] = user, ["cookie"] = cookie, ["saved"] = DateTime.UtcNow.ToString("O") };
            stream.Write(Encoding.UTF8.GetBytes(json.ToJsonString()));
        }

        File.Move(temporary, path, overwrite: true);
    }

    /// <summary>Removes the cached session; true when there was one.</summary>
    public bool Delete(string url, string user)
    {
        var path = PathFor(url, user);
        if (!File.Exists(path))
        {
            return false;
        }

        File.Delete(path);
        return true;
    }
}
