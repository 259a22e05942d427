using System.CommandLine;
using System.Text.Json.Nodes;
using GuestOps.Cli.Connection;

namespace GuestOps.Cli.Commands;

/// <summary><c>login</c> and <c>logout</c>: a vSphere session kept between commands, as govc keeps it.</summary>
public static class SessionCommands
{
    public static Command Login(GlobalOptions globals)
    {
        var command = new Command("login", "Log in to the endpoint and cache the session (~/.guestops/sessions, mode 0600) for the next commands; prompts for the password when none is given");
        command.SetAction((result, cancellationToken) => CommandContext.RunAsync(result, globals, cancellationToken, async (context, ct) =>
        {
            var service = await context.ConnectAnonymousAsync(ct);
            var user = context.RequireUser();
            var password = context.Settings.Password ?? SecretPrompt.Read(context.Environment, $"Password for {user} at {context.Settings.DisplayUrl}: ")
                ?? throw new CliException("No password: give --password, set GUESTOPS_PASSWORD or GOVC_PASSWORD, or run login on a terminal.", 2);
            await context.LoginAsync(service, user, password, ct);
            var cached = context.Settings.PersistSession ? context.Sessions.PathFor(context.Settings.DisplayUrl, user) : null;
            context.Output.Result(
                $"Logged in to {context.Settings.DisplayUrl} ({service.Content.about.fullName}) as {user}" + (cached is null ? "" : $"; session cached in {cached}"),
                () => new JsonObject { ["url"] = context.Settings.DisplayUrl, ["user"] = user, ["server"] = service.Content.about.fullName, ["sessionFile"] = cached });
            return 0;
        }));
        return command;
    }

    public static Command Logout(GlobalOptions globals)
    {
        var command = new Command("logout", "End the cached session on the server and remove it from the cache");
        command.SetAction((result, cancellationToken) => CommandContext.RunAsync(result, globals, cancellationToken, async (context, ct) =>
        {
            var user = context.RequireUser();
            var url = context.Settings.DisplayUrl;
            var ended = false;
            if (context.Sessions.Load(url, user) is { } cookie)
            {
                var service = await context.ConnectAnonymousAsync(ct, cookie);
                if (await service.CurrentSessionAsync(ct) is not null)
                {
                    await service.LogoutAsync(ct);
                    ended = true;
                }
            }

            var removed = context.Sessions.Delete(url, user);
            context.Output.Result(
                ended ? $"Logged out {user} from {url}" : removed ? $"The cached session of {user} at {url} had already ended; removed it" : $"No cached session for {user} at {url}",
                () => new JsonObject { ["url"] = url, ["user"] = user, ["loggedOut"] = ended, ["removed"] = removed });
            return 0;
        }));
        return command;
    }
}
