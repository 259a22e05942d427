using GuestOps.Soap;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;

namespace GuestOps.Server.Http;

/// <summary>POST /sdk: the vim25 SOAP endpoint. The body is read into a pooled buffer (bounded), dispatched, and the
/// envelope written back with the session cookie after Login.</summary>
public sealed partial class SdkEndpoint(SoapDispatcher dispatcher, IOptions<GuestOpsOptions> options, ILogger<SdkEndpoint> logger)
{
    private readonly long _maxRequestBytes = options.Value.MaxSoapRequestBytes;

    public async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        var aborted = context.RequestAborted;
        if (request.ContentLength > _maxRequestBytes)
        {
            await RejectTooLarge(context);
            return;
        }

        var sizeFeature = context.Features.Get<IHttpMaxRequestBodySizeFeature>();
        if (sizeFeature is { IsReadOnly: false })
        {
            sizeFeature.MaxRequestBodySize = _maxRequestBytes + 1;
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
            await RejectTooLarge(context);
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

    private async Task RejectTooLarge(HttpContext context)
    {
        LogTooLarge(logger, context.Connection.RemoteIpAddress?.ToString(), _maxRequestBytes);
        context.Response.StatusCode = StatusCodes.Status413PayloadTooLarge;
        context.Response.ContentType = "text/plain; charset=utf-8";
        await context.Response.WriteAsync($"SOAP requests are limited to {_maxRequestBytes} bytes (GuestOps:MaxSoapRequestBytes).\n", context.RequestAborted);
    }

    [LoggerMessage(EventId = 4200, Level = LogLevel.Warning, Message = "Rejected a SOAP request from {Client} larger than {Limit} bytes")]
    private static partial void LogTooLarge(ILogger logger, string? client, long limit);
}
