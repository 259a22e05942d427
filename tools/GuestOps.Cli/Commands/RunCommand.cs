using System.CommandLine;
using System.Text;
using System.Text.Json.Nodes;
using GuestOps.Cli.Run;

namespace GuestOps.Cli.Commands;

/// <summary><c>run -- PROGRAM ARGS...</c>: run a guest program, print its output, exit with its exit code.</summary>
public static class RunCommand
{
    /// <summary>Exit code when the program did not finish within --timeout (as coreutils' timeout).</summary>
    public const int TimedOutExitCode = 124;

    public static Command Create(GlobalOptions globals)
    {
        var program = new Argument<string[]>("command")
        {
            Description = "PROGRAM and its ARGS, after --; a PROGRAM without / is looked up in the guest's PATH",
            Arity = ArgumentArity.OneOrMore,
        };
        var stream = new Option<bool>("--stream") { Description = "Show output while the program runs (each poll re-reads the output files; see README)" };
        var timeout = new Option<double?>("--timeout") { Description = "Seconds to wait; then the program is terminated and guestops exits 124" };
        var directory = new Option<string?>("--cwd") { Description = "Guest working directory (default: the user's home)" };
        var environment = new Option<string[]>("--env", "-e") { Description = "NAME=value for the program (repeat); when given, the whole environment" };
        var interval = new Option<double>("--interval") { Description = "Seconds between polls of ListProcessesInGuest (at most)", DefaultValueFactory = _ => 0.5 };
        var command = new Command("run", "Run a guest program with stdout and stderr redirected to temporary guest files, wait for it, print both, remove the files and exit with its exit code (like PowerCLI's Invoke-VMScript)")
        {
            program, stream, timeout, directory, environment, interval,
        };
        command.SetAction((result, cancellationToken) => CommandContext.RunAsync(result, globals, cancellationToken, async (context, ct) =>
        {
            var request = new GuestRunRequest(
                result.GetValue(program)!,
                result.GetValue(directory),
                result.GetValue(environment) is { Length: > 0 } env ? env : null,
                result.GetValue(timeout) is { } seconds ? TimeSpan.FromSeconds(seconds) : null,
                result.GetValue(stream) && !context.Output.Json,
                TimeSpan.FromSeconds(Math.Max(result.GetValue(interval), 0.05)));
            var guest = await context.GuestAsync(ct);
            var runner = new GuestProgramRunner(guest, context.Transfers(silent: true));
            GuestRunResult run;
            if (context.Output.Json)
            {
                using var stdout = new MemoryStream();
                using var stderr = new MemoryStream();
                run = await runner.RunAsync(request, stdout, stderr, ct);
                context.Output.Write(new JsonObject
                {
                    ["pid"] = run.Pid,
                    ["exitCode"] = run.ExitCode,
                    ["timedOut"] = run.TimedOut,
                    ["stdout"] = Encoding.UTF8.GetString(stdout.ToArray()),
                    ["stderr"] = Encoding.UTF8.GetString(stderr.ToArray()),
                });
            }
            else
            {
                await using var stdout = Console.OpenStandardOutput();
                await using var stderr = Console.OpenStandardError();
                run = await runner.RunAsync(request, stdout, stderr, ct);
            }

            if (run.TimedOut)
            {
                context.Output.Warn($"The program (pid {run.Pid}) did not finish within {request.Timeout!.Value.TotalSeconds:0.#} s and was terminated.");
                return TimedOutExitCode;
            }

            return run.ExitCode;
        }));
        return command;
    }
}
