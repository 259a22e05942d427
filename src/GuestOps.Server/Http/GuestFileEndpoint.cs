using System.Buffers;
using GuestOps.Channel.Messages;
using GuestOps.Host;
using GuestOps.Host.Dispatch;
using GuestOps.Host.Transfers;
using GuestOps.Server.Guest;
using Microsoft.AspNetCore.Http.Features;

namespace GuestOps.Server.Http;

/// <summary>
/// <c>/guestFile?id=N&amp;token=T</c>: the HTTP side of InitiateFileTransferToGuest (PUT) and FromGuest (GET), the
/// URLs those methods return. The URL alone authorizes the transfer (no session cookie needed, as with ESXi). The body streams
/// between the HTTP connection and the worker's data stream with the channel's credit as backpressure, one pooled
/// buffer at a time; nothing is held in memory. Refusals get an HTTP status and a one-line text reason, and change
/// nothing: a URL is used up only when its transfer starts.
/// </summary>
/// <remarks>A URL of a VM that another host agent of the cluster runs is passed on to that host agent
/// (<see cref="GuestFileRelay"/>): a front end that hands out its own URLs (<c>GUESTOPS_TRANSFERS=frontend</c>) streams
/// the bytes through.</remarks>
public sealed partial class GuestFileEndpoint(ITransferTokens transfers, IHostAgent hostAgent, GuestFileRelay relay, ILogger<GuestFileEndpoint> logger)
{
    private const int CopyBufferSize = 64 * 1024;

    public async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        var upload = HttpMethods.IsPut(request.Method);
        if (!upload && !HttpMethods.IsGet(request.Method))
        {
            context.Response.Headers.Allow = "GET, PUT";
            await RefuseAsync(context, StatusCodes.Status405MethodNotAllowed, "Use PUT to upload (InitiateFileTransferToGuest) or GET to download (InitiateFileTransferFromGuest).");
            return;
        }

