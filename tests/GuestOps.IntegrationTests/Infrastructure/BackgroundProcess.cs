using System.Diagnostics;
using System.Text;

namespace GuestOps.IntegrationTests.Infrastructure;

/// <summary>A long-running program that a test helper starts (a store server): its stdout and stderr kept as lines,
/// together, for the helper's failure messages.</summary>
public sealed class BackgroundProcess : IDisposable
{
    private readonly StringBuilder _output = new();

    private BackgroundProcess(Process process) => Process = process;

    public Process Process { get; }

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    public static BackgroundProcess Start(string fileName, IEnumerable<string> arguments, string workingDirectory)
    {
        var start = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        var background = new BackgroundProcess(Process.Start(start) ?? throw new InvalidOperationException($"{fileName} did not start."));
        background.Process.OutputDataReceived += (_, e) => background.Append(e.Data);
        background.Process.ErrorDataReceived += (_, e) => background.Append(e.Data);
        background.Process.BeginOutputReadLine();
        background.Process.BeginErrorReadLine();
        return background;
    }

    public void Dispose() => Process.Dispose();

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.AppendLine(line);
        }
    }
}
