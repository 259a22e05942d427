using Microsoft.AspNetCore.Mvc;

namespace GuestOps.Server.WebClient.Pages;

/// <summary>/ui/: the VMs this user may see and the recent guest operations, kept current by /ui/live.</summary>
public sealed class IndexModel(WebVim vim, InventoryView view) : SignedInPageModel(vim)
{
    public IReadOnlyList<VmRow> Vms { get; private set; } = [];

    public IReadOnlyList<EventRow> Events { get; private set; } = [];

    public async Task OnGetAsync()
    {
        await TryAsync(async () =>
        {
            Vms = await view.VirtualMachinesAsync(HttpContext);
            Events = await view.RecentEventsAsync(HttpContext);
        });
    }

    /// <summary>Sign out: SessionManager.Logout ends the vSphere session; the cookie goes too.</summary>
    public async Task<IActionResult> OnPostLogoutAsync()
    {
        await TryAsync(() => Vim.InvokeVoidAsync(HttpContext, "Logout", Vim.Inventory.SessionManager.Ref));
        WebSession.Clear(HttpContext);
        return Redirect("/ui/login");
    }
}
