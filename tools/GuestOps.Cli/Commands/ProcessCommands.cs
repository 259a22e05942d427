using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using GuestOps.Vim;

namespace GuestOps.Cli.Commands;

/// <summary>GuestProcessManager commands: ps, kill, env.</summary>
public static class ProcessCommands
{
    public static Command Ps(GlobalOptions globals)
    {
        var pids = new Option<long[]>("--pid", "-p") { Description = "Only these pids (repeat the option); includes programs that exited within 5 minutes", AllowMultipleArgumentsPerToken = true };
        var command = new Command("ps", "List guest processes (ListProcessesInGuest): pid, owner, start, end and exit code of started programs, command line") { pids };
        command.SetAction((result, cancellationToken) => CommandContext.RunAsync(result, globals, cancellationToken, async (context, ct) =>
        {
            var guest = await context.GuestAsync(ct);
            var processes = await guest.ListProcessesAsync(result.GetValue(pids), ct);
            if (context.Output.Json)
            {
                context.Output.Write(new JsonArray(processes.Select(p => (JsonNode)Json(p)).ToArray()));
            }
            else
            {
                context.Output.Table(["PID", "OWNER", "STARTED", "ENDED", "EXIT", "COMMAND"], processes.Select(p => (IReadOnlyList<string>)
                [
                    p.pid.ToString(CultureInfo.InvariantCulture), p.owner, Time(p.startTime), p.endTime is { } end ? Time(end) : "-",
                    p.exitCode?.ToString(CultureInfo.InvariantCulture) ?? "-", p.cmdLine.Length > 0 ? p.cmdLine : p.name,
                ]));
            }

            return 0;
        }));
        return command;
    }

    public static Command Start(GlobalOptions globals)
    {
        var program = new Argument<string>("program") { Description = "Absolute guest path of the program" };
        var arguments = new Argument<string[]>("args") { Description = "Its arguments, after -- (passed to the guest's shell as written)", Arity = ArgumentArity.ZeroOrMore };
        var directory = new Option<string?>("--cwd") { Description = "Guest working directory (default: the user's home)" };
        var environment = new Option<string[]>("--env", "-e") { Description = "NAME=value for the program (repeat); when given, the whole environment" };
        var command = new Command("start", "Start a guest program without waiting and print its pid (StartProgramInGuest, like govc guest.start); see run for its output") { program, arguments, directory, environment };
        command.SetAction((result, cancellationToken) => CommandContext.RunAsync(result, globals, cancellationToken, async (context, ct) =>
        {
            var guest = await context.GuestAsync(ct);
            var pid = await guest.StartProgramAsync(new GuestProgramSpec
            {
                programPath = result.GetValue(program)!,
                arguments = string.Join(' ', result.GetValue(arguments) ?? []),
                workingDirectory = result.GetValue(directory),
                envVariables = result.GetValue(environment) is { Length: > 0 } env ? env : null,
            }, ct);
            context.Output.Result(pid.ToString(CultureInfo.InvariantCulture), () => new JsonObject { ["pid"] = pid });
            return 0;
        }));
        return command;
    }

    public static Command Kill(GlobalOptions globals)
    {
        var pids = new Argument<long[]>("pid") { Description = "Guest process ids", Arity = ArgumentArity.OneOrMore };
        var command = new Command("kill", "Terminate guest processes (TerminateProcessInGuest: SIGTERM, then SIGKILL)") { pids };
        command.SetAction((result, cancellationToken) => CommandContext.RunAsync(result, globals, cancellationToken, async (context, ct) =>
        {
            var guest = await context.GuestAsync(ct);
            foreach (var pid in result.GetValue(pids)!)
            {
                await guest.TerminateProcessAsync(pid, ct);
            }

            if (context.Output.Json)
            {
                context.Output.Write(new JsonObject { ["terminated"] = new JsonArray(result.GetValue(pids)!.Select(p => (JsonNode)p).ToArray()) });
            }

            return 0;
        }));
        return command;
    }

    public static Command Env(GlobalOptions globals)
    {
        var names = new Argument<string[]>("name") { Description = "Variable names (none: all)", Arity = ArgumentArity.ZeroOrMore };
        var command = new Command("env", "Print the guest environment a started program gets (ReadEnvironmentVariableInGuest), NAME=value per line") { names };
        command.SetAction((result, cancellationToken) => CommandContext.RunAsync(result, globals, cancellationToken, async (context, ct) =>
        {
            var guest = await context.GuestAsync(ct);
            var variables = await guest.ReadEnvironmentVariablesAsync(result.GetValue(names), ct);
            if (context.Output.Json)
            {
                var json = new JsonObject();
                foreach (var variable in variables)
                {
                    var parts = variable.Split('=', 2);
                    json[parts[0]] = parts.Length > 1 ? parts[1] : "";
                }

                context.Output.Write(json);
            }
            else
            {
                foreach (var variable in variables)
                {
                    context.Output.Out.WriteLine(variable);
                }
            }

            return 0;
        }));
        return command;
    }

    public static JsonObject Json(GuestProcessInfo p) => new()
    {
        ["pid"] = p.pid,
        ["name"] = p.name,
        ["owner"] = p.owner,
        ["cmdLine"] = p.cmdLine,
        ["startTime"] = p.startTime.ToString("O", CultureInfo.InvariantCulture),
        ["endTime"] = p.endTime?.ToString("O", CultureInfo.InvariantCulture),
        ["exitCode"] = p.exitCode,
    };

    private static string Time(DateTime time) => time.ToLocalTime().ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);
}
