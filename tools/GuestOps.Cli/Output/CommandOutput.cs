using System.Text.Json;
using System.Text.Json.Nodes;

namespace GuestOps.Cli.Output;

/// <summary>What a command prints: human text by default, one JSON document with <c>--json</c>; messages on stderr.</summary>
public sealed class CommandOutput(bool json, TextWriter stdout, TextWriter stderr)
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    public bool Json { get; } = json;

    public TextWriter Out { get; } = stdout;

    public TextWriter Error { get; } = stderr;

    public void Line(string text)
    {
        if (!Json)
        {
            Out.WriteLine(text);
        }
    }

    public void Write(JsonNode? document) => Out.WriteLine(document?.ToJsonString(Indented) ?? "null");

    /// <summary>Prints <paramref name="human"/> or the JSON document.</summary>
    public void Result(string human, Func<JsonNode?> document)
    {
        if (Json)
        {
            Write(document());
        }
        else
        {
            Out.WriteLine(human);
        }
    }

    public void Warn(string text) => Error.WriteLine($"guestops: {text}");

    /// <summary>Rows as left-aligned columns (the last column unpadded).</summary>
    public void Table(IReadOnlyList<string> header, IEnumerable<IReadOnlyList<string>> rows)
    {
        var all = new List<IReadOnlyList<string>> { header };
        all.AddRange(rows);
        var widths = header.Select((_, i) => all.Max(r => i < r.Count ? r[i].Length : 0)).ToArray();
        foreach (var row in all)
        {
            Out.WriteLine(string.Join("  ", row.Select((cell, i) => i == row.Count - 1 ? cell : cell.PadRight(widths[i]))).TrimEnd());
        }
    }
}
