using System.Xml.Linq;
using System.Xml.Schema;

namespace GuestOps.IntegrationTests.Schema;

/// <summary>
/// Proves that <see cref="VimSchemas"/> accepts well-formed vim25 messages, rejects broken ones,
/// and that the project's own wsdl/ stays in line with VMware's 5.x vim25 WSDL. The tests named
/// <c>..._AgainstVmware5x</c> / <c>...Vmware5x...</c> need VMware's WSDL (not in the repository) and are Inconclusive
/// without it; every other test checks against our wsdl/ alone when VMware's is absent.
/// </summary>
[TestClass]
public sealed class VimSchemasTests
{
    private static VimSchemas Schemas => VimSchemas.Shared;

    // ------------------------------------------------------------------------------------
    // Messages that must pass
    // ------------------------------------------------------------------------------------

    [TestMethod]
    public void ServiceContent_Passes()
    {
        var xml = Envelope("""
            <RetrieveServiceContentResponse xmlns="urn:vim25">
              <returnval>
                <rootFolder type="Folder">group-d1</rootFolder>
                <propertyCollector type="PropertyCollector">propertyCollector</propertyCollector>
                <viewManager type="ViewManager">ViewManager</viewManager>
                <about>
                  <name>VMware ESXi</name>
                  <fullName>VMware ESXi 8.0.3 build-24022510</fullName>
                  <vendor>VMware, Inc.</vendor>
                  <version>8.0.3</version>
                  <build>24022510</build>
                  <localeVersion>INTL</localeVersion>
                  <localeBuild>000</localeBuild>
                  <osType>vmnix-x86</osType>
                  <productLineId>embeddedEsx</productLineId>
                  <apiType>HostAgent</apiType>
                  <apiVersion>8.0.3.0</apiVersion>
                  <instanceUuid>5c3d6ae2-6d9e-4b4e-9f07-0c1d2e3f4a5b</instanceUuid>
                </about>
                <sessionManager type="SessionManager">SessionManager</sessionManager>
                <searchIndex type="SearchIndex">SearchIndex</searchIndex>
                <guestOperationsManager type="GuestOperationsManager">guestOperationsManager</guestOperationsManager>
              </returnval>
            </RetrieveServiceContentResponse>
            """);

        AssertNoIssues(Schemas.ValidateResponse(xml));
    }

    [TestMethod]
    public void RetrievePropertiesEx_WithPrimitiveEnumAndArrayValues_Passes()
    {
        var xml = Envelope("""
            <RetrievePropertiesExResponse xmlns="urn:vim25">
              <returnval>
                <objects>
                  <obj type="VirtualMachine">vm-42</obj>
                  <propSet>
                    <name>guest.toolsRunningStatus</name>
                    <val xsi:type="xsd:string">guestToolsRunning</val>
                  </propSet>
                  <propSet>
                    <name>guest.guestOperationsReady</name>
                    <val xsi:type="xsd:boolean">true</val>
                  </propSet>
                  <propSet>
                    <name>runtime.powerState</name>
                    <val xsi:type="VirtualMachinePowerState">poweredOn</val>
                  </propSet>
                </objects>
                <objects>
                  <obj type="Folder">group-d1</obj>
                  <propSet>
                    <name>childEntity</name>
                    <val xsi:type="ArrayOfManagedObjectReference">
                      <ManagedObjectReference type="Datacenter" xsi:type="ManagedObjectReference">datacenter-2</ManagedObjectReference>
                    </val>
                  </propSet>
                  <propSet>
                    <name>childType</name>
                    <val xsi:type="ArrayOfString"><string>Folder</string><string>Datacenter</string></val>
                  </propSet>
                </objects>
              </returnval>
            </RetrievePropertiesExResponse>
            """);

        AssertNoIssues(Schemas.ValidateResponse(xml));
    }

