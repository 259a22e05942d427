using System.Text;
using System.Text.RegularExpressions;
using GuestOps.Vim;

namespace GuestOps.Cli.Run;

/// <summary>
/// Turns PROGRAM ARGS... into a GuestProgramSpec whose output goes to two guest files. StartProgramInGuest hands
/// programPath and arguments to a shell (Linux: <c>/bin/bash -c '"programPath" arguments'</c>; Windows: use
/// <c>cmd.exe /c</c>), so each argument is quoted for that shell and the redirections are appended. A program that is
/// not an absolute path is looked up in the guest's PATH through <c>/usr/bin/env</c>.
/// </summary>
public static partial class GuestCommandLine
{
    [GeneratedRegex("^[A-Za-z0-9_@%+=:,./-]+$")]
    private static partial Regex ShellSafe();

    public static GuestProgramSpec Posix(IReadOnlyList<string> command, string stdoutPath, string stderrPath, string? workingDirectory, string[]? environment)
    {
        var program = command[0];
        var words = program.StartsWith('/') ? command.Skip(1) : command;
        var arguments = new StringBuilder(string.Join(' ', words.Select(QuotePosix)));
        arguments.Append(arguments.Length > 0 ? " " : "").Append('>').Append(QuotePosix(stdoutPath)).Append(" 2>").Append(QuotePosix(stderrPath));
        return new GuestProgramSpec
        {
            programPath = program.StartsWith('/') ? program : "/usr/bin/env",
            arguments = arguments.ToString(),
            workingDirectory = workingDirectory,
            envVariables = environment,
        };
    }

    public static GuestProgramSpec Windows(IReadOnlyList<string> command, string stdoutPath, string stderrPath, string? workingDirectory, string[]? environment) => new()
    {
        programPath = @"C:\Windows\System32\cmd.exe",
        arguments = $"/c \"{string.Join(' ', command.Select(QuoteWindows))} >{QuoteWindows(stdoutPath)} 2>{QuoteWindows(stderrPath)}\"",
        workingDirectory = workingDirectory,
        envVariables = environment,
    };

    public static string QuotePosix(string word) =>
        ShellSafe().IsMatch(word) ? word : "'" + word.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    public static string QuoteWindows(string word) =>
        word.Length > 0 && !word.Any(c => char.IsWhiteSpace(c) || c is '"' or '&' or '|' or '<' or '>' or '^') ? word : "\"" + word.Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";
}
