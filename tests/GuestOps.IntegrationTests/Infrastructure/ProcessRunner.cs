using System.Diagnostics;
using System.Text;

namespace GuestOps.IntegrationTests.Infrastructure;

public sealed record ProcessResult(int ExitCode, string StandardOutput, string StandardError, TimeSpan Elapsed)
{
    public override string ToString() =>
        $"exit code {ExitCode} after {Elapsed.TotalSeconds:0.0} s{Environment.NewLine}--- stdout ---{Environment.NewLine}{SoapResponse.Shorten(StandardOutput)}{Environment.NewLine}--- stderr ---{Environment.NewLine}{SoapResponse.Shorten(StandardError)}";
}

/// <summary>Runs a short-lived program with a hard time limit (the whole process tree is killed on timeout).</summary>
public static class ProcessRunner
{
    /// <param name="environment">Variables to set; GUESTOPS_* and GuestOps__* variables of the test run are never inherited.</param>
    public static async Task<ProcessResult> RunAsync(string fileName, IEnumerable<string> arguments, TimeSpan timeout, string? workingDirectory = null, IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? AppContext.BaseDirectory,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var name in start.Environment.Keys.Where(n => n.StartsWith("GUESTOPS_", StringComparison.OrdinalIgnoreCase) || n.StartsWith("GuestOps__", StringComparison.OrdinalIgnoreCase)).ToList())
        {
            start.Environment.Remove(name);
        }

        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        var stdout = new StringBuilder();
        var stderr = new StringBuilder();
        using var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (stdout)
                {
                    stdout.Append(e.Data).Append('\n');
                }
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (stderr)
                {
                    stderr.Append(e.Data).Append('\n');
                }
            }
        };
        var clock = Stopwatch.StartNew();
        process.Start();
        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit(5000);
            throw new TimeoutException($"{fileName} did not finish within {timeout.TotalSeconds:0} s.{Environment.NewLine}"
                + new ProcessResult(-1, stdout.ToString(), stderr.ToString(), clock.Elapsed));
        }

        process.WaitForExit(); // drain the redirected streams
        return new ProcessResult(process.ExitCode, stdout.ToString(), stderr.ToString(), clock.Elapsed);
    }
}