    [TestMethod]
    public void RetrievePropertiesEx_WithGuestInfoValue_Passes_IncludingPost5xField()
    {
        var xml = Envelope(PropertyValue("guest", """
            <val xsi:type="GuestInfo">
              <toolsStatus>toolsOk</toolsStatus>
              <toolsVersionStatus>guestToolsUnmanaged</toolsVersionStatus>
              <toolsVersionStatus2>guestToolsUnmanaged</toolsVersionStatus2>
              <toolsRunningStatus>guestToolsRunning</toolsRunningStatus>
              <toolsVersion>12389</toolsVersion>
              <toolsInstallType>guestToolsTypeOpenVMTools</toolsInstallType>
              <guestId>ubuntu64Guest</guestId>
              <guestFamily>linuxGuest</guestFamily>
              <guestFullName>Ubuntu Linux (64-bit)</guestFullName>
              <hostName>web-01</hostName>
              <ipAddress>192.0.2.20</ipAddress>
              <guestState>running</guestState>
              <guestOperationsReady>true</guestOperationsReady>
              <interactiveGuestOperationsReady>false</interactiveGuestOperationsReady>
            </val>
            """));

        AssertNoIssues(Schemas.ValidateResponse(xml));
    }

    [TestMethod]
    public void InvalidLoginFault_Passes()
    {
        var xml = Envelope("""
            <soapenv:Fault>
              <faultcode>ServerFaultCode</faultcode>
              <faultstring>Cannot complete login due to an incorrect user name or password.</faultstring>
              <detail>
                <InvalidLoginFault xmlns="urn:vim25" xsi:type="InvalidLogin"/>
              </detail>
            </soapenv:Fault>
            """);

        AssertNoIssues(Schemas.ValidateResponse(xml));
    }

    [TestMethod]
    public void NotAuthenticatedUnderRuntimeFaultFault_Passes()
    {
        var xml = Envelope(Fault("""
            <RuntimeFaultFault xmlns="urn:vim25" xsi:type="NotAuthenticated">
              <object type="GuestProcessManager">guestOperationsProcessManager</object>
              <privilegeId>System.View</privilegeId>
            </RuntimeFaultFault>
            """));

        AssertNoIssues(Schemas.ValidateResponse(xml));
    }

    [TestMethod]
    public void GuestOperationFaults_UnderDeclaredElements_Pass()
    {
        string[] details =
        [
            """<GuestOperationsFaultFault xmlns="urn:vim25" xsi:type="InvalidGuestLogin"/>""",
            """<GuestOperationsFaultFault xmlns="urn:vim25" xsi:type="GuestProcessNotFound"><pid>4711</pid></GuestOperationsFaultFault>""",
            """<FileFaultFault xmlns="urn:vim25" xsi:type="FileNotFound"><file>/tmp/missing.txt</file></FileFaultFault>""",
            """<InvalidStateFault xmlns="urn:vim25" xsi:type="InvalidPowerState"><requestedState>poweredOn</requestedState><existingState>poweredOff</existingState></InvalidStateFault>""",
            """
            <GuestOperationsFaultFault xmlns="urn:vim25" xsi:type="GuestAuthenticationChallenge">
              <serverChallenge xsi:type="SSPIAuthentication">
                <interactiveSession>false</interactiveSession>
                <sspiToken>TlRMTVNTUAACAAAA</sspiToken>
              </serverChallenge>
              <sessionID>7</sessionID>
            </GuestOperationsFaultFault>
            """,
        ];

        foreach (var detail in details)
        {
            AssertNoIssues(Schemas.ValidateResponse(Envelope(Fault(detail))));
        }
    }

