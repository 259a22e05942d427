using Microsoft.Extensions.Logging;

namespace GuestOps.Tools.Logging;

/// <summary>
/// A minimal NativeAOT-friendly logger factory writing one line per message to stderr
/// (<c>2024-05-01T10:00:00.123Z info  Category: message</c>). Scopes are ignored.
/// </summary>
public sealed class StderrLoggerFactory(LogLevel minimum, TextWriter? output = null) : ILoggerFactory
{
    private readonly TextWriter _output = output ?? Console.Error;
    private readonly object _lock = new();

    public ILogger CreateLogger(string categoryName)
    {
        var shortName = categoryName[(categoryName.LastIndexOf('.') + 1)..];
        return new StderrLogger(this, shortName);
    }

    public void AddProvider(ILoggerProvider provider) => throw new NotSupportedException();

    public void Dispose()
    {
    }

    private void Write(string line)
    {
        lock (_lock)
        {
            _output.WriteLine(line);
            _output.Flush();
        }
    }

    private sealed class StderrLogger(StderrLoggerFactory factory, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None && logLevel >= factory.MinimumLevel;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel))
            {
                return;
            }

            var level = logLevel switch
            {
                LogLevel.Trace => "trace",
                LogLevel.Debug => "debug",
                LogLevel.Information => "info ",
                LogLevel.Warning => "warn ",
                LogLevel.Error => "error",
                _ => "crit ",
            };
            var line = $"{DateTime.UtcNow:yyyy-MM-ddTHH:mm:ss.fffZ} {level} {category}: {formatter(state, exception)}";
            if (exception is not null)
            {
                line += Environment.NewLine + exception;
            }

            factory.Write(line);
        }
    }

    private LogLevel MinimumLevel => minimum;
}
