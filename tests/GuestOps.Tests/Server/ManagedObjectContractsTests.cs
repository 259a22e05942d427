using GuestOps.Server.ManagedObjects;
using GuestOps.Vim.Contracts;

namespace GuestOps.Tests.Server;

/// <summary>The managed objects implement the vim25 service contracts, which the dispatcher binds operations to: a
/// contract no managed object implements would answer every call of its operations with MethodNotFound.</summary>
[TestClass]
public sealed class ManagedObjectContractsTests
{
    [TestMethod]
    public void EveryServiceContractHasAManagedObjectThatImplementsIt()
    {
        var unimplemented = VimContracts.All
            .Where(contract => !Inventory.ManagedObjectTypes.Any(contract.IsAssignableFrom))
            .Select(contract => contract.Name)
            .ToArray();

        Assert.IsEmpty(unimplemented, "Not implemented by any managed object: " + string.Join(", ", unimplemented));
    }
}
