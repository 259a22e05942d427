using System.Reflection;
using GuestOps.Channel.Messages;
using GuestOps.Vim;
using GuestOps.Vim.Contracts;

namespace GuestOps.Tests.Channel;

/// <summary>The guest methods' definitions agree with the vim25 contracts they serve.</summary>
[TestClass]
public sealed class GuestMethodsTests
{
    /// <summary>Guest methods that are not vim25 operations: the data legs of a file transfer (HTTP PUT and GET of the
    /// URL that InitiateFileTransferToGuest / InitiateFileTransferFromGuest return).</summary>
    private static readonly string[] DataLegs = ["FileTransferToGuest", "FileTransferFromGuest"];

    private static readonly Dictionary<string, string> ContractPrivileges = new[] { typeof(IGuestAuthManager), typeof(IGuestFileManager), typeof(IGuestProcessManager) }
        .SelectMany(contract => contract.GetMethods())
        .Where(m => m.GetCustomAttribute<VimPrivilegeAttribute>() is not null)
        .ToDictionary(m => m.Name[..^"Async".Length], m => m.GetCustomAttribute<VimPrivilegeAttribute>()!.PrivilegeId);

    [TestMethod]
    public void EveryGuestMethod_IsAVim25Operation_WithTheSamePrivilege()
    {
        foreach (var method in GuestMethods.All.Where(m => !DataLegs.Contains(m.Name)))
        {
            Assert.IsTrue(ContractPrivileges.TryGetValue(method.Name, out var privilege), $"{method.Name} is not a vim25 guest operation");
            Assert.AreEqual($"VirtualMachine.GuestOperations.{method.Privilege}", privilege, method.Name);
        }
    }

    [TestMethod]
    public void EveryVim25GuestOperation_OnFilesProcessesAndAuthentication_IsAGuestMethod()
    {
        var missing = ContractPrivileges.Keys.Where(name => GuestMethods.Find(name) is null).ToList();
        Assert.IsEmpty(missing, string.Join(", ", missing));
    }

    [TestMethod]
    public void Find_KnowsEveryMethod_ByItsExactName()
    {
        foreach (var method in GuestMethods.All)
        {
            Assert.AreSame(method, GuestMethods.Find(method.Name));
            Assert.AreEqual("op:" + method.Name, method.Capability);
        }

        Assert.IsNull(GuestMethods.Find("listFilesInGuest"), "names are case-sensitive, as on the wire");
        Assert.HasCount(20, GuestMethods.All);
    }
}