    [TestMethod]
    public void GuestOperationResponses_Pass()
    {
        string[] bodies =
        [
            """<StartProgramInGuestResponse xmlns="urn:vim25"><returnval>2817</returnval></StartProgramInGuestResponse>""",
            """<MakeDirectoryInGuestResponse xmlns="urn:vim25"/>""",
            """
            <ListProcessesInGuestResponse xmlns="urn:vim25">
              <returnval>
                <name>/bin/sh</name><pid>2817</pid><owner>ops</owner>
                <cmdLine>"/bin/sh" -c "uname -a"</cmdLine>
                <startTime>2024-05-01T10:20:30Z</startTime>
                <endTime>2024-05-01T10:20:31Z</endTime>
                <exitCode>0</exitCode>
              </returnval>
            </ListProcessesInGuestResponse>
            """,
            """
            <ListFilesInGuestResponse xmlns="urn:vim25">
              <returnval>
                <files>
                  <path>out.txt</path><type>file</type><size>87</size>
                  <attributes xsi:type="GuestPosixFileAttributes">
                    <modificationTime>2024-05-01T10:20:31Z</modificationTime>
                    <ownerId>1000</ownerId><groupId>1000</groupId><permissions>33188</permissions>
                  </attributes>
                </files>
                <remaining>0</remaining>
              </returnval>
            </ListFilesInGuestResponse>
            """,
            """
            <AcquireCredentialsInGuestResponse xmlns="urn:vim25">
              <returnval xsi:type="TicketedSessionAuthentication">
                <interactiveSession>false</interactiveSession>
                <ticket>dGlja2V0</ticket>
              </returnval>
            </AcquireCredentialsInGuestResponse>
            """,
            """<FindByUuidResponse xmlns="urn:vim25"/>""",
        ];

        foreach (var body in bodies)
        {
            AssertNoIssues(Schemas.ValidateResponse(Envelope(body)));
        }
    }

    [TestMethod]
    public void Fetch_IsCheckedAgainstVmwareByXsiTypeOnly()
    {
        var guest = Envelope("""
            <FetchResponse xmlns="urn:vim25">
              <returnval xsi:type="GuestInfo">
                <toolsRunningStatus>guestToolsRunning</toolsRunningStatus>
                <toolsInstallType>guestToolsTypeOpenVMTools</toolsInstallType>
                <guestState>running</guestState>
              </returnval>
            </FetchResponse>
            """);
        AssertNoIssues(Schemas.ValidateResponse(guest));
        AssertNoIssues(Schemas.ValidateResponse(Envelope("""<FetchResponse xmlns="urn:vim25"/>""")));

        // guestState is required in GuestInfo: both schemas must say so.
        AssertHasIssue(Schemas.ValidateResponse(FetchWithoutGuestState), VimSchemas.OursSource, "guestState");
    }

    [TestMethod]
    public void Fetch_WithoutRequiredElement_FailsAgainstVmware5x()
    {
        Schemas.RequireVmware5x();
        AssertHasIssue(Schemas.ValidateResponse(FetchWithoutGuestState), VimSchemas.VmwareSource, "guestState");
    }

    private static string FetchWithoutGuestState => Envelope("""
        <FetchResponse xmlns="urn:vim25">
          <returnval xsi:type="GuestInfo"><toolsRunningStatus>guestToolsRunning</toolsRunningStatus></returnval>
        </FetchResponse>
        """);

    // ------------------------------------------------------------------------------------
    // Messages that must fail
    // ------------------------------------------------------------------------------------

    [TestMethod]
    public void WrongElementOrder_Fails_WithLineAndElement()
    {
        var issues = Schemas.ValidateResponse(LoginWithWrongElementOrder);

        AssertHasIssue(issues, VimSchemas.OursSource, "userName");
        var first = issues[0];
        Assert.AreEqual(9, first.Line, first.ToString()); // line 1 is the XML declaration
        Assert.IsGreaterThan(0, first.Position, first.ToString());
        Assert.AreEqual("/Envelope/Body/LoginResponse/returnval/userName", first.Element, first.ToString());
    }

    [TestMethod]
    public void UnknownElement_Fails() =>
        AssertHasIssue(Schemas.ValidateResponse(StartProgramWithUnknownElement), VimSchemas.OursSource, "pid");

    [TestMethod]
    public void UnknownResponseElement_Fails()
    {
        var issues = Schemas.ValidateResponse(Envelope("""<NoSuchOperationResponse xmlns="urn:vim25"/>"""));

        AssertHasIssue(issues, VimSchemas.OursSource, "NoSuchOperationResponse");
    }

    [TestMethod]
    public void NoPermissionWithoutObjectAndPrivilege_Fails()
    {
        // Optional in newer pyVmomi type info, but required by the vim25 schema clients are generated from.
        AssertHasIssue(Schemas.ValidateResponse(NoPermissionWithoutObject), VimSchemas.OursSource, "object");
    }

