using System.Globalization;
using GuestOps.Server.Http;
using GuestOps.Vim;
using Microsoft.AspNetCore.Mvc;

namespace GuestOps.Server.WebClient.Pages;

/// <summary>
/// /ui/vm/{id}: one VM's guest. Every button posts the one form, with the guest credentials typed on the page; they
/// go into the guest operation's <c>auth</c> and nowhere else (not the session, a cookie, a URL or a log). Buttons
/// show only with the privileges their operation needs (HasPrivilegeOnEntity), and a post without them is refused
/// by the same authorizer as SOAP (NoPermission, audited as denied).
/// </summary>
public sealed class VmModel(WebVim vim, InventoryView view, GuestProgramRun runner, GuestFileEndpoint files) : SignedInPageModel(vim)
{
    private static readonly string[] GuestPrivileges = [Privileges.GuestOperationsQuery, Privileges.GuestOperationsModify, Privileges.GuestOperationsExecute];

    [BindProperty(SupportsGet = true)]
    public string Id { get; set; } = "";

    [BindProperty]
    public string GuestUser { get; set; } = "";

    /// <summary>Bound from the form for the call only; never rendered back.</summary>
    [BindProperty]
    public string? GuestPassword { get; set; }

    [BindProperty]
    public string Path { get; set; } = "";

    [BindProperty]
    public string? Command { get; set; }

    public VmRow? Vm { get; private set; }

    public bool CanQuery { get; private set; }

    public bool CanModify { get; private set; }

    public bool CanExecute { get; private set; }

    /// <summary>What the last action produced (null: nothing to show).</summary>
    public string? Done { get; private set; }

    public string? ListedPath { get; private set; }

    public IReadOnlyList<(GuestFileInfo File, string FullPath)>? Listing { get; private set; }

    public GuestProgramOutcome? Run { get; private set; }

    public string? RunCommand { get; private set; }

    public IReadOnlyList<GuestProcessInfo>? Processes { get; private set; }

    public IReadOnlyList<string>? Environment { get; private set; }

    public IReadOnlyList<EventRow> Events { get; private set; } = [];

    private ManagedObjectReference VmRef => new("VirtualMachine", Id);

    public async Task<IActionResult> OnGetAsync()
    {
        await TryAsync(LoadVmAsync);
        Path = Vm?.GuestFamily == "windowsGuest" ? @"C:\" : "/tmp";
        GuestUser = "";
        return await PageAsync();
    }

    public async Task<IActionResult> OnPostListAsync(string? open)
    {
        var path = string.IsNullOrEmpty(open) ? Path : open;
        if (await TryAsync(async () =>
        {
            var info = (GuestListFileInfo)(await Vim.GuestAsync(HttpContext, "ListFilesInGuest", VmRef, Auth(), path, 0, 1000, null)).Result!;
            Listing = (info.files ?? []).Where(f => f.path != ".").Select(f => (f, Child(path, f.path))).ToList();
            ListedPath = path;
            Path = path;
        }))
        {
            Done = $"Listed {path}";
        }

        return await PageAsync();
    }

    public async Task<IActionResult> OnPostDownloadAsync(string file)
    {
        FileTransferInformation? info = null;
        if (!await TryAsync(async () => info = (FileTransferInformation)(await Vim.GuestAsync(HttpContext, "InitiateFileTransferFromGuest", VmRef, Auth(), file)).Result!))
        {
            return await PageAsync();
        }

        Response.Headers.ContentDisposition = new System.Net.Mime.ContentDisposition { FileName = FileName(file), DispositionType = "attachment" }.ToString();
        await files.DownloadAsync(HttpContext, info!.url);
        return new EmptyResult();
    }

    /// <summary>Starts an upload: InitiateFileTransferToGuest for PATH/NAME, answering the one-time URL the page's
    /// script PUTs the file to (with a progress bar).</summary>
    public async Task<IActionResult> OnPostUploadAsync(string uploadName, long uploadSize, bool overwrite)
    {
        string? url = null;
        var target = Child(Path, System.IO.Path.GetFileName(uploadName ?? ""));
        if (!await TryAsync(async () => url = (string)(await Vim.GuestAsync(HttpContext, "InitiateFileTransferToGuest", VmRef, Auth(), target, new GuestFileAttributes(), uploadSize, overwrite)).Result!))
        {
            Response.StatusCode = FaultName is "NoPermission" or "NotAuthenticated" ? StatusCodes.Status403Forbidden : StatusCodes.Status400BadRequest;
            return new JsonResult(new { fault = FaultName, message = FaultMessage });
        }

        var uri = new Uri(url!.Replace("://*:", "://localhost:", StringComparison.Ordinal));
        return new JsonResult(new { url = uri.PathAndQuery, path = target });
    }

