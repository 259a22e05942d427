using System.Text;
using System.Xml.Linq;
using GuestOps.Soap;
using GuestOps.Vim;
using GuestOps.Vim.Contracts;
using Microsoft.Extensions.Logging.Abstractions;
using Moq;

namespace GuestOps.Tests.Soap;

[TestClass]
public sealed class SoapDispatcherTests
{
    private static readonly XNamespace Soapenv = VimNamespaces.SoapEnvelope;
    private static readonly XNamespace Vim = VimNamespaces.Vim25;
    private static readonly XNamespace Xsi = VimNamespaces.XmlSchemaInstance;
    private static readonly VimOperationCatalog Catalog = new(VimContracts.All);

    private readonly Mock<IManagedObjectResolver> _resolver = new();
    private readonly Mock<IVimCallAuthorizer> _authorizer = new();
    private readonly VimCallContext _calls = new();

    public SoapDispatcherTests()
    {
        _authorizer.Setup(a => a.AuthorizeAsync(It.IsAny<VimCall>())).Returns(ValueTask.CompletedTask);
    }

    [TestMethod]
    public async Task DispatchesByBodyElementAndWritesReturnval()
    {
        var target = new FakeServiceInstance();
        _resolver.Setup(r => r.Resolve(It.Is<ManagedObjectReference>(m => m.Value == "ServiceInstance"), It.IsAny<VimCall>())).Returns(target);

        var (status, xml) = await Dispatch("<RetrieveServiceContent xmlns=\"urn:vim25\"><_this type=\"ServiceInstance\">ServiceInstance</_this></RetrieveServiceContent>");

        Assert.AreEqual(200, status);
        var returnval = xml.Descendants(Vim + "RetrieveServiceContentResponse").Single().Element(Vim + "returnval")!;
        Assert.AreEqual("group-d1", returnval.Element(Vim + "rootFolder")!.Value);
        Assert.AreEqual("Folder", returnval.Element(Vim + "rootFolder")!.Attribute("type")!.Value);
    }

    [TestMethod]
    public async Task ArrayResultsRepeatReturnvalAndPolymorphicValuesCarryXsiType()
    {
        var target = new FakePropertyCollector();
        _resolver.Setup(r => r.Resolve(It.IsAny<ManagedObjectReference>(), It.IsAny<VimCall>())).Returns(target);

        var (status, xml) = await Dispatch("""
            <RetrieveProperties xmlns="urn:vim25" xmlns:XMLSchema-instance="http://www.w3.org/2001/XMLSchema-instance">
              <_this type="PropertyCollector">propertyCollector</_this>
              <specSet><propSet><type>VirtualMachine</type><all>0</all></propSet>
                <objectSet><obj type="Folder">group-d1</obj><skip>1</skip>
                  <selectSet XMLSchema-instance:type="TraversalSpec"><type>Folder</type><path>childEntity</path></selectSet>
                </objectSet></specSet>
            </RetrieveProperties>
            """);

        Assert.AreEqual(200, status);
        var spec = target.LastSpec!.Single();
        Assert.IsFalse(spec.propSet[0].all);
        Assert.IsTrue(spec.objectSet[0].skip);
        Assert.IsInstanceOfType<TraversalSpec>(spec.objectSet[0].selectSet![0]);
        var returnvals = xml.Descendants(Vim + "returnval").ToArray();
        Assert.HasCount(2, returnvals);
        var values = xml.Descendants(Vim + "val").ToArray();
        Assert.AreEqual("xsd:string", values[0].Attribute(Xsi + "type")!.Value);
        Assert.EndsWith("VirtualMachinePowerState", values[1].Attribute(Xsi + "type")!.Value);
        Assert.EndsWith("ArrayOfManagedObjectReference", values[2].Attribute(Xsi + "type")!.Value);
    }

    [TestMethod]
    public async Task FaultsNameTheDeclaredFaultAndCarryTheConcreteType()
    {
        var target = new FakeSessionManager();
        _resolver.Setup(r => r.Resolve(It.IsAny<ManagedObjectReference>(), It.IsAny<VimCall>())).Returns(target);

        var (status, xml) = await Dispatch("<Login xmlns=\"urn:vim25\"><_this type=\"SessionManager\">SessionManager</_this><userName>u</userName><password>p</password></Login>");

        Assert.AreEqual(500, status);
        var fault = xml.Descendants(Soapenv + "Fault").Single();
        Assert.AreEqual("ServerFaultCode", fault.Element("faultcode")!.Value);
        var detail = fault.Element("detail")!.Elements().Single();
        Assert.AreEqual(Vim + "InvalidLoginFault", detail.Name);
        Assert.EndsWith("InvalidLogin", detail.Attribute(Xsi + "type")!.Value);
    }

