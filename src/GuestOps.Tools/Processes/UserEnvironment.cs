using GuestOps.Tools.Identity;

namespace GuestOps.Tools.Processes;

/// <summary>
/// The environment a program started for a user gets when the request gives none, and what ReadEnvironment returns:
/// a login-like environment built from the account (as login(1)/su - would), never the worker's own environment
/// (which belongs to the agent: its PATH, DOTNET_* settings, whatever the host passed it).
/// <list type="bullet">
/// <item><c>HOME</c> (passwd home), <c>USER</c> and <c>LOGNAME</c> (the name), <c>SHELL</c> (passwd shell);</item>
/// <item><c>PATH</c>: <c>/usr/local/bin:/usr/bin:/bin</c>, with the sbin directories first for root;</item>
/// <item><c>PWD</c>: the working directory (the home for ReadEnvironment);</item>
/// <item><c>LANG</c>: the system locale (<c>/etc/locale.conf</c>, else <c>/etc/default/locale</c>) when one is set.</item>
/// </list>
/// </summary>
internal static class UserEnvironment
{
    public const string UserPath = "/usr/local/bin:/usr/bin:/bin";
    public const string RootPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

    /// <summary>Where the system locale is configured (systemd, then Debian).</summary>
    internal static IReadOnlyList<string> LocaleFiles { get; set; } = ["/etc/locale.conf", "/etc/default/locale"];

    /// <summary>NAME=value entries, in a fixed order.</summary>
    public static List<string> Build(GuestUser user, string workingDirectory)
    {
        var env = new List<string>
        {
            "HOME=" + user.Home,
            "USER=" + user.Name,
            "LOGNAME=" + user.Name,
            "SHELL=" + (string.IsNullOrEmpty(user.Shell) ? "/bin/sh" : user.Shell),
            "PATH=" + (user.Uid == 0 ? RootPath : UserPath),
            "PWD=" + workingDirectory,
        };
        if (SystemLanguage() is { } lang)
        {
            env.Add("LANG=" + lang);
        }

        return env;
    }

    /// <summary>The <c>LANG</c> of the first locale file that sets one, without quotes; null if none does.</summary>
    internal static string? SystemLanguage()
    {
        foreach (var file in LocaleFiles)
        {
            string[] lines;
            try
            {
                if (!File.Exists(file))
                {
                    continue;
                }

                lines = File.ReadAllLines(file);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                continue;
            }

            foreach (var raw in lines)
            {
                var line = raw.Trim();
                if (line.StartsWith("export ", StringComparison.Ordinal))
                {
                    line = line[7..].TrimStart();
                }

                if (!line.StartsWith("LANG=", StringComparison.Ordinal))
                {
                    continue;
                }

                var value = line[5..].Trim();
                if (value.Length >= 2 && (value[0] == '"' || value[0] == '\'') && value[^1] == value[0])
                {
                    value = value[1..^1];
                }

                if (value.Length > 0 && !value.Contains('\0') && !value.Contains('\n'))
                {
                    return value;
                }
            }
        }

        return null;
    }
}
