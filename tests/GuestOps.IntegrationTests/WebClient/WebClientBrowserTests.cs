using System.Text;
using GuestOps.IntegrationTests.Authorization;
using GuestOps.IntegrationTests.Infrastructure;
using Microsoft.Playwright;

namespace GuestOps.IntegrationTests.WebClient;

/// <summary>
/// The web client at /ui/ in a real headless Chromium against the real server with its two sandboxed demo VMs: sign
/// in, the live VM list, browsing /tmp, an upload with its progress bar, running a program, the live audit trail; a
/// Query-only user; a wrong password; a post without its antiforgery token. Screenshots go to
/// GUESTOPS_SCREENSHOT_DIR when it is set (the README's come from there).
/// </summary>
[TestClass]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class WebClientBrowserTests : IntegrationTest
{
    private const string Viewer = "ui-viewer";
    private const string ViewerPassword = "Viewer-Test-Pa55!";

    /// <summary>How long a page step may take: a hang guard, not a speed check (on 2 cores beside another test class's
    /// cluster, a first sign-in has taken over 30 s).</summary>
    private const float Timeout = 90_000;

    private static GuestServer _guest = null!;
    private static IPlaywright _playwright = null!;
    private static IBrowser _browser = null!;

    [ClassInitialize]
    public static async Task StartAsync(TestContext context)
    {
        _guest = await GuestServer.StartAsync();
        using (var root = new SoapClient(_guest.Server, new ResponseLog()))
        {
            await root.LoginOkAsync();
            await AuthorizationSoap.CreateUserAsync(root, Viewer, ViewerPassword);
            var role = await AuthorizationSoap.AddRoleAsync(root, "guest-query-only", [GuestOps.Vim.Privileges.GuestOperationsQuery]);
            (await AuthorizationSoap.SetPermissionsAsync(root, Moref.RootFolder, AuthorizationSoap.Permission(Viewer, role, propagate: true))).AssertOk("SetEntityPermissions");
        }

        (_playwright, _browser) = await HeadlessChromium.LaunchAsync();
    }

    [ClassCleanup]
    public static async Task StopAsync()
    {
        if (_browser is not null)
        {
            await _browser.CloseAsync();
        }

        _playwright?.Dispose();
        if (_guest is not null)
        {
            await _guest.DisposeAsync();
        }
    }

    private Uri Ui(string path = "") => new(_guest.Server.BaseUri, "/ui/" + path);

    private static Task<IBrowserContext> NewContextAsync() =>
        _browser.NewContextAsync(new BrowserNewContextOptions { IgnoreHTTPSErrors = true, AcceptDownloads = true, ViewportSize = new ViewportSize { Width = 1280, Height = 900 } });

    private async Task<IPage> SignInAsync(IBrowserContext context, string user, string password)
    {
        var page = await context.NewPageAsync();
        page.SetDefaultTimeout(Timeout);
        await page.GotoAsync(Ui().ToString());
        Assert.AreEqual("/ui/login", new Uri(page.Url).AbsolutePath, "an anonymous visit is sent to sign in");
        await page.FillAsync("input[name=username]", user);
        await page.FillAsync("input[name=password]", password);
        await page.ClickAsync("#sign-in");
        await Assertions.Expect(page).ToHaveURLAsync(Ui().ToString()); // polled: no load state (the list page keeps live streams open)
        return page;
    }

    private static async Task ScreenshotAsync(IPage page, string name)
    {
        if (Environment.GetEnvironmentVariable("GUESTOPS_SCREENSHOT_DIR") is { Length: > 0 } directory)
        {
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(directory, name), FullPage = true });
        }
    }

    [TestMethod]
    [Timeout(240_000)]
    public async Task SignIn_ListUploadRun_AndTheEventsShowIt()
    {
        await using var context = await NewContextAsync();
        var page = await SignInAsync(context, "root", ServerOptions.DefaultRootPassword);

        // The session cookie: HttpOnly, Secure, SameSite=Strict; every page carries the strict policy.
        var cookie = (await context.CookiesAsync()).Single(c => c.Name == "guestops_ui_session");
        Assert.IsTrue(cookie.HttpOnly && cookie.Secure && cookie.SameSite == SameSiteAttribute.Strict, $"cookie flags: HttpOnly {cookie.HttpOnly}, Secure {cookie.Secure}, SameSite {cookie.SameSite}");
        var headers = await (await page.ReloadAsync())!.AllHeadersAsync();
        StringAssert.Contains(headers["content-security-policy"], "script-src 'self'");

        // Both demo VMs, ready, with their tools running (read through the PropertyCollector as root).
        foreach (var vm in new[] { "vm-1", "vm-2" })
        {
            var row = page.Locator($"#vms tr[data-vm='{vm}']");
            await Assertions.Expect(row.Locator("td.ready")).ToHaveTextAsync("ready");
            await Assertions.Expect(row.Locator("td.power")).ToHaveTextAsync("poweredOn");
            await Assertions.Expect(row.Locator("td.tools")).ToHaveTextAsync("guestToolsRunning");
        }

        await Assertions.Expect(page.Locator("#vms td.name")).ToHaveTextAsync(["demo-vm-1", "demo-vm-2"]);
        await ScreenshotAsync(page, "web-client-vms.png");

        // demo-vm-1: list /tmp as the guest user demo.
        await page.ClickAsync("#vms a:text-is('demo-vm-1')");
        // The page keeps live streams open, so no load state is awaited (WaitForURLAsync waits for one when the URL
        // already matches): the URL is polled, and the next steps wait for their own elements.
        await Assertions.Expect(page).ToHaveURLAsync(Ui("vm/vm-1").ToString());
        await page.FillAsync("input[name=GuestUser]", "demo");
        await page.FillAsync("input[name=GuestPassword]", GuestServer.GuestPassword);
        await page.FillAsync("input[name=Path]", "/tmp");
        await page.ClickAsync("#list");
        await Assertions.Expect(page.Locator("#listed-path")).ToHaveTextAsync("/tmp");
        await Assertions.Expect(page.Locator("#done")).ToHaveTextAsync("Listed /tmp");

        // Upload through the page's progress bar; the file then shows in the listing with its size.
        var content = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("uploaded from the browser\n", 4000)));
        await page.SetInputFilesAsync("#upload-file", new FilePayload { Name = "ui-upload.txt", MimeType = "text/plain", Buffer = content });
        await page.ClickAsync("#upload");
        await Assertions.Expect(page.Locator("#upload-status")).ToHaveTextAsync("Uploaded /tmp/ui-upload.txt");
        await Assertions.Expect(page.Locator("#upload-progress")).ToHaveAttributeAsync("value", "100");
        var uploaded = page.Locator("#files tr", new PageLocatorOptions { Has = page.Locator("td.name:text-is('ui-upload.txt')") });
        await Assertions.Expect(uploaded.Locator("td.num")).ToHaveTextAsync(content.Length.ToString(System.Globalization.CultureInfo.InvariantCulture));

        // The guest password stayed in its field (the page's script kept it) but no answer carries it back.
        Assert.AreEqual(GuestServer.GuestPassword, await page.InputValueAsync("input[name=GuestPassword]"));
        var token = await page.InputValueAsync("#guest-form input[name=__RequestVerificationToken]");
        var listing = await page.APIRequest.PostAsync(Ui("vm/vm-1?handler=List").ToString(), new APIRequestContextOptions
        {
            Form = FormOf(page, ("__RequestVerificationToken", token), ("GuestUser", "demo"), ("GuestPassword", GuestServer.GuestPassword), ("Path", "/tmp")),
        });
        var listingHtml = await listing.TextAsync();
        StringAssert.Contains(listingHtml, "ui-upload.txt");
        Assert.IsFalse(listingHtml.Contains(GuestServer.GuestPassword, StringComparison.Ordinal), "the guest password is not rendered back");
        StringAssert.Contains(listing.Headers["cache-control"], "no-store");

        // Run a program: its output and exit code.
        await page.FillAsync("input[name=Command]", "sh -c 'echo hi; exit 3'");
        await page.ClickAsync("#run");
        await Assertions.Expect(page.Locator("#exit-code")).ToHaveTextAsync("3", new LocatorAssertionsToHaveTextOptions { Timeout = 60_000 });
        await Assertions.Expect(page.Locator("#stdout")).ToHaveTextAsync("hi\n");
        await ScreenshotAsync(page, "web-client-vm.png");

        // The audit trail, live on the VM page (the table is outside what the actions replace): who, what, which VM, result.
        var events = page.Locator("#events tbody tr");
        foreach (var operation in new[] { "ListFilesInGuest", "InitiateFileTransferToGuest", "StartProgramInGuest" })
        {
            await Assertions.Expect(events.Filter(new LocatorFilterOptions { HasText = operation }).First).ToContainTextAsync("root");
        }

        var started = events.Filter(new LocatorFilterOptions { HasText = "StartProgramInGuest" }).First;
        await Assertions.Expect(started).ToContainTextAsync("demo-vm-1");
        await Assertions.Expect(started).ToContainTextAsync("demo");
        await Assertions.Expect(started).ToContainTextAsync("ok");

        // And on the list page.
        await page.GotoAsync(Ui().ToString());
        await Assertions.Expect(page.Locator("#events tbody tr").Filter(new LocatorFilterOptions { HasText = "StartProgramInGuest" }).First).ToContainTextAsync("demo-vm-1");
        await ScreenshotAsync(page, "web-client-events.png");
    }

    [TestMethod]
    [Timeout(120_000)]
    public async Task QueryOnlyUser_SeesNoRun_AndIsRefusedWhenPostingItAnyway()
    {
        await using var context = await NewContextAsync();
        var page = await SignInAsync(context, Viewer, ViewerPassword);
        await Assertions.Expect(page.Locator("#vms tr[data-vm='vm-1'] td.ready")).ToHaveTextAsync("ready");
        await page.GotoAsync(Ui("vm/vm-1").ToString());

        // Query is held: listing works; no Run button, no upload.
        await Assertions.Expect(page.Locator("#list")).ToBeVisibleAsync();
        Assert.AreEqual(0, await page.Locator("#run").CountAsync(), "a Query-only user sees no Run button");
        Assert.AreEqual(0, await page.Locator("#upload").CountAsync(), "a Query-only user sees no Upload button");
        await page.FillAsync("input[name=GuestUser]", "demo");
        await page.FillAsync("input[name=GuestPassword]", GuestServer.GuestPassword);
        await page.ClickAsync("#list");
        await Assertions.Expect(page.Locator("#listed-path")).ToHaveTextAsync("/tmp");

        // The Run form posted anyway, with this page's antiforgery token: refused by the authorizer, audited as denied.
        var token = await page.InputValueAsync("#guest-form input[name=__RequestVerificationToken]");
        var response = await page.APIRequest.PostAsync(Ui("vm/vm-1?handler=Run").ToString(), new APIRequestContextOptions
        {
            Form = FormOf(page, ("__RequestVerificationToken", token), ("GuestUser", "demo"), ("GuestPassword", GuestServer.GuestPassword), ("Path", "/tmp"), ("Command", "sh -c 'echo should-not-run'")),
        });
        var body = await response.TextAsync();
        Assert.AreEqual(403, response.Status, body);
        StringAssert.Contains(body, "NoPermission");
        Assert.IsFalse(body.Contains("should-not-run", StringComparison.Ordinal) && body.Contains("id=\"stdout\"", StringComparison.Ordinal), "nothing ran");

        using var root = NewClient(_guest.Server);
        await root.LoginOkAsync();
        var denied = (await AuthorizationSoap.QueryEventsAsync(root, user: Viewer))
            .Where(e => AuthorizationSoap.Text(e, "eventTypeId") == "com.guestops.guestOperations.GuestOperationDenied").ToList();
        Assert.IsTrue(denied.Count > 0, "the refused post is in the audit trail as denied");
        StringAssert.Contains(AuthorizationSoap.Argument(denied[0], "fault"), "NoPermission");

        // The page shows the refusal in its own events list too.
        await Assertions.Expect(page.Locator("#events tbody tr").Filter(new LocatorFilterOptions { HasText = "denied" }).First).ToContainTextAsync(Viewer);
        await ScreenshotAsync(page, "web-client-query-only.png");
    }

    [TestMethod]
    [Timeout(120_000)]
    public async Task WrongPassword_AndMissingAntiforgeryToken_AreRefused()
    {
        await using var context = await NewContextAsync();
        var page = await context.NewPageAsync();
        page.SetDefaultTimeout(Timeout);
        await page.GotoAsync(Ui("login").ToString());
        await page.FillAsync("input[name=username]", "root");
        await page.FillAsync("input[name=password]", "not-the-password");
        await page.ClickAsync("#sign-in");
        await Assertions.Expect(page.Locator("#login-error")).ToContainTextAsync("incorrect user name or password");
        Assert.AreEqual("/ui/login", new Uri(page.Url).AbsolutePath);
        Assert.IsFalse((await context.CookiesAsync()).Any(c => c.Name == "guestops_ui_session"), "no session for a wrong password");

        // Sign-in without the antiforgery token: refused before any login is tried.
        var login = await page.APIRequest.PostAsync(Ui("login").ToString(), new APIRequestContextOptions
        {
            Form = FormOf(page, ("username", "root"), ("password", ServerOptions.DefaultRootPassword)),
        });
        Assert.AreEqual(400, login.Status, await login.TextAsync());
        Assert.IsFalse((await context.CookiesAsync()).Any(c => c.Name == "guestops_ui_session"), "no session without the token");

        // A signed-in user's guest action without the token: refused, and nothing reaches the guest or the audit trail.
        var signedIn = await SignInAsync(context, "root", ServerOptions.DefaultRootPassword);
        var response = await signedIn.APIRequest.PostAsync(Ui("vm/vm-2?handler=List").ToString(), new APIRequestContextOptions
        {
            Form = FormOf(signedIn, ("GuestUser", "demo"), ("GuestPassword", GuestServer.GuestPassword), ("Path", "/csrf-probe")),
        });
        Assert.AreEqual(400, response.Status, await response.TextAsync());
        using var root = NewClient(_guest.Server);
        await root.LoginOkAsync();
        var probes = (await AuthorizationSoap.QueryEventsAsync(root, Moref.Vm("vm-2")))
            .Where(e => AuthorizationSoap.Argument(e, "filePath") == "/csrf-probe").ToList();
        Assert.AreEqual(0, probes.Count, "the refused post did not reach ListFilesInGuest");
    }

    [TestMethod]
    [Timeout(180_000)]
    public async Task Download_ListAndTerminateProcesses_ReadTheEnvironment()
    {
        await using var context = await NewContextAsync();
        var page = await SignInAsync(context, "root", ServerOptions.DefaultRootPassword);
        await page.GotoAsync(Ui("vm/vm-2").ToString());
        await page.FillAsync("input[name=GuestUser]", "demo");
        await page.FillAsync("input[name=GuestPassword]", GuestServer.GuestPassword);

        // Download /etc/hostname: an attachment named after the file, with the guest's content.
        await page.FillAsync("input[name=Path]", "/etc");
        await page.ClickAsync("#list");
        await Assertions.Expect(page.Locator("#listed-path")).ToHaveTextAsync("/etc");
        var row = page.Locator("#files tr", new PageLocatorOptions { Has = page.Locator("td.name:text-is('hostname')") });
        var download = await page.RunAndWaitForDownloadAsync(() => row.Locator("button.download").ClickAsync());
        Assert.AreEqual("hostname", download.SuggestedFilename);
        Assert.AreEqual("demo-vm-2\n", await File.ReadAllTextAsync((await download.PathAsync())!));

        // A long-running guest program (started through the typed client) shows in the process list and is terminated from the page.
        await using var typed = await ConnectAsync(_guest.Server);
        var guest = new GuestOpsClient(typed, "vm-2", "demo", GuestServer.GuestPassword);
        var pid = await guest.StartProgramOk("/bin/sleep", "300");
        await page.ClickAsync("#processes");
        var process = page.Locator("#process-list tr", new PageLocatorOptions { Has = page.Locator($"td.num:text-is('{pid}')") });
        await Assertions.Expect(process).ToContainTextAsync("sleep");
        await process.Locator("button[name=pid]").ClickAsync();
        await Assertions.Expect(page.Locator("#done")).ToHaveTextAsync($"Terminated process {pid}");
        var ended = await guest.WaitForExitAsync(pid, TimeSpan.FromSeconds(30));
        Assert.IsNotNull(ended.EndTime, ended.ToString());

        // The guest user's environment.
        await page.ClickAsync("#environment");
        await Assertions.Expect(page.Locator("#environment-list")).ToContainTextAsync("HOME=/home/demo");
    }

    private static IFormData FormOf(IPage page, params (string Name, string Value)[] fields)
    {
        var form = page.APIRequest.CreateFormData();
        foreach (var (name, value) in fields)
        {
            form.Set(name, value);
        }

        return form;
    }
}