    [TestMethod]
    public async Task RuntimeFaultsUseRuntimeFaultFaultWhenNothingNarrowerIsDeclared()
    {
        _authorizer.Setup(a => a.AuthorizeAsync(It.IsAny<VimCall>()))
            .Throws(new VimFaultException(new NotAuthenticated { @object = new("SessionManager", "SessionManager"), privilegeId = "System.View" }, "not authenticated"));

        var (status, xml) = await Dispatch("<Logout xmlns=\"urn:vim25\"><_this type=\"SessionManager\">SessionManager</_this></Logout>");

        Assert.AreEqual(500, status);
        var detail = xml.Descendants("detail").Single().Elements().Single();
        Assert.AreEqual(Vim + "RuntimeFaultFault", detail.Name);
        Assert.EndsWith("NotAuthenticated", detail.Attribute(Xsi + "type")!.Value);
        Assert.AreEqual("System.View", detail.Element(Vim + "privilegeId")!.Value);
    }

    [TestMethod]
    public async Task UnknownOperationIsMethodNotFound()
    {
        var (status, xml) = await Dispatch("<Frobnicate xmlns=\"urn:vim25\"><_this type=\"ServiceInstance\">ServiceInstance</_this></Frobnicate>");

        Assert.AreEqual(500, status);
        var detail = xml.Descendants("detail").Single().Elements().Single();
        Assert.EndsWith("MethodNotFound", detail.Attribute(Xsi + "type")!.Value);
        Assert.AreEqual("Frobnicate", detail.Element(Vim + "method")!.Value);
        Assert.AreEqual("ServiceInstance", detail.Element(Vim + "receiver")!.Value);
    }

    [TestMethod]
    public async Task UnknownThisIsManagedObjectNotFound()
    {
        _resolver.Setup(r => r.Resolve(It.IsAny<ManagedObjectReference>(), It.IsAny<VimCall>())).Returns((object?)null);

        var (status, xml) = await Dispatch("<RetrieveServiceContent xmlns=\"urn:vim25\"><_this type=\"ServiceInstance\">nope</_this></RetrieveServiceContent>");

        Assert.AreEqual(500, status);
        Assert.EndsWith("ManagedObjectNotFound", xml.Descendants("detail").Single().Elements().Single().Attribute(Xsi + "type")!.Value);
    }

    [TestMethod]
    [DataRow("<Envelope")]
    [DataRow("<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]><soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\"><soapenv:Body><RetrieveServiceContent xmlns=\"urn:vim25\"><_this type=\"ServiceInstance\">&e;</_this></RetrieveServiceContent></soapenv:Body></soapenv:Envelope>")]
    [DataRow("<x/>")]
    [DataRow("<soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\"><soapenv:Body/></soapenv:Envelope>")]
    public async Task UnreadableRequestsAreInvalidRequest(string request)
    {
        var (status, xml) = await DispatchRaw(request);

        Assert.AreEqual(500, status);
        Assert.EndsWith("InvalidRequest", xml.Descendants("detail").Single().Elements().Single().Attribute(Xsi + "type")!.Value);
        Assert.DoesNotContain("root:", xml.ToString());
    }

    [TestMethod]
    public async Task DeepNestingIsRefusedWithoutRecursing()
    {
        var deep = string.Concat(Enumerable.Repeat("<selectSet>", 10_000)) + string.Concat(Enumerable.Repeat("</selectSet>", 10_000));
        var (status, xml) = await Dispatch($"<RetrieveProperties xmlns=\"urn:vim25\"><_this type=\"PropertyCollector\">propertyCollector</_this><specSet>{deep}</specSet></RetrieveProperties>");

        Assert.AreEqual(500, status);
        Assert.EndsWith("InvalidRequest", xml.Descendants("detail").Single().Elements().Single().Attribute(Xsi + "type")!.Value);
    }

    [TestMethod]
    public async Task UnknownXsiTypeIsInvalidRequest()
    {
        var (status, xml) = await Dispatch("<RetrieveProperties xmlns=\"urn:vim25\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"><_this type=\"PropertyCollector\">propertyCollector</_this><specSet><objectSet><obj type=\"Folder\">f</obj><selectSet xsi:type=\"NoSuchSpec\"/></objectSet></specSet></RetrieveProperties>");

        Assert.AreEqual(500, status);
        Assert.EndsWith("InvalidRequest", xml.Descendants("detail").Single().Elements().Single().Attribute(Xsi + "type")!.Value);
    }

