using GuestOps.Vim;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace GuestOps.Server.WebClient.Pages;

/// <summary>/ui/login: SessionManager.Login as a SOAP client calls it (same users, lockout and "may log in" rule);
/// the session key goes into the web client's cookie.</summary>
public sealed class LoginModel(WebVim vim) : PageModel
{
    public string? Error { get; private set; }

    public string UserName { get; private set; } = "";

    public async Task<IActionResult> OnGetAsync() => await vim.SessionAsync(HttpContext) is null ? Page() : Redirect("/ui/");

    public async Task<IActionResult> OnPostAsync(string? username, string? password)
    {
        UserName = username ?? "";
        try
        {
            var login = await vim.CallAsync(HttpContext, "Login", vim.Inventory.SessionManager.Ref, username ?? "", password ?? "", null);
            WebSession.Issue(HttpContext, login.IssuedSessionKey!);
            return Redirect("/ui/");
        }
        catch (VimFaultException e)
        {
            Error = e.Fault is InvalidLogin ? "Cannot complete login due to an incorrect user name or password." : e.Message;
            Response.StatusCode = StatusCodes.Status401Unauthorized;
            return Page();
        }
    }
}
