using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using System.ServiceModel;
using GuestOps.Client;
using GuestOps.Vim;

namespace GuestOps.Cli.Commands;

/// <summary>GuestFileManager commands: ls, exists, mkdir, rm, rmdir, mv, mktemp, chmod, chown, touch.</summary>
public static class FileCommands
{
    private static Argument<string> PathArgument(string name = "path", string description = "Guest path") =>
        new(name) { Description = description };

    public static Command Ls(GlobalOptions globals)
    {
        var path = PathArgument("path", "Guest directory or file");
        var all = new Option<bool>("--all", "-a") { Description = "Include . and .." };
        var match = new Option<string?>("--match") { Description = "Only names matching this regular expression (matchPattern)" };
        var command = new Command("ls", "List a guest directory (ListFilesInGuest, all pages): mode, owner id, group id, size, modification time, name") { path, all, match };
        command.SetAction((result, cancellationToken) => CommandContext.RunAsync(result, globals, cancellationToken, async (context, ct) =>
        {
            var guest = await context.GuestAsync(ct);
            var files = (await guest.ListAllFilesAsync(result.GetValue(path)!, result.GetValue(match), ct))
                .Where(f => result.GetValue(all) || f.path is not ("." or ".."))
                .ToList();
            if (context.Output.Json)
            {
                context.Output.Write(new JsonArray(files.Select(f => (JsonNode)GuestFileFormat.Json(f)).ToArray()));
            }
            else
            {
                foreach (var row in files.Select(GuestFileFormat.Row))
                {
                    context.Output.Out.WriteLine(string.Join("  ", row[0], row[1].PadLeft(5), row[2].PadLeft(5), row[3].PadLeft(10), row[4], row[5]));
                }
            }

            return 0;
        }));
        return command;
    }

    public static Command Exists(GlobalOptions globals)
    {
        var path = PathArgument();
        var command = new Command("exists", "Tell whether a guest file or directory exists (exit 0 and its type) or not (exit 1), like vmrun's fileExistsInGuest / directoryExistsInGuest") { path };
        command.SetAction((result, cancellationToken) => CommandContext.RunAsync(result, globals, cancellationToken, async (context, ct) =>
        {
            var guest = await context.GuestAsync(ct);
            var target = result.GetValue(path)!;
            var (parent, name) = GuestFileFormat.Split(target);
            string? type;
            if (name.Length == 0)
            {
                type = "directory";
            }
            else
            {
                try
                {
                    var page = await guest.ListFilesAsync(parent.Length == 0 ? "." : parent, null, 1, $"^{Regex.Escape(name)}$", ct);
                    type = page.files?.FirstOrDefault()?.type;
                }
                catch (FaultException e) when (VimFaults.Detail(e) is FileNotFound or NotADirectory)
                {
                    type = null;
                }
            }

            context.Output.Result(type is null ? $"{target}: does not exist" : $"{target}: {type}",
                () => new JsonObject { ["path"] = target, ["exists"] = type is not null, ["type"] = type });
            return type is null ? 1 : 0;
        }));
        return command;
    }

    public static Command Mkdir(GlobalOptions globals)
    {
        var path = PathArgument("path", "Guest directory to create");
        var parents = new Option<bool>("--parents", "-p") { Description = "Create missing parent directories" };
        var command = new Command("mkdir", "Create a guest directory (MakeDirectoryInGuest)") { path, parents };
        command.SetAction((result, cancellationToken) => CommandContext.RunAsync(result, globals, cancellationToken, async (context, ct) =>
        {
            var guest = await context.GuestAsync(ct);
            await guest.MakeDirectoryAsync(result.GetValue(path)!, result.GetValue(parents), ct);
            return Done(context, "created", result.GetValue(path)!);
        }));
        return command;
    }

    public static Command Rm(GlobalOptions globals)
    {
        var path = PathArgument("path", "Guest file to delete");
        var command = new Command("rm", "Delete a guest file (DeleteFileInGuest)") { path };
        command.SetAction((result, cancellationToken) => CommandContext.RunAsync(result, globals, cancellationToken, async (context, ct) =>
        {
            var guest = await context.GuestAsync(ct);
            await guest.DeleteFileAsync(result.GetValue(path)!, ct);
            return Done(context, "deleted", result.GetValue(path)!);
        }));
        return command;
    }

    public static Command Rmdir(GlobalOptions globals)
    {
        var path = PathArgument("path", "Guest directory to delete");
        var recursive = new Option<bool>("--recursive", "-r") { Description = "Delete its contents too" };
        var command = new Command("rmdir", "Delete a guest directory (DeleteDirectoryInGuest); it must be empty unless -r") { path, recursive };
        command.SetAction((result, cancellationToken) => CommandContext.RunAsync(result, globals, cancellationToken, async (context, ct) =>
        {
            var guest = await context.GuestAsync(ct);
            await guest.DeleteDirectoryAsync(result.GetValue(path)!, result.GetValue(recursive), ct);
            return Done(context, "deleted", result.GetValue(path)!);
        }));
        return command;
    }