        await ServeAsync(context, upload, request.Query["id"], request.Query["token"]);
    }

    /// <summary>Sends the file of a download URL that InitiateFileTransferFromGuest issued as this response (for
    /// front ends that initiated the transfer themselves, such as the web client; the URL is used up).</summary>
    public Task DownloadAsync(HttpContext context, string transferUrl)
    {
        var query = Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(new Uri(transferUrl.Replace("://*:", "://localhost:", StringComparison.Ordinal)).Query);
        return ServeAsync(context, upload: false, query.GetValueOrDefault("id").ToString(), query.GetValueOrDefault("token").ToString());
    }

    private async Task ServeAsync(HttpContext context, bool upload, string? id, string? token)
    {
        var request = context.Request;
        var (check, transfer) = await transfers.CheckAsync(id, token, context.RequestAborted);
        if (check != GuestFileTransferCheck.Valid || transfer is null)
        {
            LogRefused(request.Method, id ?? "", check.ToString());
            await RefuseAsync(context, check switch
            {
                GuestFileTransferCheck.Malformed => StatusCodes.Status400BadRequest,
                GuestFileTransferCheck.Forged => StatusCodes.Status403Forbidden,
                GuestFileTransferCheck.Expired => StatusCodes.Status410Gone,
                _ => StatusCodes.Status404NotFound,
            }, check switch
            {
                GuestFileTransferCheck.Malformed => "The transfer URL needs the id and token the Initiate call returned.",
                GuestFileTransferCheck.Forged => "The transfer token is not valid for this transfer.",
                GuestFileTransferCheck.Expired => "The transfer URL has expired; call InitiateFileTransfer again.",
                _ => "No such transfer: the URL was already used, or it was issued before the server restarted.",
            });
            return;
        }

        var wanted = transfer.Direction == GuestFileTransferDirection.ToGuest;
        if (upload != wanted)
        {
            context.Response.Headers.Allow = wanted ? "PUT" : "GET";
            await RefuseAsync(context, StatusCodes.Status405MethodNotAllowed, wanted ? "This URL is for an upload (PUT)." : "This URL is for a download (GET).");
            return;
        }

        if (upload && request.ContentLength is { } length && length != transfer.Size)
        {
            await RefuseAsync(context, StatusCodes.Status400BadRequest, $"Content-Length {length} differs from the fileSize {transfer.Size} given to InitiateFileTransferToGuest.");
            return;
        }

        string? hostAgentServer;
        try
        {
            hostAgentServer = (hostAgent as IGuestFileServers)?.GuestFileServer(transfer.VmId, request.IsHttps);
        }
        catch (GuestAgentException e)
        {
            LogAgentFailed(transfer.Id, transfer.VmId, e.Message);
            await RefuseAsync(context, StatusCodes.Status503ServiceUnavailable, e.Message);
            return;
        }

        if (hostAgentServer is not null)
        {
            // The host agent that runs the VM checks and redeems the URL; this process only streams.
            await relay.ForwardAsync(context, hostAgentServer, upload, transfer.Id, token!, transfer.Size);
            return;
        }

        if (!await transfers.RedeemAsync(transfer, context.RequestAborted))
        {
            await RefuseAsync(context, StatusCodes.Status404NotFound, "No such transfer: the URL was already used.");
            return;
        }

        if (hostAgent.GetVirtualMachine(transfer.VmId) is not { PowerState: VmPowerState.PoweredOn })
        {
            await RefuseAsync(context, StatusCodes.Status409Conflict, "The virtual machine is no longer powered on.");
            return;
        }

        try
        {
            if (upload)
            {
                await UploadAsync(context, transfer);
            }
            else
            {
                await DownloadAsync(context, transfer);
            }
        }
        catch (GuestAgentException e)
        {
            LogAgentFailed(transfer.Id, transfer.VmId, e.Message);
            await RefuseAsync(context, e.Failure == GuestAgentFailure.OperationsDisabled ? StatusCodes.Status403Forbidden : StatusCodes.Status503ServiceUnavailable, e.Message);
        }
    }

    private async Task UploadAsync(HttpContext context, GuestFileTransfer transfer)
    {
        var aborted = context.RequestAborted;
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            limit.MaxRequestBodySize = transfer.Size; // a longer body fails in Kestrel, before it reaches the guest
        }

        await using var call = await hostAgent.StartGuestDataCallAsync(transfer.VmId, new UploadRequest { Grant = transfer.Grant }, aborted);
        var bodyComplete = false;
        string? clientFailure = null;
        try
        {
            bodyComplete = await call.SendRequestDataAsync(context.Request.BodyReader, aborted);
        }
        catch (Exception e) when (e is BadHttpRequestException or IOException or OperationCanceledException)
        {
            // The client went away or sent more than it announced: the worker must drop the partial file.
            clientFailure = e is BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge }
                ? $"The body is longer than the fileSize {transfer.Size} given to InitiateFileTransferToGuest."
                : $"The upload was interrupted after {call.RequestBytes} bytes.";
            await call.AbortRequestDataAsync(clientFailure);
        }

        if (!bodyComplete && !context.Response.HasStarted)
        {
            context.Response.Headers.Connection = "close"; // the rest of the body is not wanted: no keep-alive drain
        }

        var response = await call.GetResponseAsync(CancellationToken.None);
        if (response.Error is { } error)
        {
            LogTransferFailed(transfer.Id, transfer.VmId, "PUT", error.Code.ToString(), call.RequestBytes);
            await RefuseAsync(context, clientFailure is null ? Status(error.Code) : StatusCodes.Status400BadRequest, clientFailure ?? error.Message);
            return;
        }

        LogTransferred(transfer.Id, transfer.VmId, "PUT", call.RequestBytes);
        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentLength = 0;
    }

    private async Task DownloadAsync(HttpContext context, GuestFileTransfer transfer)
    {
        var aborted = context.RequestAborted;
        await using var call = await hostAgent.StartGuestDataCallAsync(transfer.VmId, new DownloadRequest { Grant = transfer.Grant }, aborted);
        var data = call.ResponseData;
        var first = ArrayPool<byte>.Shared.Rent(CopyBufferSize);
        long sent = 0;
        try
        {
            // Read before answering: a guest that refuses (file changed, permissions) still gets an HTTP error status.
            int n;
            try
            {
                n = transfer.Size == 0 ? 0 : await data.ReadAsync(first, aborted);
            }
            catch (GuestDataAbortedException)
            {
                n = 0;
            }

            if (n == 0)
            {
                var early = await call.GetResponseAsync(aborted);
                if (early.Error is { } error)
                {
                    LogTransferFailed(transfer.Id, transfer.VmId, "GET", error.Code.ToString(), 0);
                    await RefuseAsync(context, Status(error.Code), error.Message);
                    return;
                }
            }

            context.Response.StatusCode = StatusCodes.Status200OK;
            context.Response.ContentType = "application/octet-stream";
            context.Response.ContentLength = transfer.Size;
            if (n > 0)
            {
                await context.Response.Body.WriteAsync(first.AsMemory(0, n), aborted);
                sent = n;
            }

            var writer = context.Response.BodyWriter;
            while (sent < transfer.Size)
            {
                var memory = writer.GetMemory(CopyBufferSize);
                n = await data.ReadAsync(memory, aborted);
                if (n == 0)
                {
                    break;
                }

                writer.Advance(n);
                sent += n;
                var flushed = await writer.FlushAsync(aborted);
                if (flushed.IsCanceled || flushed.IsCompleted)
                {
                    break;
                }
            }

            var response = await call.GetResponseAsync(aborted);
            if (response.Error is { } failure || sent != transfer.Size)
            {
                throw new GuestDataAbortedException(response.Error?.Message ?? $"the guest sent {sent} of {transfer.Size} bytes");
            }

            LogTransferred(transfer.Id, transfer.VmId, "GET", sent);
        }
        catch (Exception e) when (e is IOException or OperationCanceledException)
        {
            // Headers are out: the only honest signal left is to cut the connection short of Content-Length.
            LogTransferFailed(transfer.Id, transfer.VmId, "GET", e.Message, sent);
            context.Abort();
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(first);
        }
    }

    /// <summary>Guest errors as HTTP statuses.</summary>
    internal static int Status(GuestErrorCode code) => code switch
    {
        GuestErrorCode.TransferNotGranted => StatusCodes.Status410Gone,
        GuestErrorCode.PermissionDenied or GuestErrorCode.InvalidLogin or GuestErrorCode.OperationDisabled => StatusCodes.Status403Forbidden,
        GuestErrorCode.FileNotFound => StatusCodes.Status404NotFound,
        GuestErrorCode.FileAlreadyExists or GuestErrorCode.NotAFile or GuestErrorCode.NotADirectory or GuestErrorCode.FileAccessError or GuestErrorCode.FileLocked => StatusCodes.Status409Conflict,
        GuestErrorCode.InvalidArgument or GuestErrorCode.Canceled => StatusCodes.Status400BadRequest,
        GuestErrorCode.NoDiskSpace => StatusCodes.Status507InsufficientStorage,
        GuestErrorCode.UnknownOperation or GuestErrorCode.NotSupported => StatusCodes.Status501NotImplemented,
        _ => StatusCodes.Status500InternalServerError,
    };

    internal static async Task RefuseAsync(HttpContext context, int status, string message)
    {
        if (context.Response.HasStarted)
        {
            context.Abort();
            return;
        }

        context.Response.StatusCode = status;
        context.Response.ContentType = "text/plain; charset=utf-8";
        await context.Response.WriteAsync(message + "\n", CancellationToken.None);
    }

    [LoggerMessage(EventId = 4500, Level = LogLevel.Information, Message = "File transfer refused ({Method}, id {Id}): {Reason}")]
    private partial void LogRefused(string method, string id, string reason);

    [LoggerMessage(EventId = 4501, Level = LogLevel.Information, Message = "File transfer {Id} to/from VM {VmId} ({Method}) done: {Bytes} bytes")]
    private partial void LogTransferred(long id, string vmId, string method, long bytes);

    [LoggerMessage(EventId = 4502, Level = LogLevel.Warning, Message = "File transfer {Id} to/from VM {VmId} ({Method}) failed after {Bytes} bytes: {Reason}")]
    private partial void LogTransferFailed(long id, string vmId, string method, string reason, long bytes);

    [LoggerMessage(EventId = 4503, Level = LogLevel.Warning, Message = "File transfer {Id}: the guest agent of VM {VmId} is not available: {Reason}")]
    private partial void LogAgentFailed(long id, string vmId, string reason);
}
