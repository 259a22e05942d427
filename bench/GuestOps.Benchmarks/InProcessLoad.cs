using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;

namespace GuestOps.Benchmarks;

/// <summary>
/// The in-process load generator: N workers, each with its own keep-alive HTTPS/1.1 connection (SocketsHttpHandler,
/// certificate validation off), sending the same POST back to back. Requests completing inside the measured window
/// count; their latency is send-to-last-byte. It shares the process (thread pool, GC, the 2 cores) with the server.
/// </summary>
internal static class InProcessLoad
{
    public static SocketsHttpHandler CreateHandler(int connections) => new()
    {
        MaxConnectionsPerServer = connections,
        UseCookies = false,
        UseProxy = false,
        AutomaticDecompression = DecompressionMethods.None,
        PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
        PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
        SslOptions = { RemoteCertificateValidationCallback = static (_, _, _, _) => true },
    };

    private static readonly MediaTypeHeaderValue XmlContentType = MediaTypeHeaderValue.Parse(SoapRequest.ContentType);

    public static HttpRequestMessage CreateMessage(Uri uri, SoapRequest request)
    {
        var message = new HttpRequestMessage(HttpMethod.Post, uri)
        {
            Version = HttpVersion.Version11,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new ByteArrayContent(request.Body),
        };
        message.Content.Headers.ContentType = XmlContentType;
        message.Headers.TryAddWithoutValidation("SOAPAction", SoapRequest.SoapAction);
        if (request.Cookie is not null)
        {
            message.Headers.TryAddWithoutValidation("Cookie", request.Cookie);
        }

        return message;
    }

    public static async Task<Measurement> RunAsync(Uri uri, SoapRequest request, int expectedLength, int connections, TimeSpan warmup, TimeSpan duration, IReadOnlyList<int>? guestPids = null)
    {
        using var handler = CreateHandler(connections);
        using var client = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(30) };

        var start = Stopwatch.GetTimestamp();
        var measureFrom = start + (long)(warmup.TotalSeconds * Stopwatch.Frequency);
        var measureTo = measureFrom + (long)(duration.TotalSeconds * Stopwatch.Frequency);

        var workers = new Task<WorkerResult>[connections];
        for (var i = 0; i < connections; i++)
        {
            workers[i] = Task.Run(() => WorkerAsync(client, uri, request, expectedLength, measureFrom, measureTo, (int)(duration.TotalSeconds * 50_000 / connections)));
        }

        await Task.Delay(Remaining(measureFrom));
        var cpu = CpuMeter.Start(guestPids);
        await Task.Delay(Remaining(measureTo));
        var cpuSample = cpu.Stop();

        var results = await Task.WhenAll(workers);
        var latencies = results.SelectMany(r => r.Latencies).ToArray();
        Array.Sort(latencies);
        return new Measurement(
            latencies.LongLength,
            duration.TotalSeconds,
            Percentiles.Milliseconds(latencies, 50),
            Percentiles.Milliseconds(latencies, 99),
            results.Sum(r => r.Errors),
            cpuSample);
    }

    private static TimeSpan Remaining(long timestamp)
    {
        var ticks = timestamp - Stopwatch.GetTimestamp();
        return ticks > 0 ? TimeSpan.FromSeconds((double)ticks / Stopwatch.Frequency) : TimeSpan.Zero;
    }

    private static async Task<WorkerResult> WorkerAsync(HttpClient client, Uri uri, SoapRequest request, int expectedLength, long measureFrom, long measureTo, int capacity)
    {
        var latencies = new List<long>(capacity);
        long errors = 0;
        var buffer = new byte[64 * 1024];
        while (true)
        {
            var sent = Stopwatch.GetTimestamp();
            if (sent >= measureTo)
            {
                break;
            }

            var ok = false;
            try
            {
                using var message = CreateMessage(uri, request);
                using var response = await client.SendAsync(message, HttpCompletionOption.ResponseHeadersRead);
                await using var stream = await response.Content.ReadAsStreamAsync();
                var total = 0;
                int read;
                while ((read = await stream.ReadAsync(buffer)) > 0)
                {
                    total += read;
                }

                ok = response.StatusCode == HttpStatusCode.OK && total == expectedLength;
            }
            catch (HttpRequestException)
            {
            }

            var done = Stopwatch.GetTimestamp();
            if (done >= measureFrom && done <= measureTo)
            {
                if (ok)
                {
                    latencies.Add(done - sent);
                }
                else
                {
                    errors++;
                }
            }
        }

        return new WorkerResult(latencies, errors);
    }

    private sealed record WorkerResult(List<long> Latencies, long Errors);
}
