namespace GuestOps.Cli;

/// <summary>A failure the user can act on: printed as one line, exit code <see cref="ExitCode"/>.</summary>
public sealed class CliException(string message, int exitCode = 1) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
}
