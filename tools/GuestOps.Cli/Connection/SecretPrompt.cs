using System.Runtime.InteropServices;
using System.Text;

namespace GuestOps.Cli.Connection;

/// <summary>Reads a password from the terminal without echoing it: echo goes off before the prompt is printed, so
/// nothing typed after the prompt appears is ever shown.</summary>
public static partial class SecretPrompt
{
    /// <summary>The typed secret, or null when there is no terminal to ask on.</summary>
    public static string? Read(CliEnvironment environment, string prompt)
    {
        if (!environment.Interactive)
        {
            return null;
        }

        if (OperatingSystem.IsLinux() && EchoOff() is { } saved)
        {
            try
            {
                Console.Error.Write(prompt);
                Console.Error.Flush();
                return ReadLine();
            }
            finally
            {
                Restore(saved);
                Console.Error.WriteLine();
            }
        }

        // Elsewhere Console.ReadKey(intercept) reads without echo.
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

    // struct termios of Linux (glibc, every architecture .NET runs on): c_iflag, c_oflag, c_cflag, c_lflag (uint each),
    // c_line, c_cc[32], c_ispeed, c_ospeed: 60 bytes.
    private const int TermiosSize = 60;
    private const int LocalFlagsOffset = 12;
    private const uint Echo = 0x8;
    private const int TcsaNow = 0;

    /// <summary>Turns terminal echo off on standard input, keeping line editing; returns the settings to restore, or
    /// null when standard input is not a terminal whose settings can be changed.</summary>
    private static byte[]? EchoOff()
    {
        var saved = new byte[TermiosSize];
        if (tcgetattr(0, saved) != 0)
        {
            return null;
        }

        var quiet = (byte[])saved.Clone();
        var flags = BitConverter.ToUInt32(quiet, LocalFlagsOffset) & ~Echo;
        BitConverter.TryWriteBytes(quiet.AsSpan(LocalFlagsOffset), flags);
        return tcsetattr(0, TcsaNow, quiet) == 0 ? saved : null;
    }

    private static void Restore(byte[] saved) => _ = tcsetattr(0, TcsaNow, saved);

    /// <summary>One line from standard input, read from the file descriptor itself (Console.In would echo it).</summary>
    private static string ReadLine()
    {
        var bytes = new List<byte>();
        var one = new byte[1];
        while (read(0, one, 1) == 1 && one[0] != (byte)'\n')
        {
            bytes.Add(one[0]);
        }

        return Encoding.UTF8.GetString(bytes.ToArray()).TrimEnd('\r');
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int tcgetattr(int fd, [Out] byte[] termios);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int tcsetattr(int fd, int optionalActions, byte[] termios);

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint read(int fd, [Out] byte[] buffer, nint count);
}
