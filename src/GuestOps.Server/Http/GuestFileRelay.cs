using System.Globalization;
using Microsoft.AspNetCore.Http.Features;

namespace GuestOps.Server.Http;

/// <summary>
/// A front end's side of a transfer whose VM runs at another host agent of the cluster: the client's PUT or GET is
/// passed on to that host agent's <c>/guestFile</c> with the same id and token (cluster-wide and one-time: the host
/// agent checks and redeems it, this process never does), and the bytes stream through both ways, one pooled buffer at
/// a time, with each TCP connection's flow control as backpressure; nothing is held in memory. The host agent's status
/// and its one-line reason come back unchanged. The hop to the host agent is HTTPS without a check of its certificate
/// (every member makes its own, self-signed): the cluster's network is trusted, as it already is for the members'
/// own traffic.
/// </summary>
public sealed partial class GuestFileRelay(ILogger<GuestFileRelay> logger) : IDisposable
{
    private const int CopyBufferSize = 64 * 1024;

    private readonly HttpMessageInvoker _client = new(new SocketsHttpHandler
    {
        AllowAutoRedirect = false,
        UseCookies = false,
        UseProxy = false,
        AutomaticDecompression = System.Net.DecompressionMethods.None,
        ConnectTimeout = TimeSpan.FromSeconds(10),
        SslOptions = { RemoteCertificateValidationCallback = (_, _, _, _) => true },
    });

    /// <summary>Passes the transfer <paramref name="id"/> on to <paramref name="server"/> (a host agent's base URL,
    /// <c>scheme://host:port</c>) and streams its answer back as this response. <paramref name="size"/> is the upload's
    /// announced length (the body may not be longer).</summary>
    public async Task ForwardAsync(HttpContext context, string server, bool upload, long id, string token, long size)
    {
        var aborted = context.RequestAborted;
        if (server.Contains("://*:", StringComparison.Ordinal))
        {
            await GuestFileEndpoint.RefuseAsync(context, StatusCodes.Status502BadGateway, $"The host agent at {server} listens on every address: a front end that streams transfers through needs its GUESTOPS_URLS to name an address.");
            return;
        }

        var target = new Uri(string.Create(CultureInfo.InvariantCulture, $"{server}/guestFile?id={id}&token={Uri.EscapeDataString(token)}"));
        using var message = new HttpRequestMessage(upload ? HttpMethod.Put : HttpMethod.Get, target) { Version = System.Net.HttpVersion.Version11 };
        if (upload)
        {
            if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
            {
                limit.MaxRequestBodySize = size; // a longer body fails here, before it reaches the host agent
            }

            message.Content = new StreamContent(context.Request.Body, CopyBufferSize);
            message.Content.Headers.ContentLength = size;
        }

        HttpResponseMessage response;
        try
        {
            // Returns at the response's headers: the body is read below, as it comes.
            response = await _client.SendAsync(message, aborted);
        }
        catch (Exception e) when (e is HttpRequestException or IOException or OperationCanceledException or BadHttpRequestException)
        {
            LogForwardFailed(id, upload ? "PUT" : "GET", target.Authority, e.Message);
            await GuestFileEndpoint.RefuseAsync(context, e is BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge } ? StatusCodes.Status400BadRequest : StatusCodes.Status502BadGateway, aborted.IsCancellationRequested
                ? "The transfer was interrupted."
                : $"The host agent that runs the VM could not be reached: {e.Message}");
            return;
        }

        using (response)
        {
            context.Response.StatusCode = (int)response.StatusCode;
            if (response.Content.Headers.ContentType is { } type)
            {
                context.Response.ContentType = type.ToString();
            }

            context.Response.ContentLength = response.Content.Headers.ContentLength;
            if (response.Content.Headers.Allow.Count > 0)
            {
                context.Response.Headers.Allow = string.Join(", ", response.Content.Headers.Allow);
            }

            try
            {
                await using var body = await response.Content.ReadAsStreamAsync(aborted);
                await body.CopyToAsync(context.Response.Body, CopyBufferSize, aborted);
                LogForwarded(id, upload ? "PUT" : "GET", target.Authority, (int)response.StatusCode);
            }
            catch (Exception e) when (e is HttpRequestException or IOException or OperationCanceledException)
            {
                // Headers are out: as at the host agent, the only honest signal left is to cut the connection short.
                LogForwardFailed(id, upload ? "PUT" : "GET", target.Authority, e.Message);
                context.Abort();
            }
        }
    }

    public void Dispose() => _client.Dispose();

    [LoggerMessage(EventId = 4504, Level = LogLevel.Information, Message = "File transfer {Id} ({Method}) streamed through to the host agent at {HostAgent}: HTTP {Status}")]
    private partial void LogForwarded(long id, string method, string hostAgent, int status);

    [LoggerMessage(EventId = 4505, Level = LogLevel.Warning, Message = "File transfer {Id} ({Method}) through to the host agent at {HostAgent} failed: {Reason}")]
    private partial void LogForwardFailed(long id, string method, string hostAgent, string reason);
}
