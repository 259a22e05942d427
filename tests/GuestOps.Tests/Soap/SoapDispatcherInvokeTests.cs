using GuestOps.Soap;
using GuestOps.Vim;
using GuestOps.Vim.Contracts;
using Microsoft.Extensions.Logging.Abstractions;
using Moq;

namespace GuestOps.Tests.Soap;

/// <summary>SoapDispatcher.InvokeAsync, the in-process way other front ends (the web client) call vim operations:
/// the same authorizer, managed object and observer as a SOAP request.</summary>
[TestClass]
public sealed class SoapDispatcherInvokeTests
{
    private static readonly VimOperationCatalog Catalog = new(VimContracts.All);
    private static readonly ManagedObjectReference SessionManagerRef = new("SessionManager", "SessionManager");
    private static readonly ManagedObjectReference ServiceInstanceRef = new("ServiceInstance", "ServiceInstance");
    private static readonly SoapRequestInfo Request = new("session-key", "127.0.0.1", "browser");

    private readonly Mock<IManagedObjectResolver> _resolver = new();
    private readonly Mock<IVimCallAuthorizer> _authorizer = new();
    private readonly RecordingObserver _observer = new();

    private SoapDispatcher Dispatcher() => new(
        Catalog,
        [typeof(SoapDispatcherTests.FakeServiceInstance), typeof(SoapDispatcherTests.FakeSessionManager)],
        new VimCallContext(),
        _resolver.Object,
        _authorizer.Object,
        NullLogger<SoapDispatcher>.Instance,
        observer: _observer);

    [TestMethod]
    public async Task RunsTheAuthorizerThenTheMethod_AndTellsTheObserver()
    {
        VimCall? authorized = null;
        _authorizer.Setup(a => a.AuthorizeAsync(It.IsAny<VimCall>())).Callback<VimCall>(c => authorized = c).Returns(ValueTask.CompletedTask);
        _resolver.Setup(r => r.Resolve(ServiceInstanceRef, It.IsAny<VimCall>())).Returns(new SoapDispatcherTests.FakeServiceInstance());

        var invocation = await Dispatcher().InvokeAsync("RetrieveServiceContent", [ServiceInstanceRef], Request, CancellationToken.None);

        Assert.AreEqual("group-d1", ((ServiceContent)invocation.Result!).rootFolder.Value);
        Assert.IsNotNull(authorized);
        Assert.AreEqual("session-key", authorized.Request.SessionKey);
        Assert.AreEqual("RetrieveServiceContent", _observer.Calls.Single().Call.Operation.Name);
        Assert.IsNull(_observer.Calls.Single().Fault);
    }

    [TestMethod]
    public async Task ARefusalOfTheAuthorizer_IsThrown_NeverReachesTheObject_AndIsObserved()
    {
        _authorizer.Setup(a => a.AuthorizeAsync(It.IsAny<VimCall>()))
            .Throws(new VimFaultException(new NoPermission { privilegeId = Privileges.GuestOperationsExecute }, "denied"));

        var e = await Assert.ThrowsExactlyAsync<VimFaultException>(() => Dispatcher().InvokeAsync("RetrieveServiceContent", [ServiceInstanceRef], Request, CancellationToken.None));

        Assert.IsInstanceOfType<NoPermission>(e.Fault);
        _resolver.Verify(r => r.Resolve(It.IsAny<ManagedObjectReference>(), It.IsAny<VimCall>()), Times.Never);
        Assert.IsInstanceOfType<NoPermission>(_observer.Calls.Single().Fault);
    }

    [TestMethod]
    public async Task AFaultOfTheMethod_IsThrownAfterTheObserverSawIt()
    {
        _authorizer.Setup(a => a.AuthorizeAsync(It.IsAny<VimCall>())).Returns(ValueTask.CompletedTask);
        _resolver.Setup(r => r.Resolve(SessionManagerRef, It.IsAny<VimCall>())).Returns(new SoapDispatcherTests.FakeSessionManager());

        var e = await Assert.ThrowsExactlyAsync<VimFaultException>(() => Dispatcher().InvokeAsync("Login", [SessionManagerRef, "u", "p", null], Request, CancellationToken.None));

        Assert.IsInstanceOfType<InvalidLogin>(e.Fault);
        Assert.IsInstanceOfType<InvalidLogin>(_observer.Calls.Single().Fault);
    }

    [TestMethod]
    public async Task AMissingRequiredParameter_IsInvalidArgument_AsOnTheWire()
    {
        _authorizer.Setup(a => a.AuthorizeAsync(It.IsAny<VimCall>())).Returns(ValueTask.CompletedTask);

        var e = await Assert.ThrowsExactlyAsync<VimFaultException>(() => Dispatcher().InvokeAsync("Login", [SessionManagerRef, null, "p", null], Request, CancellationToken.None));

        Assert.AreEqual("userName", ((InvalidArgument)e.Fault).invalidProperty);
        _resolver.Verify(r => r.Resolve(It.IsAny<ManagedObjectReference>(), It.IsAny<VimCall>()), Times.Never);
    }

    [TestMethod]
    public async Task UnknownOperationsAndWrongArgumentCounts_AreProgrammingErrors()
    {
        await Assert.ThrowsExactlyAsync<ArgumentException>(() => Dispatcher().InvokeAsync("NoSuchMethod", [ServiceInstanceRef], Request, CancellationToken.None));
        await Assert.ThrowsExactlyAsync<ArgumentException>(() => Dispatcher().InvokeAsync("Login", [SessionManagerRef, "u"], Request, CancellationToken.None));
        Assert.IsEmpty(_observer.Calls);
    }

    private sealed class RecordingObserver : IVimCallObserver
    {
        public List<(VimCall Call, MethodFault? Fault)> Calls { get; } = [];

        public void Completed(VimCall call, MethodFault? fault) => Calls.Add((call, fault));
    }
}
