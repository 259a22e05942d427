using System.Text.Json;
using GuestOps.Vim;

namespace GuestOps.Server.WebClient;

/// <summary>
/// <c>GET /ui/live</c>: server-sent events for the open pages. Once a second the VM list and the recent guest-operation
/// events are read again as the browser's session (the same vim calls as the page itself); an <c>event: vms</c> or
/// <c>event: events</c> message carries the whole list when it changed. The stream ends when the session does.
/// </summary>
public sealed partial class LiveUpdates(InventoryView view, WebVim vim, ILogger<LiveUpdates> logger)
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public async Task HandleAsync(HttpContext context)
    {
        if (await vim.SessionAsync(context) is null)
        {
            context.Response.StatusCode = StatusCodes.Status401Unauthorized;
            return;
        }

        var vmFilter = context.Request.Query["vm"].ToString() is { Length: > 0 } id ? new ManagedObjectReference("VirtualMachine", id) : null;
        context.Response.ContentType = "text/event-stream";
        context.Response.Headers.CacheControl = "no-store";
        context.Response.Headers["X-Accel-Buffering"] = "no";
        string? lastVms = null, lastEvents = null;
        var aborted = context.RequestAborted;
        try
        {
            while (!aborted.IsCancellationRequested)
            {
                var vms = JsonSerializer.Serialize(await view.VirtualMachinesAsync(context, vmFilter is null ? null : [vmFilter]), Json);
                var events = JsonSerializer.Serialize(await view.RecentEventsAsync(context, vmFilter), Json);
                if (vms != lastVms)
                {
                    await context.Response.WriteAsync($"event: vms\ndata: {vms}\n\n", aborted);
                    lastVms = vms;
                }

                if (events != lastEvents)
                {
                    await context.Response.WriteAsync($"event: events\ndata: {events}\n\n", aborted);
                    lastEvents = events;
                }

                await context.Response.Body.FlushAsync(aborted);
                await Task.Delay(Interval, aborted);
            }
        }
        catch (OperationCanceledException) when (aborted.IsCancellationRequested)
        {
        }
        catch (VimFaultException e)
        {
            // The session ended (logout, idle timeout): tell the page, which goes back to sign-in.
            LogStreamEnded(logger, e.Fault.GetType().Name);
            await context.Response.WriteAsync("event: signedout\ndata: {}\n\n", CancellationToken.None);
        }
    }

    [LoggerMessage(EventId = 4700, Level = LogLevel.Debug, Message = "Web client live stream ended: {Fault}")]
    private static partial void LogStreamEnded(ILogger logger, string fault);
}
