using System.Diagnostics;
using GuestOps.Soap;
using Microsoft.Extensions.DependencyInjection;

namespace GuestOps.Benchmarks;

/// <summary>One timed stage: mean time and managed allocation per call, single-threaded, no HTTP.</summary>
internal sealed record StageTiming(string Stage, double Microseconds, double AllocatedBytes);

/// <summary>
/// Where a request's time goes without HTTP: GuestOps's whole <see cref="SoapDispatcher.DispatchAsync"/> (envelope,
/// deserialization, session, PropertyCollector, serialization) next to the raw echo's whole Process, on the same
/// warmed-up server, through public APIs only.
/// </summary>
internal sealed class StageProfile(IServiceProvider services)
{
    private readonly SoapDispatcher _dispatcher = services.GetRequiredService<SoapDispatcher>();

    public async Task<IReadOnlyList<StageTiming>> RunAsync(BenchOperation operation, SoapRequest request, SessionState session, RawSoapEcho echo, int iterations)
    {
        var info = new SoapRequestInfo(request.Cookie is null ? null : session.SessionKey, "127.0.0.1", "GuestOps.Benchmarks");
        using var body = new PooledBufferStream(request.Body.Length + 1);
        body.Write(request.Body);
        using var output = new PooledBufferStream(64 * 1024);
        using var rawBody = new PooledBufferStream(request.Body.Length + 1);
        rawBody.Write(request.Body);
        using var rawOutput = new PooledBufferStream(64 * 1024);

        var ours = await Time($"GuestOps DispatchAsync ({operation.Name}), whole", iterations, async () =>
        {
            body.Position = 0;
            output.SetLength(0);
            var result = await _dispatcher.DispatchAsync(body, info, output, CancellationToken.None);
            if (result.StatusCode != 200)
            {
                throw new InvalidOperationException($"{operation.Name} answered {result.StatusCode}.");
            }
        });
        var raw = await Time($"raw echo Process ({operation.Name}), whole", iterations, () =>
        {
            rawBody.Position = 0;
            rawOutput.SetLength(0);
            echo.Process(rawBody, rawOutput);
            return Task.CompletedTask;
        });
        return [ours, raw];
    }

    private static async Task<StageTiming> Time(string stage, int iterations, Func<Task> action)
    {
        var batch = Math.Max(1, iterations / 3);
        for (var i = 0; i < Math.Min(batch, 500); i++)
        {
            await action();
        }

        var best = double.MaxValue;
        var bestBytes = 0.0;
        for (var round = 0; round < 3; round++)
        {
            var bytes = GC.GetAllocatedBytesForCurrentThread();
            var watch = Stopwatch.StartNew();
            for (var i = 0; i < batch; i++)
            {
                await action();
            }

            var micros = watch.Elapsed.TotalMicroseconds / batch;
            if (micros < best)
            {
                best = micros;
                bestBytes = (GC.GetAllocatedBytesForCurrentThread() - bytes) / (double)batch;
            }
        }

        return new StageTiming(stage, best, bestBytes);
    }
}