    public static Command Mv(GlobalOptions globals)
    {
        var source = PathArgument("source", "Guest file or directory");
        var destination = PathArgument("destination", "New guest path");
        var noClobber = new Option<bool>("--no-clobber", "-n") { Description = "Do not overwrite an existing destination file" };
        var command = new Command("mv", "Move or rename a guest file (MoveFileInGuest) or directory (MoveDirectoryInGuest)") { source, destination, noClobber };
        command.SetAction((result, cancellationToken) => CommandContext.RunAsync(result, globals, cancellationToken, async (context, ct) =>
        {
            var guest = await context.GuestAsync(ct);
            string from = result.GetValue(source)!, to = result.GetValue(destination)!;
            try
            {
                await guest.MoveFileAsync(from, to, !result.GetValue(noClobber), ct);
            }
            catch (FaultException e) when (VimFaults.Detail(e) is NotAFile)
            {
                await guest.MoveDirectoryAsync(from, to, ct);
            }

            context.Output.Result($"{from} -> {to}", () => new JsonObject { ["source"] = from, ["destination"] = to });
            return 0;
        }));
        return command;
    }

    public static Command Mktemp(GlobalOptions globals)
    {
        var directory = new Option<bool>("--directory", "-d") { Description = "Create a directory instead of a file" };
        var prefix = new Option<string>("--prefix") { Description = "Name prefix", DefaultValueFactory = _ => "guestops-" };
        var suffix = new Option<string>("--suffix") { Description = "Name suffix", DefaultValueFactory = _ => "" };
        var inDirectory = new Option<string?>("--dir") { Description = "Create it in this guest directory (default: the guest's temporary directory)" };
        var command = new Command("mktemp", "Create a guest temporary file or directory and print its path (CreateTemporaryFileInGuest / CreateTemporaryDirectoryInGuest)")
            { directory, prefix, suffix, inDirectory };
        command.SetAction((result, cancellationToken) => CommandContext.RunAsync(result, globals, cancellationToken, async (context, ct) =>
        {
            var guest = await context.GuestAsync(ct);
            var created = result.GetValue(directory)
                ? await guest.CreateTemporaryDirectoryAsync(result.GetValue(prefix)!, result.GetValue(suffix)!, result.GetValue(inDirectory), ct)
                : await guest.CreateTemporaryFileAsync(result.GetValue(prefix)!, result.GetValue(suffix)!, result.GetValue(inDirectory), ct);
            context.Output.Result(created, () => new JsonObject { ["path"] = created });
            return 0;
        }));
        return command;
    }

    public static Command Chmod(GlobalOptions globals)
    {
        var mode = new Argument<string>("mode") { Description = "Octal permissions, e.g. 0755" };
        var path = PathArgument();
        var command = new Command("chmod", "Change a guest file's permissions (ChangeFileAttributesInGuest)") { mode, path };
        command.SetAction((result, cancellationToken) => CommandContext.RunAsync(result, globals, cancellationToken, async (context, ct) =>
        {
            long permissions;
            try
            {
                permissions = Convert.ToInt64(result.GetValue(mode)!, 8);
            }
            catch (FormatException)
            {
                throw new CliException($"Not an octal mode: {result.GetValue(mode)}", 2);
            }

            var guest = await context.GuestAsync(ct);
            await guest.ChangeFileAttributesAsync(result.GetValue(path)!, new GuestPosixFileAttributes { permissions = permissions }, ct);
            return Done(context, "changed", result.GetValue(path)!);
        }));
        return command;
    }

    public static Command Chown(GlobalOptions globals)
    {
        var owner = new Argument<string>("owner") { Description = "UID[:GID] (numeric guest ids)" };
        var path = PathArgument();
        var command = new Command("chown", "Change a guest file's owner and group (ChangeFileAttributesInGuest; ids, not names)") { owner, path };
        command.SetAction((result, cancellationToken) => CommandContext.RunAsync(result, globals, cancellationToken, async (context, ct) =>
        {
            var parts = result.GetValue(owner)!.Split(':', 2);
            int? Id(string text) => text.Length == 0 ? null
                : int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var id) ? id
                : throw new CliException($"Guest operations take numeric ids, not '{text}'.", 2);
            var attributes = new GuestPosixFileAttributes { ownerId = Id(parts[0]), groupId = parts.Length > 1 ? Id(parts[1]) : null };
            var guest = await context.GuestAsync(ct);
            await guest.ChangeFileAttributesAsync(result.GetValue(path)!, attributes, ct);
            return Done(context, "changed", result.GetValue(path)!);
        }));
        return command;
    }

    public static Command Touch(GlobalOptions globals)
    {
        var path = PathArgument();
        var noCreate = new Option<bool>("--no-create", "-c") { Description = "Do not create the file when it does not exist" };
        var date = new Option<DateTime?>("--date", "-d") { Description = "Use this time instead of now (e.g. 2024-05-01T10:20:30Z)" };
        var command = new Command("touch", "Set a guest file's access and modification times, creating it empty when missing") { path, noCreate, date };
        command.SetAction((result, cancellationToken) => CommandContext.RunAsync(result, globals, cancellationToken, async (context, ct) =>
        {
            var guest = await context.GuestAsync(ct);
            var target = result.GetValue(path)!;
            var time = (result.GetValue(date) ?? DateTime.UtcNow).ToUniversalTime();
            var attributes = new GuestFileAttributes { modificationTime = time, accessTime = time };
            try
            {
                await guest.ChangeFileAttributesAsync(target, attributes, ct);
            }
            catch (FaultException e) when (VimFaults.Detail(e) is FileNotFound && !result.GetValue(noCreate))
            {
                var url = await guest.InitiateFileTransferToGuestAsync(target, attributes, 0, overwrite: false, ct);
                await context.Transfers(silent: true).UploadAsync(url, Stream.Null, 0, $"create {target}", ct);
            }

            return Done(context, "touched", target);
        }));
        return command;
    }

    private static int Done(CommandContext context, string what, string path)
    {
        if (context.Output.Json)
        {
            context.Output.Write(new JsonObject { ["path"] = path, [what] = true });
        }

        return 0;
    }
}
