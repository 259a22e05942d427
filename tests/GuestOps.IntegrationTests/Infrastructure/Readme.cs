using System.Text.RegularExpressions;

namespace GuestOps.IntegrationTests.Infrastructure;

/// <summary>One fenced code block of README.md: its language (<c>sh</c>, <c>python</c>, or empty), the <c>##</c>
/// section it is in, the line of its opening fence, and its text.</summary>
public sealed record ReadmeBlock(string Language, string Section, int Line, string Text)
{
    /// <summary>The lines that run something: not empty, not a comment.</summary>
    public IReadOnlyList<string> Commands =>
        Text.Split('\n').Where(l => l.Trim().Length > 0 && !l.TrimStart().StartsWith('#')).ToList();

    public override string ToString() => $"README.md line {Line} (section \"{Section}\", ```{Language})";
}

/// <summary>The examples of the repository's README.md, as a reader copies them.</summary>
public static partial class Readme
{
    public static string FilePath => Path.Combine(RepositoryLayout.RepositoryRoot, "README.md");

    /// <summary>Every fenced code block of README.md, in order.</summary>
    public static IReadOnlyList<ReadmeBlock> Blocks()
    {
        var lines = File.ReadAllLines(FilePath);
        var blocks = new List<ReadmeBlock>();
        var section = string.Empty;
        for (var i = 0; i < lines.Length; i++)
        {
            if (lines[i].StartsWith("## ", StringComparison.Ordinal))
            {
                section = lines[i][3..].Trim();
                continue;
            }

            if (!lines[i].StartsWith("```", StringComparison.Ordinal))
            {
                continue;
            }

            var language = lines[i][3..].Trim();
            var end = Array.FindIndex(lines, i + 1, l => l.StartsWith("```", StringComparison.Ordinal));
            if (end < 0)
            {
                throw new InvalidDataException($"README.md line {i + 1}: a code block that is never closed.");
            }

            blocks.Add(new ReadmeBlock(language, section, i + 1, string.Join('\n', lines[(i + 1)..end]) + "\n"));
            i = end;
        }

        return blocks;
    }

    /// <summary>The README's run commands: its shell lines that start the server with <c>dotnet run</c>.</summary>
    public static IReadOnlyList<string> RunCommands() =>
        Blocks().Where(b => b.Language == "sh").SelectMany(b => b.Commands).Where(IsRunCommand).ToList();

    /// <summary>The one run command of <see cref="RunCommands"/> that <paramref name="match"/> selects.</summary>
    public static string RunCommand(Func<string, bool> match, string what)
    {
        var commands = RunCommands().Where(match).ToList();
        Assert.HasCount(1, commands, $"README.md must have exactly one {what}; its run commands: {string.Join(" | ", RunCommands())}");
        return commands[0];
    }

    /// <summary>The test host's own dotnet, MSBuild and VSTest variables, as <c>env -u NAME</c> arguments: a command a
    /// reader pastes must not inherit them.</summary>
    public static IEnumerable<string> UnsetTestHostVariables() =>
        Environment.GetEnvironmentVariables().Keys.Cast<string>()
            .Where(n => n.StartsWith("MSBuild", StringComparison.OrdinalIgnoreCase) || n.StartsWith("VSTEST", StringComparison.OrdinalIgnoreCase)
                || n.StartsWith("DOTNET_HOST_PATH", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)
            .SelectMany(n => new[] { "-u", n });

    public static bool IsRunCommand(string line) => line.Contains("dotnet run", StringComparison.Ordinal) && line.Contains("--project src/GuestOps.Server", StringComparison.Ordinal);

    /// <summary>The README's examples talk to https://127.0.0.1:8443; this puts <paramref name="port"/> in its place.</summary>
    public static string WithPort(string text, int port)
    {
        var replaced = LoopbackPort().Replace(text, $"127.0.0.1:{port}");
        Assert.AreNotEqual(text, replaced, $"no 127.0.0.1:8443 in the example:{Environment.NewLine}{text}");
        return replaced;
    }

    [GeneratedRegex(@"127\.0\.0\.1:8443\b")]
    private static partial Regex LoopbackPort();
}
