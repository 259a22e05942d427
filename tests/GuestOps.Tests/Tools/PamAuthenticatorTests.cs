using GuestOps.Tools.Auth;

namespace GuestOps.Tests.Tools;

/// <summary>
/// The real libpam in this process: after a check, the modules pam_start loaded stay loaded (pam_end would otherwise
/// unload them, and loading them again costs more than the check), so a long-running worker pays for them once.
/// </summary>
[TestClass]
public sealed class PamAuthenticatorTests
{
    [TestMethod]
    [Timeout(60_000, CooperativeCancellation = true)]
    public async Task AfterACheck_TheStacksModulesStayLoaded()
    {
        // A service without a file of its own falls back to /etc/pam.d/other; a user that does not exist is refused by it.
        using var pam = new PamAuthenticator("guestops-unit-test-no-such-service");
        var (result, detail) = await pam.AuthenticateAsync("guestops-no-such-user", "wrong", TestContext.CancellationToken);
        Assert.AreNotEqual(AuthenticationResult.Success, result, detail);

        var modules = File.ReadLines("/proc/self/maps")
            .Select(line => line.IndexOf('/', StringComparison.Ordinal) is var slash and >= 0 ? line[slash..] : "")
            .Where(path => path.Contains("/security/pam_", StringComparison.Ordinal))
            .Distinct()
            .ToList();
        Assert.IsNotEmpty(modules, "pam_end unloaded every module of the stack");
        TestContext.WriteLine(string.Join(Environment.NewLine, modules));

        // And a second check works with them in place.
        (result, detail) = await pam.AuthenticateAsync("guestops-no-such-user", "wrong", TestContext.CancellationToken);
        Assert.AreNotEqual(AuthenticationResult.Success, result, detail);
    }

    public TestContext TestContext { get; set; } = null!;
}
