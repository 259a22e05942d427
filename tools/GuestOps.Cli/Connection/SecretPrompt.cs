using System.Text;

namespace GuestOps.Cli.Connection;

/// <summary>Reads a password from the terminal without echoing it.</summary>
public static class SecretPrompt
{
    /// <summary>The typed secret, or null when there is no terminal to ask on.</summary>
    public static string? Read(CliEnvironment environment, string prompt)
    {
        if (!environment.Interactive)
        {
            return null;
        }

        Console.Error.Write(prompt);
        var secret = new StringBuilder();
        while (true)
        {
            var key = Console.ReadKey(intercept: true);
            if (key.Key == ConsoleKey.Enter)
            {
                break;
            }

            if (key.Key == ConsoleKey.Backspace)
            {
                if (secret.Length > 0)
                {
                    secret.Length--;
                }
            }
            else if (!char.IsControl(key.KeyChar))
            {
                secret.Append(key.KeyChar);
            }
        }

        Console.Error.WriteLine();
        return secret.ToString();
    }
}
