using GuestOps.Server.ManagedObjects;
using GuestOps.Vim;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.Filters;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace GuestOps.Server.WebClient.Pages;

/// <summary>A page for a signed-in vSphere user: without a live session it sends the browser to sign in.</summary>
public abstract class SignedInPageModel(WebVim vim) : PageModel
{
    protected WebVim Vim { get; } = vim;

    public Session? VimSession { get; private set; }

    /// <summary>The last call's fault, as the page shows it: its vim type and message.</summary>
    public string? FaultName { get; protected set; }

    public string? FaultMessage { get; protected set; }

    public override async Task OnPageHandlerExecutionAsync(PageHandlerExecutingContext context, PageHandlerExecutionDelegate next)
    {
        VimSession = await Vim.SessionAsync(HttpContext);
        if (VimSession is null)
        {
            WebSession.Clear(HttpContext);
            context.Result = new RedirectResult("/ui/login");
            return;
        }

        ViewData["User"] = VimSession.UserName;
        await next();
    }

    /// <summary>Runs a vim call, keeping a fault for the page instead of throwing it.</summary>
    protected async Task<bool> TryAsync(Func<Task> call)
    {
        try
        {
            await call();
            return true;
        }
        catch (VimFaultException e)
        {
            FaultName = e.Fault.GetType().Name;
            FaultMessage = e.Message;
            if (e.Fault is NoPermission or NotAuthenticated)
            {
                Response.StatusCode = StatusCodes.Status403Forbidden;
            }

            return false;
        }
    }
}
