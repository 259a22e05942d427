using System.Diagnostics;
using System.Globalization;
using GuestOps.Cli.Output;
using Spectre.Console;

namespace GuestOps.Cli.Transfers;

/// <summary>
/// Shows how a transfer goes, on stderr: a Spectre.Console progress bar with rate and ETA on a terminal, a plain line
/// every second otherwise, nothing with --quiet or --json.
/// </summary>
public abstract class TransferProgress
{
    public static TransferProgress For(CommandOutput output, bool quiet) =>
        quiet || output.Json ? new SilentProgress()
        : Console.IsErrorRedirected ? new LineProgress(output.Error)
        : new BarProgress();

    /// <summary>Runs <paramref name="work"/>, which reports the bytes moved so far through its argument.</summary>
    public abstract Task<T> TrackAsync<T>(string description, long total, Func<Action<long>, Task<T>> work);

    public static string Size(double bytes) => bytes switch
    {
        >= 1L << 30 => (bytes / (1L << 30)).ToString("0.0", CultureInfo.InvariantCulture) + " GiB",
        >= 1L << 20 => (bytes / (1L << 20)).ToString("0.0", CultureInfo.InvariantCulture) + " MiB",
        >= 1L << 10 => (bytes / (1L << 10)).ToString("0.0", CultureInfo.InvariantCulture) + " KiB",
        _ => bytes.ToString("0", CultureInfo.InvariantCulture) + " B",
    };

    private sealed class SilentProgress : TransferProgress
    {
        public override Task<T> TrackAsync<T>(string description, long total, Func<Action<long>, Task<T>> work) => work(_ => { });
    }

    private sealed class BarProgress : TransferProgress
    {
        public override async Task<T> TrackAsync<T>(string description, long total, Func<Action<long>, Task<T>> work)
        {
            var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
            return await console.Progress()
                .AutoClear(false)
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new DownloadedColumn(),
                    new TransferSpeedColumn(), new RemainingTimeColumn())
                .StartAsync(async context =>
                {
                    var task = context.AddTask(Markup.Escape(description), maxValue: Math.Max(total, 1));
                    var result = await work(bytes => task.Value = bytes);
                    task.Value = task.MaxValue;
                    return result;
                });
        }
    }

    /// <summary>One line per second while it runs, one at the end: bytes, share, rate and ETA.</summary>
    private sealed class LineProgress(TextWriter writer) : TransferProgress
    {
        public override async Task<T> TrackAsync<T>(string description, long total, Func<Action<long>, Task<T>> work)
        {
            var clock = Stopwatch.StartNew();
            var next = TimeSpan.FromSeconds(1);
            long done = 0;
            var result = await work(bytes =>
            {
                done = bytes;
                if (clock.Elapsed < next)
                {
                    return;
                }

                next = clock.Elapsed + TimeSpan.FromSeconds(1);
                var rate = bytes / Math.Max(clock.Elapsed.TotalSeconds, 0.001);
                var eta = rate > 0 && total > bytes ? TimeSpan.FromSeconds((total - bytes) / rate) : TimeSpan.Zero;
                writer.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{description}: {Size(bytes)} of {Size(total)} ({(total > 0 ? 100.0 * bytes / total : 100):0}%), {Size(rate)}/s, ETA {eta:hh\\:mm\\:ss}"));
            });
            var seconds = Math.Max(clock.Elapsed.TotalSeconds, 0.001);
            writer.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{description}: {Size(done)} in {seconds:0.0} s ({Size(done / seconds)}/s)"));
            return result;
        }
    }
}
