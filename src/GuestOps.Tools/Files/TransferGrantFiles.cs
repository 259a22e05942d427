using System.Text.Json;
using GuestOps.Channel.Messages;
using GuestOps.Tools.Identity;
using GuestOps.Tools.Errors;
using GuestOps.Tools.State;

namespace GuestOps.Tools.Files;

/// <summary>
/// File-transfer grants as files in a root-only directory, for the one-shot worker: Initiate and the transfer run in
/// different processes. One file per grant, named by its random id; taking a grant renames it away first, so it is
/// used at most once even when two runs race.
/// </summary>
internal sealed class TransferGrantFiles(string directory, TimeProvider time)
{
    /// <summary>Writes a grant under its id; refuses more than <paramref name="maxGrants"/> unexpired ones.</summary>
    public void Save(string id, FileTransfers.Grant grant, int maxGrants)
    {
        var now = time.GetUtcNow();
        var count = 0;
        foreach (var file in Directory.EnumerateFiles(directory, "*.json"))
        {
            if (Read(file) is not { } old || old.Expires <= now)
            {
                File.Delete(file);
                continue;
            }

            count++;
        }

        if (count >= maxGrants)
        {
            throw new GuestOperationException(GuestErrorCode.TooManyLogons, $"Too many file transfers are waiting to be used ({maxGrants}); use or let some expire first.");
        }

        var record = new GrantRecord(grant.Upload, grant.User.Name, grant.User.Uid, grant.User.Gid, [.. grant.User.Groups], grant.User.Home,
            grant.Path.Original, grant.Size, grant.Overwrite, grant.Attributes, grant.Expires);
        var path = Path.Combine(directory, id + ".json");
        using (var stream = ToolsStateDirectory.CreateRootOnlyFile(path))
        {
            JsonSerializer.Serialize(stream, record, ToolsStateJsonContext.Default.GrantRecord);
        }
    }

    /// <summary>The grant with this id, removed; null when there is none.</summary>
    public FileTransfers.Grant? Take(string id)
    {
        if (id.Length != 32 || !id.All(c => c is >= '0' and <= '9' or >= 'a' and <= 'f'))
        {
            return null;
        }

        var path = Path.Combine(directory, id + ".json");
        var taken = path + ".taken-" + Environment.ProcessId;
        try
        {
            File.Move(path, taken);
        }
        catch (FileNotFoundException)
        {
            return null;
        }

        try
        {
            if (Read(taken) is not { } record)
            {
                return null;
            }

            return new FileTransfers.Grant(
                record.Upload,
                new GuestUser(record.UserName, record.Uid, record.Gid, record.Groups, record.Home),
                GuestPath.Parse(record.Path),
                record.Size,
                record.Overwrite,
                record.Attributes,
                record.Expires);
        }
        finally
        {
            File.Delete(taken);
        }
    }

    private static GrantRecord? Read(string file)
    {
        try
        {
            return JsonSerializer.Deserialize(File.ReadAllBytes(file), ToolsStateJsonContext.Default.GrantRecord);
        }
        catch (Exception e) when (e is JsonException or IOException)
        {
            return null;
        }
    }
}
