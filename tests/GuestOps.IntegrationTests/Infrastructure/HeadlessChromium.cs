using Microsoft.Playwright;

namespace GuestOps.IntegrationTests.Infrastructure;

/// <summary>
/// Debian's Chromium, headless, driven by Playwright (its own browser download cannot be used here): the browser
/// tests' one way to start a browser. Without /usr/bin/chromium they fail, naming the packages to install.
/// </summary>
public static class HeadlessChromium
{
    public const string ExecutablePath = "/usr/bin/chromium";

    /// <summary>Flags for Chromium as root on a machine without a network: no sandbox (root), no GPU, no background
    /// connections, no first-run or component updates. Playwright adds --headless and a fresh --user-data-dir.</summary>
    private static readonly string[] Flags =
    [
        "--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
    ];

    public static async Task<(IPlaywright Playwright, IBrowser Browser)> LaunchAsync()
    {
        if (!File.Exists(ExecutablePath))
        {
            throw new AssertFailedException($"The browser tests need Debian's Chromium at {ExecutablePath}: apt-get install chromium chromium-driver (.ci/run installs them).");
        }

        var playwright = await Playwright.CreateAsync();
        try
        {
            var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
            {
                ExecutablePath = ExecutablePath,
                Headless = true,
                Args = Flags,
                Timeout = 60_000,
            });
            return (playwright, browser);
        }
        catch
        {
            playwright.Dispose();
            throw;
        }
    }
}