    [TestMethod]
    public void FaultTypeNotDerivedFromTheDetailElementType_Fails()
    {
        // InvalidLogin is a VimFault, not a RuntimeFault: it needs <InvalidLoginFault>, not <RuntimeFaultFault>.
        AssertHasIssue(Schemas.ValidateResponse(InvalidLoginAsRuntimeFault), VimSchemas.OursSource, "RuntimeFaultFault");
    }

    [TestMethod]
    public void EmptyRetrieveResult_Fails()
    {
        // RetrieveResult needs at least one ObjectContent: with nothing to report, omit returnval.
        AssertHasIssue(Schemas.ValidateResponse(EmptyRetrieveResult), VimSchemas.OursSource, "returnval");
    }

    /// <summary>The broken messages above, each checked against VMware's 5.x schema as well.</summary>
    [TestMethod]
    public void BrokenMessages_FailAgainstVmware5x()
    {
        Schemas.RequireVmware5x();
        (string Message, string Mentions)[] cases =
        [
            (LoginWithWrongElementOrder, "userName"),
            (StartProgramWithUnknownElement, "pid"),
            (NoPermissionWithoutObject, "object"),
            (InvalidLoginAsRuntimeFault, "RuntimeFaultFault"),
            (EmptyRetrieveResult, "returnval"),
        ];
        foreach (var (message, mentions) in cases)
        {
            AssertHasIssue(Schemas.ValidateResponse(message), VimSchemas.VmwareSource, mentions);
        }
    }

    private static string LoginWithWrongElementOrder => Envelope("""
        <LoginResponse xmlns="urn:vim25">
          <returnval>
            <userName>root</userName>
            <key>52d4e1f0-3c7b-4f43-9b1e-0c5c2a4b7e11</key>
            <fullName>Administrator</fullName>
            <loginTime>2024-05-01T10:00:00Z</loginTime>
            <lastActiveTime>2024-05-01T10:00:00Z</lastActiveTime>
            <locale>en</locale>
            <messageLocale>en</messageLocale>
          </returnval>
        </LoginResponse>
        """);

    private static string StartProgramWithUnknownElement => Envelope("""
        <StartProgramInGuestResponse xmlns="urn:vim25">
          <returnval>2817</returnval>
          <pid>2817</pid>
        </StartProgramInGuestResponse>
        """);

    private static string NoPermissionWithoutObject => Envelope(Fault("""<RuntimeFaultFault xmlns="urn:vim25" xsi:type="NotAuthenticated"/>"""));

    private static string InvalidLoginAsRuntimeFault => Envelope(Fault("""<RuntimeFaultFault xmlns="urn:vim25" xsi:type="InvalidLogin"/>"""));

    private static string EmptyRetrieveResult => Envelope("""<RetrievePropertiesExResponse xmlns="urn:vim25"><returnval/></RetrievePropertiesExResponse>""");

    [TestMethod]
    public void AnyTypeValueWithoutXsiType_Fails()
    {
        var issues = Schemas.ValidateResponse(Envelope(PropertyValue("name", "<val>vm1</val>")));

        AssertHasIssue(issues, VimSchemas.EnvelopeSource, "xsi:type");
    }

    [TestMethod]
    public void XsiTypePrefixes_MustBeBoundToTheRightNamespace()
    {
        // Any prefix bound to the XML Schema namespace works for primitives ...
        AssertNoIssues(Schemas.ValidateResponse(Envelope(PropertyValue("name",
            """<val xmlns:xs="http://www.w3.org/2001/XMLSchema" xsi:type="xs:string">vm1</val>"""))));

        // ... an unbound prefix does not (the envelope declares xsd, not xs) ...
        AssertHasIssue(Schemas.ValidateResponse(Envelope(PropertyValue("name", """<val xsi:type="xs:string">vm1</val>"""))),
            VimSchemas.OursSource, "xs:string");

        // ... and an unprefixed primitive name resolves into urn:vim25, where no such type exists.
        AssertHasIssue(Schemas.ValidateResponse(Envelope(PropertyValue("name", """<val xsi:type="string">vm1</val>"""))),
            VimSchemas.OursSource, "string");
    }

