using System.Diagnostics;
using GuestOps.Channel;
using GuestOps.Channel.Connection;
using GuestOps.Channel.Messages;
using GuestOps.Channel.Transport;
using Microsoft.Extensions.Logging;

namespace GuestOps.Tools;

/// <summary>
/// Keeps the worker connected: connect, handshake, serve until the connection ends, reconnect with exponential
/// backoff (100 ms doubling up to the configured maximum, with jitter) — whether the socket is not there yet, the host
/// restarted, or the connection was lost.
/// </summary>
public sealed partial class WorkerService(
    IChannelConnector connector,
    Func<ChannelConnectionOptions> connectionOptions,
    TimeSpan reconnectMax,
    long startTimestamp,
    ILogger<WorkerService> logger)
{
    private static readonly TimeSpan InitialBackoff = TimeSpan.FromMilliseconds(100);

    /// <summary>Completes after the first successful handshake (for tests and measurements).</summary>
    public Task FirstReady => _firstReady.Task;

    private readonly TaskCompletionSource _firstReady = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var backoff = InitialBackoff;
        var attempt = 0;
        while (!cancellationToken.IsCancellationRequested)
        {
            ChannelConnection? connection = null;
            try
            {
                attempt++;
                var transport = await connector.ConnectAsync(cancellationToken).ConfigureAwait(false);
                connection = await ChannelConnection.EstablishAsync(transport.Stream, connectionOptions(), cancellationToken).ConfigureAwait(false);
                LogReady(connector.Endpoint.ToString(), connection.NegotiatedVersion, Stopwatch.GetElapsedTime(startTimestamp).TotalMilliseconds, attempt);
                _firstReady.TrySetResult();
                attempt = 0;
                backoff = InitialBackoff;

                ChannelCloseInfo info;
                try
                {
                    info = await connection.Completion.WaitAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                    await connection.CloseAsync(grace.Token).ConfigureAwait(false);
                    break;
                }

                LogDisconnected(info.Reason, info.Message);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                break;
            }
            catch (ChannelVersionMismatchException ex)
            {
                LogVersionMismatch(ex.Message);
                backoff = reconnectMax; // retrying fast will not help
            }
            catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException or ChannelException or TimeoutException
                                           or System.Security.Authentication.AuthenticationException)
            {
                if (attempt == 1 || attempt % 50 == 0)
                {
                    LogConnectFailed(connector.Endpoint.ToString(), ex.Message, attempt);
                }
            }
            finally
            {
                if (connection is not null)
                {
                    await connection.DisposeAsync().ConfigureAwait(false);
                }
            }

            var jittered = backoff * (0.8 + (Random.Shared.NextDouble() * 0.4));
            try
            {
                await Task.Delay(jittered, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }

            backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, reconnectMax.Ticks));
        }

        LogStopped();
    }

    [LoggerMessage(EventId = 5400, Level = LogLevel.Information, Message = "Connected to {Endpoint}, protocol v{Version}; ready {ElapsedMs:F1} ms after start (attempt {Attempt})")]
    private partial void LogReady(string endpoint, int version, double elapsedMs, int attempt);

    [LoggerMessage(EventId = 5401, Level = LogLevel.Warning, Message = "Disconnected: {Reason} ({Detail}); reconnecting")]
    private partial void LogDisconnected(ChannelCloseReason reason, string detail);

    [LoggerMessage(EventId = 5402, Level = LogLevel.Information, Message = "Cannot reach {Endpoint}: {Detail} (attempt {Attempt}); retrying with backoff")]
    private partial void LogConnectFailed(string endpoint, string detail, int attempt);

    [LoggerMessage(EventId = 5403, Level = LogLevel.Error, Message = "Host refused our protocol version: {Detail}")]
    private partial void LogVersionMismatch(string detail);

    [LoggerMessage(EventId = 5404, Level = LogLevel.Information, Message = "Worker stopped")]
    private partial void LogStopped();
}