    public async Task<IActionResult> OnPostRunAsync()
    {
        var command = Command ?? "";
        if (command.Trim().Length == 0)
        {
            FaultName = "InvalidArgument";
            FaultMessage = "Type a command line to run.";
            return await PageAsync();
        }

        await LoadVmAsync();
        if (await TryAsync(async () => Run = await runner.RunAsync(HttpContext, VmRef, Auth(), command, Vm?.GuestFamily == "windowsGuest")))
        {
            RunCommand = command;
            Done = $"Ran {command}";
        }

        return await PageAsync();
    }

    public async Task<IActionResult> OnPostProcessesAsync()
    {
        if (await TryAsync(async () => Processes = ((GuestProcessInfo[])(await Vim.GuestAsync(HttpContext, "ListProcessesInGuest", VmRef, Auth(), (object?)null)).Result!).OrderBy(p => p.pid).ToList()))
        {
            Done = "Listed processes";
        }

        return await PageAsync();
    }

    public async Task<IActionResult> OnPostTerminateAsync(long pid)
    {
        if (await TryAsync(() => Vim.GuestAsync(HttpContext, "TerminateProcessInGuest", VmRef, Auth(), pid)))
        {
            Done = string.Create(CultureInfo.InvariantCulture, $"Terminated process {pid}");
        }

        return await PageAsync();
    }

    public async Task<IActionResult> OnPostEnvironmentAsync()
    {
        if (await TryAsync(async () => Environment = (string[])(await Vim.GuestAsync(HttpContext, "ReadEnvironmentVariableInGuest", VmRef, Auth(), (object?)null)).Result!))
        {
            Done = "Read the environment";
        }

        return await PageAsync();
    }

    private NamePasswordAuthentication Auth() => new() { username = GuestUser ?? "", password = GuestPassword ?? "", interactiveSession = false };

    private async Task LoadVmAsync() =>
        Vm ??= (await view.VirtualMachinesAsync(HttpContext, [VmRef])).FirstOrDefault();

    /// <summary>The VM, the user's guest privileges on it and its recent events; 404 for a VM the user cannot see.</summary>
    private async Task<IActionResult> PageAsync()
    {
        string? faultName = FaultName, faultMessage = FaultMessage;
        var status = Response.StatusCode;
        if (!await TryAsync(async () =>
        {
            await LoadVmAsync();
            if (Vm is null)
            {
                return;
            }

            var held = await Vim.InvokeAsync<bool[]>(HttpContext, "HasPrivilegeOnEntity", Vim.Inventory.AuthorizationManager.Ref, VmRef, VimSession!.Key, GuestPrivileges);
            (CanQuery, CanModify, CanExecute) = (held[0], held[1], held[2]);
            Events = await view.RecentEventsAsync(HttpContext, VmRef);
        }))
        {
            return Page();
        }

        (FaultName, FaultMessage) = (faultName, faultMessage);
        Response.StatusCode = status;
        return Vm is null ? NotFound() : Page();
    }

    /// <summary>A listed entry's full path (<c>..</c> is the parent directory).</summary>
    private static string Child(string directory, string name)
    {
        var separator = directory.Contains('\\') && !directory.Contains('/') ? '\\' : '/';
        var trimmed = directory.Length > 1 ? directory.TrimEnd(separator) : directory;
        if (name == "..")
        {
            var cut = trimmed.LastIndexOf(separator);
            return cut <= 0 ? separator.ToString() : trimmed[..cut];
        }

        return trimmed.EndsWith(separator) ? trimmed + name : trimmed + separator + name;
    }

    private static string FileName(string path) =>
        path[(path.LastIndexOfAny(['/', '\\']) + 1)..] is { Length: > 0 } name ? name : "download";
}
