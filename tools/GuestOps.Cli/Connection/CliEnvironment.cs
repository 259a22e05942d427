namespace GuestOps.Cli.Connection;

/// <summary>What the CLI reads from its surroundings: environment variables, the home folder, the terminal.</summary>
public sealed class CliEnvironment(Func<string, string?> variables, string home, bool interactive)
{
    public static CliEnvironment FromProcess() => new(
        Environment.GetEnvironmentVariable,
        Environment.GetFolderPath(Environment.SpecialFolder.UserProfile),
        !Console.IsInputRedirected && !Console.IsErrorRedirected);

    public string Home { get; } = home;

    /// <summary>True when a password may be prompted for (standard input and error are a terminal).</summary>
    public bool Interactive { get; } = interactive;

    /// <summary>The first of the variables that is set and not empty (GUESTOPS_* before GOVC_*).</summary>
    public string? Get(params string[] names) =>
        names.Select(variables).FirstOrDefault(v => !string.IsNullOrEmpty(v));

    public bool? Flag(params string[] names) => Get(names) is { } v
        ? v.Trim().ToLowerInvariant() is "1" or "true" or "yes" or "on"
        : null;
}