    [TestMethod]
    public async Task MissingRequiredParameterIsInvalidArgument()
    {
        _resolver.Setup(r => r.Resolve(It.IsAny<ManagedObjectReference>(), It.IsAny<VimCall>())).Returns(new FakeSessionManager());

        var (status, xml) = await Dispatch("<Login xmlns=\"urn:vim25\"><_this type=\"SessionManager\">SessionManager</_this><password>p</password></Login>");

        Assert.AreEqual(500, status);
        var detail = xml.Descendants("detail").Single().Elements().Single();
        Assert.EndsWith("InvalidArgument", detail.Attribute(Xsi + "type")!.Value);
        Assert.AreEqual("userName", detail.Element(Vim + "invalidProperty")!.Value);
    }

    [TestMethod]
    public async Task TheImplementationReadsItsCallFromTheCallContext_OnlyWhileItRuns()
    {
        var target = new FakeSessionManager(_calls);
        _resolver.Setup(r => r.Resolve(It.IsAny<ManagedObjectReference>(), It.IsAny<VimCall>())).Returns(target);

        var (status, _) = await Dispatch("<Logout xmlns=\"urn:vim25\"><_this type=\"SessionManager\">SessionManager</_this></Logout>");

        Assert.AreEqual(200, status);
        Assert.AreEqual("Logout", target.LoggedOut!.Operation.Name);
        Assert.AreEqual("127.0.0.1", target.LoggedOut.Request.ClientAddress);
        Assert.ThrowsExactly<InvalidOperationException>(() => _calls.Current);
    }

    [TestMethod]
    public async Task AnObjectWithoutTheMethodIsMethodNotFound()
    {
        _resolver.Setup(r => r.Resolve(It.IsAny<ManagedObjectReference>(), It.IsAny<VimCall>())).Returns(new FakeServiceInstance());

        var (status, xml) = await Dispatch("<Logout xmlns=\"urn:vim25\"><_this type=\"ServiceInstance\">ServiceInstance</_this></Logout>");

        Assert.AreEqual(500, status);
        Assert.EndsWith("MethodNotFound", xml.Descendants("detail").Single().Elements().Single().Attribute(Xsi + "type")!.Value);
    }

    [TestMethod]
    public void EveryContractOperationDeclaresAPrivilegeAndBuildsSerializers()
    {
        Assert.IsGreaterThan(10, Catalog.Operations.Count);
        foreach (var operation in Catalog.Operations)
        {
            Assert.IsFalse(string.IsNullOrEmpty(operation.Privilege), operation.Name);
            Assert.AreEqual("_this", operation.Parameters[0].Name, operation.Name);
        }
    }

    [TestMethod]
    [DataRow("\u0001")]
    [DataRow("\u001F")]
    [DataRow("\uFFFF")]
    [DataRow("&#xD800;'")]
    public async Task AnInvalidCharacterQuotedInTheFaultMessage_StillGivesAWellFormedInvalidRequest(string bad)
    {
        // Found by the fuzzer (issue 9): the XmlException's message names the character, and writing it threw.
        var (status, xml) = await DispatchRaw($"<soapenv:Envelope xmlns:soapenv=\"{VimNamespaces.SoapEnvelope}\"><soapenv:Body><RetrieveServiceContent xmlns=\"urn:vim25\"><_this type=\"ServiceInstance\">Service{bad}Instance</_this></RetrieveServiceContent></soapenv:Body></soapenv:Envelope>");
        Assert.AreEqual(500, status);
        var detail = xml.Descendants("detail").Single().Elements().Single();
        Assert.EndsWith("InvalidRequest", detail.Attribute(Xsi + "type")!.Value);
        StringAssert.Contains(xml.Descendants("faultstring").Single().Value, "invalid");
    }

    [TestMethod]
    public async Task AMissingRequiredValueParameter_IsInvalidArgument_NotZero()
    {
        var (status, xml) = await Dispatch("<FindByDnsName xmlns=\"urn:vim25\"><_this type=\"SearchIndex\">SearchIndex</_this><dnsName>x</dnsName></FindByDnsName>");
        Assert.AreEqual(500, status);
        var detail = xml.Descendants("detail").Single().Elements().Single();
        Assert.EndsWith("InvalidArgument", detail.Attribute(Xsi + "type")!.Value);
        Assert.AreEqual("vmSearch", detail.Element(Vim + "invalidProperty")!.Value);
    }

