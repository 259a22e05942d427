using System.CommandLine;
using System.Text.Json.Nodes;
using GuestOps.Vim;

namespace GuestOps.Cli.Commands;

/// <summary><c>upload</c> and <c>download</c>: InitiateFileTransferToGuest / FromGuest and the one-time /guestFile URL.</summary>
public static class TransferCommands
{
    public static Command Upload(GlobalOptions globals)
    {
        var local = new Argument<string>("local") { Description = "Local file (- for standard input)" };
        var guestPath = new Argument<string>("guest-path") { Description = "Guest file (ending in / : that directory, same name)" };
        var force = new Option<bool>("--force", "-f") { Description = "Overwrite an existing guest file" };
        var permissions = new Option<string?>("--perm") { Description = "Octal permissions of the new file (default 0644)" };
        var uid = new Option<int?>("--uid") { Description = "Owner id of the new file" };
        var gid = new Option<int?>("--gid") { Description = "Group id of the new file" };
        var command = new Command("upload", "Copy a local file into the guest (progress with rate and ETA on a terminal)") { local, guestPath, force, permissions, uid, gid };
        command.SetAction((result, cancellationToken) => CommandContext.RunAsync(result, globals, cancellationToken, async (context, ct) =>
        {
            var source = result.GetValue(local)!;
            var target = result.GetValue(guestPath)!;
            if (target.EndsWith('/') || target.EndsWith('\\'))
            {
                target += source == "-" ? "stdin" : Path.GetFileName(source);
            }

            GuestFileAttributes attributes = new();
            if (result.GetValue(permissions) is not null || result.GetValue(uid) is not null || result.GetValue(gid) is not null)
            {
                attributes = new GuestPosixFileAttributes
                {
                    permissions = result.GetValue(permissions) is { } p ? ParseOctal(p) : null,
                    ownerId = result.GetValue(uid),
                    groupId = result.GetValue(gid),
                };
            }

            await using var stream = await OpenSourceAsync(source, ct);
            var guest = await context.GuestAsync(ct);
            var url = await guest.InitiateFileTransferToGuestAsync(target, attributes, stream.Length, result.GetValue(force), ct);
            await context.Transfers().UploadAsync(url, stream, stream.Length, $"upload {target}", ct);
            if (context.Output.Json)
            {
                context.Output.Write(new JsonObject { ["local"] = source, ["guestPath"] = target, ["bytes"] = stream.Length });
            }

            return 0;
        }));
        return command;
    }

    public static Command Download(GlobalOptions globals)
    {
        var guestPath = new Argument<string>("guest-path") { Description = "Guest file" };
        var local = new Argument<string>("local") { Description = "Local file or directory (- for standard output)" };
        var force = new Option<bool>("--force", "-f") { Description = "Overwrite an existing local file" };
        var command = new Command("download", "Copy a guest file to a local file (progress with rate and ETA on a terminal)") { guestPath, local, force };
        command.SetAction((result, cancellationToken) => CommandContext.RunAsync(result, globals, cancellationToken, async (context, ct) =>
        {
            var source = result.GetValue(guestPath)!;
            var target = result.GetValue(local)!;
            if (target != "-" && Directory.Exists(target))
            {
                target = Path.Combine(target, GuestFileFormat.Split(source).Name);
            }

            if (target != "-" && File.Exists(target) && !result.GetValue(force))
            {
                throw new CliException($"{target} exists; use --force to overwrite it.");
            }

            var guest = await context.GuestAsync(ct);
            var info = await guest.InitiateFileTransferFromGuestAsync(source, ct);
            var transfers = context.Transfers();
            long bytes;
            if (target == "-")
            {
                await using var stdout = Console.OpenStandardOutput();
                bytes = await transfers.DownloadAsync(info.url, stdout, info.size, $"download {source}", ct);
                return 0;
            }

            var partial = target + ".guestops-partial";
            try
            {
                await using (var file = new FileStream(partial, FileMode.Create, FileAccess.Write, FileShare.None, 1, FileOptions.Asynchronous))
                {
                    bytes = await transfers.DownloadAsync(info.url, file, info.size, $"download {source}", ct);
                }

                File.Move(partial, target, overwrite: true);
            }
            finally
            {
                File.Delete(partial);
            }

            if (context.Output.Json)
            {
                context.Output.Write(new JsonObject { ["guestPath"] = source, ["local"] = target, ["bytes"] = bytes });
            }

            return 0;
        }));
        return command;
    }

    private static long ParseOctal(string text)
    {
        try
        {
            return Convert.ToInt64(text, 8);
        }
        catch (FormatException)
        {
            throw new CliException($"Not an octal mode: {text}", 2);
        }
    }

    /// <summary>The local file, or standard input read to its end (the PUT needs the exact length up front).</summary>
    private static async Task<Stream> OpenSourceAsync(string path, CancellationToken cancellationToken)
    {
        if (path != "-")
        {
            return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.Asynchronous | FileOptions.SequentialScan);
        }

        var buffer = new MemoryStream();
        await using (var stdin = Console.OpenStandardInput())
        {
            await stdin.CopyToAsync(buffer, cancellationToken);
        }

        buffer.Position = 0;
        return buffer;
    }
}