    [TestMethod]
    public void Post5xElementOutOfPlace_Fails()
    {
        var xml = Envelope(PropertyValue("guest", """
            <val xsi:type="GuestInfo">
              <guestId>ubuntu64Guest</guestId>
              <toolsInstallType>guestToolsTypeOpenVMTools</toolsInstallType>
              <guestState>running</guestState>
            </val>
            """));

        AssertHasIssue(Schemas.ValidateResponse(xml), VimSchemas.OursSource, "toolsInstallType");
    }

    [TestMethod]
    public void MalformedEnvelopes_Fail()
    {
        AssertHasIssue(Schemas.ValidateResponse("<soapenv:Envelope"), VimSchemas.EnvelopeSource, "well-formed");
        AssertHasIssue(Schemas.ValidateResponse("""<Envelope xmlns="urn:vim25"/>"""), VimSchemas.EnvelopeSource, "Envelope");
        AssertHasIssue(
            Schemas.ValidateResponse(Envelope("""<LogoutResponse xmlns="urn:vim25"/><LogoutResponse xmlns="urn:vim25"/>""")),
            VimSchemas.EnvelopeSource,
            "exactly one element");
        AssertHasIssue(
            Schemas.ValidateResponse(Envelope("<soapenv:Fault><faultcode>ServerFaultCode</faultcode><faultstring>x</faultstring></soapenv:Fault>")),
            VimSchemas.EnvelopeSource,
            "detail");
    }

    [TestMethod]
    public void AssertValid_ThrowsWithEveryIssue()
    {
        var xml = Envelope("""<CurrentTimeResponse xmlns="urn:vim25"><returnval>yesterday</returnval></CurrentTimeResponse>""");

        var e = Assert.ThrowsExactly<SchemaValidationException>(() => Schemas.AssertValid(xml));

        Assert.HasCount(Schemas.Vmware5x is null ? 1 : 2, e.Issues, e.Message); // one per schema set
        Assert.Contains("/Envelope/Body/CurrentTimeResponse/returnval", e.Message);
        Schemas.AssertValid(Envelope("""<CurrentTimeResponse xmlns="urn:vim25"><returnval>2024-05-01T10:20:30.123Z</returnval></CurrentTimeResponse>"""));
    }

    // ------------------------------------------------------------------------------------
    // Our wsdl/ against VMware's 5.x WSDL
    // ------------------------------------------------------------------------------------

    /// <summary>Every type and element of ours that 5.x has keeps 5.x's base type, element order,
    /// element types and optionality; ours may only leave out optional elements, and may only
    /// add the elements listed in <see cref="VimSchemas.PostVmware5xElements"/>.</summary>
    [TestMethod]
    public void OurTypes_FollowVmware5xOrderAndOptionality()
    {
        var vmware5x = Schemas.RequireVmware5x();
        var problems = new List<string>();
        var postOperationTypes = VimSchemas.PostVmware5xOperations.Select(op => op + "RequestType").ToHashSet();

        foreach (var ours in Schemas.Ours.GlobalTypes.Values.Cast<XmlSchemaType>())
        {
            var name = ours.QualifiedName;
            if (vmware5x.GlobalTypes[name] is not XmlSchemaType theirs)
            {
                if (!postOperationTypes.Contains(name.Name) && !VimSchemas.PostVmware5xTypes.Contains(name.Name))
                {
                    problems.Add($"type {name.Name} is not in VMware's 5.x schema");
                }

                continue;
            }

            if (ours.BaseXmlSchemaType?.QualifiedName != theirs.BaseXmlSchemaType?.QualifiedName)
            {
                problems.Add($"type {name.Name}: base {ours.BaseXmlSchemaType?.QualifiedName} vs 5.x {theirs.BaseXmlSchemaType?.QualifiedName}");
            }

            if (ours is XmlSchemaSimpleType oursSimple && theirs is XmlSchemaSimpleType theirsSimple)
            {
                var a = string.Join(",", Enumerations(oursSimple));
                var b = string.Join(",", Enumerations(theirsSimple));
                if (a != b)
                {
                    problems.Add($"enum {name.Name}: [{a}] vs 5.x [{b}]");
                }
            }
            else if (ours is XmlSchemaComplexType oursComplex && theirs is XmlSchemaComplexType theirsComplex)
            {
                CompareContent(name.Name, TypeChain(oursComplex), oursComplex.ContentTypeParticle, theirsComplex.ContentTypeParticle, problems);
            }
            else
            {
                problems.Add($"type {name.Name}: simple/complex mismatch");
            }
        }

        foreach (var ours in Schemas.Ours.GlobalElements.Values.Cast<XmlSchemaElement>())
        {
            var name = ours.QualifiedName;
            if (vmware5x.GlobalElements[name] is not XmlSchemaElement theirs)
            {
                var operation = name.Name.EndsWith("Response", StringComparison.Ordinal) ? name.Name[..^"Response".Length] : name.Name;
                if (!VimSchemas.PostVmware5xOperations.Contains(operation))
                {
                    problems.Add($"element {name.Name} is not in VMware's 5.x schema");
                }

                continue;
            }

            var oursType = ours.ElementSchemaType!;
            var theirsType = theirs.ElementSchemaType!;
            if (oursType.QualifiedName != theirsType.QualifiedName)
            {
                problems.Add($"element {name.Name}: type {oursType.QualifiedName} vs 5.x {theirsType.QualifiedName}");
            }
            else if (oursType.QualifiedName.IsEmpty && oursType is XmlSchemaComplexType a && theirsType is XmlSchemaComplexType b)
            {
                CompareContent(name.Name, [], a.ContentTypeParticle, b.ContentTypeParticle, problems);
            }
        }

        Assert.IsEmpty(problems, string.Join(Environment.NewLine, problems));
    }