    private Task<(int, XDocument)> Dispatch(string bodyContent) => DispatchRaw(
        $"<soapenv:Envelope xmlns:soapenv=\"{VimNamespaces.SoapEnvelope}\"><soapenv:Body>{bodyContent}</soapenv:Body></soapenv:Envelope>");

    private async Task<(int, XDocument)> DispatchRaw(string envelope)
    {
        var dispatcher = new SoapDispatcher(Catalog, [typeof(FakeServiceInstance), typeof(FakePropertyCollector), typeof(FakeSessionManager)], _calls,
            _resolver.Object, _authorizer.Object, NullLogger<SoapDispatcher>.Instance);
        using var request = new MemoryStream(Encoding.UTF8.GetBytes(envelope));
        using var response = new MemoryStream();
        var result = await dispatcher.DispatchAsync(request, new SoapRequestInfo(null, "127.0.0.1", "test"), response, CancellationToken.None);
        response.Position = 0;
        return (result.StatusCode, XDocument.Load(response));
    }

    public sealed class FakeServiceInstance : IServiceInstance
    {
        public Task<ServiceContent> RetrieveServiceContentAsync(ManagedObjectReference _this) => Task.FromResult(new ServiceContent
        {
            rootFolder = new ManagedObjectReference("Folder", "group-d1"),
            propertyCollector = new ManagedObjectReference("PropertyCollector", "propertyCollector"),
        });

        public Task<DateTime> CurrentTimeAsync(ManagedObjectReference _this) => throw new NotSupportedException();
    }

    public sealed class FakePropertyCollector : IPropertyCollector
    {
        public PropertyFilterSpec[]? LastSpec { get; private set; }

        public Task<ObjectContent[]> RetrievePropertiesAsync(ManagedObjectReference _this, PropertyFilterSpec[] specSet)
        {
            LastSpec = specSet;
            var vm = new ManagedObjectReference("VirtualMachine", "vm-1");
            return Task.FromResult<ObjectContent[]>(
            [
                new ObjectContent
                {
                    obj = vm,
                    propSet =
                    [
                        new DynamicProperty { name = "name", val = "demo" },
                        new DynamicProperty { name = "runtime.powerState", val = VirtualMachinePowerState.PoweredOn },
                    ],
                },
                new ObjectContent
                {
                    obj = new ManagedObjectReference("Folder", "group-d1"),
                    propSet = [new DynamicProperty { name = "childEntity", val = new ArrayOfManagedObjectReference { ManagedObjectReference = [vm] } }],
                },
            ]);
        }

        public Task<RetrieveResult?> RetrievePropertiesExAsync(ManagedObjectReference _this, PropertyFilterSpec[] specSet, RetrieveOptions options) => throw new NotSupportedException();

        public Task<RetrieveResult> ContinueRetrievePropertiesExAsync(ManagedObjectReference _this, string token) => throw new NotSupportedException();

        public Task CancelRetrievePropertiesExAsync(ManagedObjectReference _this, string token) => throw new NotSupportedException();

        public Task<ManagedObjectReference> CreateFilterAsync(ManagedObjectReference _this, PropertyFilterSpec spec, bool partialUpdates) => throw new NotSupportedException();

        public Task<UpdateSet?> WaitForUpdatesExAsync(ManagedObjectReference _this, string? version, WaitOptions? options) => throw new NotSupportedException();

        public Task<UpdateSet?> CheckForUpdatesAsync(ManagedObjectReference _this, string? version) => throw new NotSupportedException();

        public Task<UpdateSet> WaitForUpdatesAsync(ManagedObjectReference _this, string? version) => throw new NotSupportedException();

        public Task CancelWaitForUpdatesAsync(ManagedObjectReference _this) => throw new NotSupportedException();
    }

    /// <summary>Refuses every login; Logout records the call it ran for, read from <paramref name="calls"/>.</summary>
    public sealed class FakeSessionManager(IVimCallContext? calls = null) : ISessionManager
    {
        public VimCall? LoggedOut { get; private set; }

        public Task<UserSession> LoginAsync(ManagedObjectReference _this, string userName, string password, string? locale) =>
            throw new VimFaultException(new InvalidLogin(), "Cannot complete login due to an incorrect user name or password.");

        public Task LogoutAsync(ManagedObjectReference _this)
        {
            LoggedOut = calls?.Current;
            return Task.CompletedTask;
        }

        public Task<bool> SessionIsActiveAsync(ManagedObjectReference _this, string sessionID, string userName) => throw new NotSupportedException();
    }
}
