using GuestOps.Server.Hosting;
using GuestOps.Host.Authorization;
using GuestOps.Host.Sessions;
using GuestOps.Vim;

namespace GuestOps.Tests.Server;

/// <summary><c>GuestOps.Server user|group|role|permission</c> (bootstrapping without SOAP) and the bounded event history.</summary>
[TestClass]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class AccountCommandsTests
{
    private string _state = null!;

    [TestInitialize]
    public void Init() => _state = Directory.CreateTempSubdirectory("guestops-accounts-").FullName;

    [TestCleanup]
    public void Cleanup() => Directory.Delete(_state, recursive: true);

    [TestMethod]
    public void UserRoleAndPermission_AreWrittenWhereTheServerReadsThem()
    {
        Assert.AreEqual(0, Run("S3cret-pw\n", "user", "add", "alice", "--password-stdin", "--description", "Alice").Code);
        Assert.AreEqual(0, Run(null, "group", "add", "ops").Code);
        Assert.AreEqual(0, Run(null, "group", "add-member", "ops", "alice").Code);
        var (code, stdout, stderr) = Run(null, "role", "add", "readers", "--privilege", "VirtualMachine.GuestOperations.Query");
        Assert.AreEqual(0, code, stderr);
        StringAssert.Contains(stdout, "id 10");
        (code, _, stderr) = Run(null, "permission", "set", "--principal", "alice", "--role", "readers", "--entity", "demo-vm-2", "--no-propagate");
        Assert.AreEqual(0, code, stderr);
        (code, _, stderr) = Run(null, "permission", "set", "--principal", "ops", "--group", "--role", "ReadOnly", "--entity", "folder-3");
        Assert.AreEqual(0, code, stderr);

        var users = new UserStore(_state);
        Assert.IsNotNull(users.Verify("alice", "S3cret-pw"));
        CollectionAssert.AreEqual(new[] { "ops" }, users.GroupsOf("alice").ToArray());
        var store = new AuthorizationStore(_state, users);
        Assert.IsTrue(store.Current.Permissions.Any(p => p.Principal == "alice" && p.EntityType == "VirtualMachine" && p.EntityId == "vm-2" && p.RoleId == 10 && !p.Propagate));
        Assert.IsTrue(store.Current.Permissions.Any(p => p.Principal == "ops" && p.Group && p.EntityId == "folder-3" && p.RoleId == AuthorizationStore.ReadOnlyRoleId));
        Assert.IsTrue(store.Current.Permissions.Any(p => p.Principal == "root" && p.RoleId == AuthorizationStore.AdminRoleId), "root keeps Admin on the root folder");
        Assert.DoesNotContain("S3cret-pw", File.ReadAllText(Path.Combine(_state, "users.json")));
        Assert.AreEqual(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(_state, AuthorizationStore.FileName)));
    }

    [TestMethod]
    public void FirstCommandOnAFreshStateDirectory_CreatesRoot_AsTheServerWould_AndPrintsItsPassword()
    {
        var (code, stdout, stderr) = Run("S3cret-pw\n", "user", "add", "alice", "--password-stdin");
        Assert.AreEqual(0, code, stderr);

        var printed = System.Text.RegularExpressions.Regex.Match(stdout, "Created vSphere user 'root' with password: (\\S+)");
        Assert.IsTrue(printed.Success, stdout);
        var users = new UserStore(_state);
        Assert.IsNotNull(users.Verify("root", printed.Groups[1].Value), "root can log in with the printed password");
        var store = new AuthorizationStore(_state, users);
        Assert.IsTrue(store.Current.Permissions.Any(p => p.Principal == "root" && p.RoleId == AuthorizationStore.AdminRoleId));

        // Later commands (and the server's start) leave the users alone: no second root, no new password.
        (code, stdout, _) = Run(null, "user", "list");
        Assert.AreEqual(0, code);
        Assert.DoesNotContain("Created vSphere user", stdout);
        Assert.IsNotNull(new UserStore(_state).Verify("root", printed.Groups[1].Value));
    }

    [TestMethod]
    public void Refusals_UnknownPrincipalOrRole_LastAdmin_DuplicateUser()
    {
        Assert.AreEqual(0, Run("pw\n", "user", "add", "bob", "--password-stdin").Code);
        Assert.AreEqual(1, Run("pw\n", "user", "add", "bob", "--password-stdin").Code);
        Assert.AreEqual(1, Run(null, "permission", "set", "--principal", "ghost", "--role", "Admin", "--entity", "root").Code);
        Assert.AreEqual(2, Run(null, "permission", "set", "--principal", "bob", "--role", "NoSuchRole", "--entity", "root").Code);
        var (code, _, stderr) = Run(null, "permission", "remove", "--principal", "root", "--entity", "root");
        Assert.AreEqual(1, code);
        StringAssert.Contains(stderr, "Admin");
        Assert.AreEqual(2, Run(null, "user", "add", "carol").Code, "a password is required");
    }

    private (int Code, string Stdout, string Stderr) Run(string? stdin, params string[] args)
    {
        var all = new List<string>(args) { "--state-dir", _state };
        using var input = new StringReader(stdin ?? "");
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var code = new ServerCommandLine(input, stdout, stderr, (_, _) => throw new AssertFailedException("an account command must not run the server"))
            .InvokeAsync(all).GetAwaiter().GetResult();
        return (code, stdout.ToString(), stderr.ToString());
    }
}