    /// <summary>Each operation of ours has messages naming elements of our schema and a binding operation with the
    /// same faults.</summary>
    [TestMethod]
    public void OurWsdl_OperationsNameOurElementsAndBindTheirFaults()
    {
        XNamespace wsdl = VimSchemas.WsdlNamespace;
        var ours = XDocument.Load(Path.Combine(Schemas.OurWsdlDirectory, "vim.wsdl"));
        var problems = new List<string>();

        var ourBinding = ours.Root!.Element(wsdl + "binding")!.Elements(wsdl + "operation")
            .ToDictionary(o => (string)o.Attribute("name")!);
        var ourMessages = ours.Root!.Elements(wsdl + "message")
            .ToDictionary(m => (string)m.Attribute("name")!, m => (string)m.Element(wsdl + "part")!.Attribute("element")!);

        var operations = ours.Root!.Element(wsdl + "portType")!.Elements(wsdl + "operation").ToList();
        Assert.HasCount(59, operations);
        foreach (var operation in operations)
        {
            var name = (string)operation.Attribute("name")!;
            foreach (var message in operation.Elements().Select(e => ((string)e.Attribute("message")!).Split(':')[1]))
            {
                var element = ourMessages.GetValueOrDefault(message)?.Split(':')[1];
                if (element is null || Schemas.Ours.GlobalElements[new System.Xml.XmlQualifiedName(element, VimSchemas.VimNamespace)] is null)
                {
                    problems.Add($"{name}: message {message} does not name an element of our schema");
                }
            }

            if (!ourBinding.TryGetValue(name, out var binding))
            {
                problems.Add($"{name}: no binding operation");
            }
            else if (FaultNames(binding) != FaultNames(operation))
            {
                problems.Add($"{name}: binding faults [{FaultNames(binding)}] vs port type [{FaultNames(operation)}]");
            }
        }

        Assert.IsEmpty(problems, string.Join(Environment.NewLine, problems));
    }

