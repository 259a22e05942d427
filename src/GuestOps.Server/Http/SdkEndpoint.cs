using System.Text;
using GuestOps.Soap;
using Microsoft.AspNetCore.Http.Features;

namespace GuestOps.Server.Http;

/// <summary>POST /sdk: the vim25 SOAP endpoint. The body is read into a pooled buffer (bounded), dispatched, and the
/// envelope written back with the session cookie after Login. A body over the limit gets HTTP 413; it is then read to
/// its end and discarded (bounded in size and time) so that clients that send it all before reading the answer see the
/// 413, and the connection closes.</summary>
public sealed partial class SdkEndpoint(SoapDispatcher dispatcher, SdkRequestLimits limits, ILogger<SdkEndpoint> logger)
{
    private readonly long _maxRequestBytes = limits.MaxRequestBytes;
    private readonly long _maxDiscardedBytes = Math.Max(limits.MaxRequestBytes, limits.MaxDiscardedRequestBytes);
    private readonly TimeSpan _discardTimeout = limits.DiscardTimeout;

    public async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        var aborted = context.RequestAborted;
        var sizeFeature = context.Features.Get<IHttpMaxRequestBodySizeFeature>();
        if (sizeFeature is { IsReadOnly: false })
        {
            // Kestrel's limit sits above ours so that a too-large body can still be discarded (RejectTooLargeAsync).
            sizeFeature.MaxRequestBodySize = _maxDiscardedBytes + 1;
        }

        if (request.ContentLength > _maxRequestBytes)
        {
            await RejectTooLargeAsync(context, 0);
            return;
        }

        using var body = new PooledBufferStream(request.ContentLength is > 0 and < 1 << 20 ? (int)request.ContentLength.Value + 1 : 8192);
        bool complete;
        try
        {
            complete = await body.FillAsync(request.Body, _maxRequestBytes, aborted);
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            complete = false;
        }

        if (!complete)
        {
            await RejectTooLargeAsync(context, body.Length);
            return;
        }

        var info = new SoapRequestInfo(
            SessionCookie.Find(request.Headers.Cookie),
            context.Connection.RemoteIpAddress?.ToString(),
            request.Headers.UserAgent.ToString(),
            request.Headers["SOAPAction"].ToString())
        {
            LocalPort = context.Connection.LocalPort,
            IsHttps = request.IsHttps,
        };
        using var response = new PooledBufferStream();
        var result = await dispatcher.DispatchAsync(body, info, response, aborted);

        context.Response.StatusCode = result.StatusCode;
        context.Response.ContentType = "text/xml; charset=utf-8";
        context.Response.ContentLength = response.Length;
        if (result.IssuedSessionKey is { } key)
        {
            context.Response.Headers.SetCookie = SessionCookie.SetCookieValue(key, request.IsHttps);
        }

        await context.Response.Body.WriteAsync(response.WrittenMemory, aborted);
    }

    /// <summary>Answers 413 and closes the connection. The body (<paramref name="read"/> bytes of it already read) is first
    /// read to its end and dropped when it ends within <see cref="SdkRequestLimits.MaxDiscardedRequestBytes"/> and
    /// <see cref="SdkRequestLimits.DiscardTimeout"/>: a client still sending it would otherwise fail on a
    /// reset connection instead of reading the 413. A client waiting for <c>100 Continue</c> is not asked to send it.</summary>
    private async Task RejectTooLargeAsync(HttpContext context, long read)
    {
        var request = context.Request;
        var response = context.Response;
        LogTooLarge(logger, context.Connection.RemoteIpAddress?.ToString(), _maxRequestBytes);
        var text = Encoding.UTF8.GetBytes($"SOAP requests are limited to {_maxRequestBytes} bytes (GuestOps:MaxSoapRequestBytes).\n");
        response.StatusCode = StatusCodes.Status413PayloadTooLarge;
        response.ContentType = "text/plain; charset=utf-8";
        response.ContentLength = text.Length;
        response.Headers.Connection = "close";
        await response.Body.WriteAsync(text, context.RequestAborted);
        await response.Body.FlushAsync(context.RequestAborted);

        var waitsForContinue = read == 0 && request.Headers.Expect.ToString().Contains("100-continue", StringComparison.OrdinalIgnoreCase);
        if (waitsForContinue || request.ContentLength > _maxDiscardedBytes)
        {
            return;
        }

        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
        deadline.CancelAfter(_discardTimeout);
        var reader = request.BodyReader;
        try
        {
            while (true)
            {
                var chunk = await reader.ReadAsync(deadline.Token);
                read += chunk.Buffer.Length;
                reader.AdvanceTo(chunk.Buffer.End);
                if (chunk.IsCompleted)
                {
                    LogDiscarded(logger, read);
                    return;
                }

                if (read > _maxDiscardedBytes)
                {
                    break;
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or BadHttpRequestException or IOException)
        {
        }

        LogDiscardAbandoned(logger, read, _maxDiscardedBytes, _discardTimeout.TotalSeconds);
        context.Abort();
    }

    [LoggerMessage(EventId = 4200, Level = LogLevel.Warning, Message = "Rejected a SOAP request from {Client} larger than {Limit} bytes")]
    private static partial void LogTooLarge(ILogger logger, string? client, long limit);

    [LoggerMessage(EventId = 4201, Level = LogLevel.Debug, Message = "Discarded the {Bytes} bytes of a too-large SOAP request after answering 413")]
    private static partial void LogDiscarded(ILogger logger, long bytes);

    [LoggerMessage(EventId = 4202, Level = LogLevel.Information, Message = "Closed the connection of a too-large SOAP request after discarding {Bytes} bytes (bounds: {Limit} bytes, {Seconds:F0} s)")]
    private static partial void LogDiscardAbandoned(ILogger logger, long bytes, long limit, double seconds);
}

/// <summary>The sizes of SOAP requests <see cref="SdkEndpoint"/> serves: up to <see cref="MaxRequestBytes"/>; a larger
/// body is read to its end and dropped when it ends within <see cref="MaxDiscardedRequestBytes"/> and
/// <see cref="DiscardTimeout"/> (GuestOps:MaxSoapRequestBytes, MaxDiscardedSoapRequestBytes, DiscardedSoapRequestTimeout).</summary>
public sealed record SdkRequestLimits(long MaxRequestBytes, long MaxDiscardedRequestBytes, TimeSpan DiscardTimeout);
