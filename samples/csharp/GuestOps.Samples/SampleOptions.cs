namespace GuestOps.Samples;

/// <summary>Command-line options: <c>--name value</c> pairs, or <c>--flag</c> alone for booleans (as in samples/java).</summary>
public sealed class SampleOptions
{
    public const string CommonUsage =
        "  --url https://HOST[:PORT]/sdk   vSphere endpoint\n"
        + "  --username USER --password PASSWORD   vSphere login\n"
        + "  --vmname NAME                    the VM\n"
        + "  --guestusername USER --guestpassword PASSWORD   guest account\n"
        + "  --insecure                       accept any server certificate (self-signed test servers)\n";

    private readonly Dictionary<string, string> _values = new(StringComparer.OrdinalIgnoreCase);

    private SampleOptions(string usage) => Usage = usage + CommonUsage;

    public string Usage { get; }

    public bool HelpRequested { get; private set; }

    public static SampleOptions Parse(IReadOnlyList<string> args, string usage)
    {
        var options = new SampleOptions(usage);
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            if (arg is "--help" or "-h")
            {
                options.HelpRequested = true;
                continue;
            }

            if (!arg.StartsWith("--", StringComparison.Ordinal))
            {
                throw new SampleUsageException($"unexpected argument {arg}");
            }

            var hasValue = i + 1 < args.Count && !args[i + 1].StartsWith("--", StringComparison.Ordinal);
            options._values[arg[2..]] = hasValue ? args[++i] : "true";
        }

        return options;
    }

    public string Required(string name) =>
        _values.TryGetValue(name, out var value) && value.Length > 0 ? value : throw new SampleUsageException($"--{name} is required");

    public string? Optional(string name, string? fallback = null) => _values.GetValueOrDefault(name, fallback!);

    public bool Flag(string name) => _values.TryGetValue(name, out var value) && bool.Parse(value);
}

/// <summary>Wrong or missing options: the usage is printed, exit code 2.</summary>
public sealed class SampleUsageException(string message) : Exception(message);