    /// <summary>Each operation of ours that 5.x has declares the same faults as in VMware's 5.x WSDL.</summary>
    [TestMethod]
    public void OurWsdl_DeclaresTheSameOperationsAndFaultsAsVmware5x()
    {
        Schemas.RequireVmware5x();
        XNamespace wsdl = VimSchemas.WsdlNamespace;
        var ours = XDocument.Load(Path.Combine(Schemas.OurWsdlDirectory, "vim.wsdl"));
        var theirs = XDocument.Load(Path.Combine(Schemas.VmwareDirectory, "vim.wsdl"));
        var problems = new List<string>();

        var theirOperations = theirs.Root!.Element(wsdl + "portType")!.Elements(wsdl + "operation")
            .ToDictionary(o => (string)o.Attribute("name")!);
        foreach (var operation in ours.Root!.Element(wsdl + "portType")!.Elements(wsdl + "operation"))
        {
            var name = (string)operation.Attribute("name")!;
            if (VimSchemas.PostVmware5xOperations.Contains(name))
            {
                continue;
            }

            if (!theirOperations.TryGetValue(name, out var theirOperation))
            {
                problems.Add($"{name}: not an operation of VMware's 5.x WSDL");
            }
            else if (FaultList(theirOperation) != FaultList(operation))
            {
                problems.Add($"{name}: faults [{FaultList(operation)}] vs 5.x [{FaultList(theirOperation)}]");
            }
        }

        Assert.IsEmpty(problems, string.Join(Environment.NewLine, problems));
    }

    /// <summary>"name=message" with the message as an expanded name, so the prefix (vim: vs vim25:) does not matter.</summary>
    private static string FaultList(XElement operation) => string.Join(", ",
        operation.Elements(operation.Name.Namespace + "fault").Select(f => $"{(string?)f.Attribute("name")}={Resolve(f, (string)f.Attribute("message")!)}"));

    private static XName Resolve(XElement scope, string qualifiedName)
    {
        var parts = qualifiedName.Split(':', 2);
        return parts.Length == 1
            ? scope.GetDefaultNamespace() + parts[0]
            : scope.GetNamespaceOfPrefix(parts[0])! + parts[1];
    }

    private static string FaultNames(XElement operation) => string.Join(", ",
        operation.Elements(operation.Name.Namespace + "fault").Select(f => (string)f.Attribute("name")!));

    [TestMethod]
    public void OurServiceWsdl_PointsAtVimPortOfVimBinding()
    {
        XNamespace wsdl = VimSchemas.WsdlNamespace;
        XNamespace soap = "http://schemas.xmlsoap.org/wsdl/soap/";
        var service = XDocument.Load(Path.Combine(Schemas.OurWsdlDirectory, "vimService.wsdl")).Root!;

        Assert.AreEqual("urn:vim25Service", (string?)service.Attribute("targetNamespace"));
        var import = service.Element(wsdl + "import")!;
        Assert.AreEqual("urn:vim25", (string?)import.Attribute("namespace"));
        Assert.AreEqual("vim.wsdl", (string?)import.Attribute("location"));
        var port = service.Element(wsdl + "service")!.Element(wsdl + "port")!;
        Assert.AreEqual("VimService", (string?)port.Parent!.Attribute("name"));
        Assert.AreEqual("VimPort", (string?)port.Attribute("name"));
        Assert.AreEqual("interface:VimBinding", (string?)port.Attribute("binding"));
        Assert.AreEqual("urn:vim25", port.GetNamespaceOfPrefix("interface")?.NamespaceName);
        Assert.AreEqual("https://localhost/sdk/vimService", (string?)port.Element(soap + "address")!.Attribute("location"));
    }

    // ------------------------------------------------------------------------------------
    // Helpers
    // ------------------------------------------------------------------------------------

    private static string Envelope(string body) => $"""
        <?xml version="1.0" encoding="UTF-8"?>
        <soapenv:Envelope xmlns:soapenc="http://schemas.xmlsoap.org/soap/encoding/"
            xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"
            xmlns:xsd="http://www.w3.org/2001/XMLSchema"
            xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
        <soapenv:Body>
        {body}
        </soapenv:Body>
        </soapenv:Envelope>
        """;

    private static string Fault(string detail) => $"""
        <soapenv:Fault>
          <faultcode>ServerFaultCode</faultcode>
          <faultstring>fault</faultstring>
          <detail>{detail}</detail>
        </soapenv:Fault>
        """;

    private static string PropertyValue(string name, string val) => $"""
        <RetrievePropertiesExResponse xmlns="urn:vim25">
          <returnval>
            <objects>
              <obj type="VirtualMachine">vm-42</obj>
              <propSet>
                <name>{name}</name>
                {val}
              </propSet>
            </objects>
          </returnval>
        </RetrievePropertiesExResponse>
        """;

