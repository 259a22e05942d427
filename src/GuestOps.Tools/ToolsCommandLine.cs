using System.CommandLine;
using System.CommandLine.Parsing;

namespace GuestOps.Tools;

/// <summary>
/// The worker's command lines on System.CommandLine, worded as the worker words them: an unknown token is "Unknown
/// argument 'X'.", an option without its value "X needs a value.", and a bad value the text of the
/// <see cref="FormatException"/> its parser threw. Commands are plain <see cref="Command"/>s (no root command's help,
/// version and directive symbols) and response files are off: the one-shot worker starts once per guest call.
/// </summary>
internal static class ToolsCommandLine
{
    private static readonly ParserConfiguration Configuration = new() { EnablePosixBundling = false, ResponseFileTokenReplacer = null };

    /// <summary>Parses <paramref name="args"/> against <paramref name="command"/>; the first error, worded as above,
    /// or null.</summary>
    public static ParseResult Parse(Command command, IReadOnlyList<string> args, out string? error)
    {
        var result = command.Parse(args, Configuration);
        error = result.Errors.Count == 0 ? null
            : result.UnmatchedTokens.Count > 0 ? $"Unknown argument '{result.UnmatchedTokens[0]}'."
            : result.Errors[0].SymbolResult is OptionResult { Tokens.Count: 0 } missing ? $"{missing.Option.Name} needs a value."
            : result.Errors[0].Message;
        return result;
    }

    /// <summary>An option with one value, read by <paramref name="parse"/> (which throws <see cref="FormatException"/>
    /// on a bad value); given more than once, the last one counts.</summary>
    public static Option<T> Value<T>(string name, Func<string, T> parse, T defaultValue) => new(name)
    {
        DefaultValueFactory = _ => defaultValue,
        AllowMultipleArgumentsPerToken = false,
        Arity = ArgumentArity.OneOrMore,
        CustomParser = result => Read(result, parse, result.Tokens.Count - 1) ?? defaultValue,
    };

    /// <summary>An option that may be given many times, each value read by <paramref name="parse"/>.</summary>
    public static Option<IReadOnlyList<T>> Repeatable<T>(string name, Func<string, T> parse) => new(name)
    {
        DefaultValueFactory = _ => [],
        AllowMultipleArgumentsPerToken = false,
        Arity = ArgumentArity.OneOrMore,
        CustomParser = result => Enumerable.Range(0, result.Tokens.Count).Select(i => Read(result, parse, i)).OfType<T>().ToList(),
    };

    /// <summary>A flag (no value).</summary>
    public static Option<bool> Flag(string name, params string[] aliases) => new(name, aliases) { Arity = ArgumentArity.Zero };

    private static T? Read<T>(ArgumentResult result, Func<string, T> parse, int index)
    {
        if (index < 0)
        {
            return default;
        }

        try
        {
            return parse(result.Tokens[index].Value);
        }
        catch (FormatException e)
        {
            result.AddError(e.Message);
            return default;
        }
    }
}
