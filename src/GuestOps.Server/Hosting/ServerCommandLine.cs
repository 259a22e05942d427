using System.CommandLine;
using System.CommandLine.Help;

namespace GuestOps.Server.Hosting;

/// <summary>
/// The command line of the server executable, one System.CommandLine parser for everything it does: without a command
/// it runs the server; <c>enroll</c>, <c>revoke</c>, <c>user</c>, <c>group</c>, <c>role</c> and <c>permission</c> are the
/// admin commands; <c>cluster</c> runs a loopback cluster (<see cref="ClusterLauncher"/>); <c>--help</c> and <c>--version</c> print and exit without touching any state. Settings switches work
/// everywhere: <c>--urls</c>, <c>--state-dir</c>, and <c>--Section:Key=value</c> (or <c>--Section:Key value</c>) for any
/// configuration key, e.g. <c>--GuestOps:SessionIdleTimeout=00:10:00</c> or <c>--Logging:LogLevel:Default=Debug</c>;
/// they are configuration, taken out before parsing. Anything else unknown is refused with the usage (exit code 2).
/// </summary>
public sealed class ServerCommandLine
{
    /// <summary>Exit code of a command line that could not be parsed, or a setting that cannot be used.</summary>
    public const int UsageExitCode = 2;

    private readonly Option<string?> _urls = new("--urls")
    {
        Description = "Listen URLs separated by ';', e.g. https://127.0.0.1:8443 [GuestOps:Urls, env GUESTOPS_URLS; default https://*:443]",
        Recursive = true,
    };

    private readonly Option<string?> _stateDirectory = new("--state-dir")
    {
        Description = "State directory: users, permissions, certificate, VMs [GuestOps:StateDirectory, env GUESTOPS_STATE_DIR; default /var/lib/guestops for root]",
        Recursive = true,
    };

    private readonly RootCommand _root;
    private readonly TextWriter _stdout;
    private readonly TextWriter _stderr;
    private List<string> _configurationSwitches = [];

    /// <param name="runServer">Runs the server with its settings switches (the form configuration's command-line provider reads).</param>
    public ServerCommandLine(TextReader stdin, TextWriter stdout, TextWriter stderr, Func<string[], CancellationToken, Task<int>> runServer)
    {
        _stdout = stdout;
        _stderr = stderr;
        _root = new RootCommand(
            "GuestOps: the vSphere guest operations API (vim25 GuestOperationsManager) over HTTPS. Without a command, runs the server.\n"
            + "Settings come from appsettings.json (section GuestOps), GUESTOPS_* environment variables and the switches below; "
            + "any setting also as --GuestOps:Name=value (e.g. --GuestOps:SessionIdleTimeout=00:10:00). "
            + "Full exceptions of startup failures: --Logging:LogLevel:Default=Debug.");
        _root.Options.Add(_urls);
        _root.Options.Add(_stateDirectory);
        _root.SetAction((result, cancellationToken) => runServer(Settings(result).ToArray(), cancellationToken));
        _root.Subcommands.Add(AdminCommands.Enroll(this, stdout, stderr));
        _root.Subcommands.Add(AdminCommands.Revoke(this, stdout, stderr));
        _root.Subcommands.Add(ClusterLauncher.Command(this, stdout, stderr));
        foreach (var command in AccountCommands.Create(this, stdin, stdout, stderr))
        {
            _root.Subcommands.Add(command);
        }
    }

    /// <summary>Parses <paramref name="args"/> and runs what they ask for; returns the process exit code.</summary>
    public async Task<int> InvokeAsync(IReadOnlyList<string> args, CancellationToken cancellationToken = default)
    {
        var (parserArguments, switches) = SplitConfigurationSwitches(args);
        if (switches is null)
        {
            return Refuse(_root.Parse([]), $"'{parserArguments[0]}' needs a value (--Section:Key=value).");
        }

        _configurationSwitches = switches;
        var result = _root.Parse(parserArguments);
        if (result.Errors.Count > 0)
        {
            return Refuse(result, string.Join(Environment.NewLine, result.Errors.Select(e => e.Message)));
        }

        // The server handles its own signals (graceful shutdown): the parser must not install handlers of its own.
        return await result.InvokeAsync(new InvocationConfiguration { Output = _stdout, Error = _stderr, ProcessTerminationTimeout = null, EnableDefaultExceptionHandler = false }, cancellationToken);
    }

    /// <summary>The settings switches of this command line, in the form of configuration's command-line provider:
    /// <c>--Section:Key=value</c>, with --urls and --state-dir mapped onto their GuestOps keys.</summary>
    internal List<string> Settings(ParseResult result)
    {
        var settings = new List<string>(_configurationSwitches);
        if (result.GetValue(_urls) is { } urls)
        {
            settings.Add($"--{GuestOpsOptions.Section}:{nameof(GuestOpsOptions.Urls)}={urls}");
        }

        if (result.GetValue(_stateDirectory) is { } state)
        {
            settings.Add($"--{GuestOpsOptions.Section}:{nameof(GuestOpsOptions.StateDirectory)}={state}");
        }

        return settings;
    }

    /// <summary>Prints a refusal and the usage of the command it concerns on stderr.</summary>
    internal int Refuse(ParseResult result, string message)
    {
        _stderr.WriteLine("GuestOps.Server: " + message);
        var path = new List<string>();
        for (var command = result.CommandResult; command is not null; command = command.Parent as System.CommandLine.Parsing.CommandResult)
        {
            if (command.Command != _root)
            {
                path.Insert(0, command.Command.Name);
            }
        }

        path.Add("--help");
        _root.Parse(path).Invoke(new InvocationConfiguration { Output = _stderr, Error = _stderr, ProcessTerminationTimeout = null });
        return UsageExitCode;
    }

    /// <summary>Takes the <c>--Section:Key=value</c> / <c>--Section:Key value</c> switches out of the arguments (null
    /// switches: one has no value; the first parser argument names it).</summary>
    private static (List<string> ParserArguments, List<string>? Switches) SplitConfigurationSwitches(IReadOnlyList<string> args)
    {
        var parser = new List<string>();
        var switches = new List<string>();
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            if (arg == "--")
            {
                parser.AddRange(args.Skip(i));
                break;
            }

            var colon = arg.IndexOf(':', StringComparison.Ordinal);
            var equals = arg.IndexOf('=', StringComparison.Ordinal);
            if (!arg.StartsWith("--", StringComparison.Ordinal) || colon < 3 || (equals >= 0 && equals < colon))
            {
                parser.Add(arg);
                continue;
            }

            if (equals > colon)
            {
                switches.Add(arg);
            }
            else if (i + 1 < args.Count && !args[i + 1].StartsWith("--", StringComparison.Ordinal))
            {
                switches.Add(arg + "=" + args[++i]);
            }
            else
            {
                return ([arg], null);
            }
        }

        return (parser, switches);
    }
}