    private static void AssertNoIssues(IReadOnlyList<SchemaIssue> issues) =>
        Assert.IsEmpty(issues, string.Join(Environment.NewLine, issues));

    private static void AssertHasIssue(IReadOnlyList<SchemaIssue> issues, string source, string text) =>
        Assert.Contains(
            i => i.Source == source && (i.Message.Contains(text, StringComparison.Ordinal) || i.Element.Contains(text, StringComparison.Ordinal)),
            issues,
            $"expected a [{source}] issue mentioning '{text}'; got:{Environment.NewLine}{string.Join(Environment.NewLine, issues)}");

    private static IEnumerable<string> Enumerations(XmlSchemaSimpleType type) =>
        (type.Content as XmlSchemaSimpleTypeRestriction)?.Facets.OfType<XmlSchemaEnumerationFacet>().Select(f => f.Value ?? string.Empty) ?? [];

    private static List<string> TypeChain(XmlSchemaType type)
    {
        var names = new List<string>();
        for (XmlSchemaType? t = type; t is not null && !t.QualifiedName.IsEmpty; t = t.BaseXmlSchemaType)
        {
            names.Add(t.QualifiedName.Name);
        }

        return names;
    }

    private static List<XmlSchemaElement> Flatten(XmlSchemaParticle? particle)
    {
        var result = new List<XmlSchemaElement>();
        switch (particle)
        {
            case XmlSchemaElement element:
                result.Add(element);
                break;
            case XmlSchemaSequence sequence:
                foreach (var item in sequence.Items.OfType<XmlSchemaParticle>())
                {
                    result.AddRange(Flatten(item));
                }

                break;
            case XmlSchemaGroupBase other:
                throw new InvalidOperationException($"unexpected {other.GetType().Name} in a vim25 type");
        }

        return result;
    }

    /// <summary>Ours must be theirs minus optional elements, plus listed post-5.x elements.</summary>
    private static void CompareContent(string owner, List<string> ownerChain, XmlSchemaParticle? oursParticle, XmlSchemaParticle? theirsParticle, List<string> problems)
    {
        var ours = Flatten(oursParticle);
        var theirs = Flatten(theirsParticle);
        var next = 0;
        foreach (var element in ours)
        {
            var at = theirs.FindIndex(next, e => e.QualifiedName == element.QualifiedName);
            if (at < 0)
            {
                var allowed = VimSchemas.PostVmware5xElements.Any(p => p.ElementName == element.QualifiedName.Name && ownerChain.Contains(p.TypeName));
                if (!allowed)
                {
                    problems.Add($"{owner}: element {element.QualifiedName.Name} is not in 5.x at this position");
                }
                else if (element.MinOccurs != 0)
                {
                    problems.Add($"{owner}: post-5.x element {element.QualifiedName.Name} must be optional");
                }

                continue;
            }

            for (var skipped = next; skipped < at; skipped++)
            {
                if (theirs[skipped].MinOccurs != 0)
                {
                    problems.Add($"{owner}: required 5.x element {theirs[skipped].QualifiedName.Name} is missing");
                }
            }

            var match = theirs[at];
            if (element.ElementSchemaType?.QualifiedName != match.ElementSchemaType?.QualifiedName
                || element.MinOccurs != match.MinOccurs
                || element.MaxOccurs != match.MaxOccurs)
            {
                problems.Add($"{owner}.{element.QualifiedName.Name}: {element.ElementSchemaType?.QualifiedName} [{element.MinOccurs}..{element.MaxOccurs}]"
                    + $" vs 5.x {match.ElementSchemaType?.QualifiedName} [{match.MinOccurs}..{match.MaxOccurs}]");
            }

            next = at + 1;
        }

        for (var rest = next; rest < theirs.Count; rest++)
        {
            if (theirs[rest].MinOccurs != 0)
            {
                problems.Add($"{owner}: required 5.x element {theirs[rest].QualifiedName.Name} is missing");
            }
        }
    }
}
