using System.Diagnostics;
using System.Globalization;
using System.Text;
using GuestOps.IntegrationTests.Infrastructure;

namespace GuestOps.IntegrationTests;

/// <summary>
/// The SOAP endpoint against what real clients (and hostile ones) send: malformed XML, DTDs, unknown operations and
/// objects, calls without a session, wrong xsi:types, 0/1 booleans, SOAPAction variants, govc's XMLSchema-instance
/// prefix, echoed Set-Cookie values, oversized bodies, wrong HTTP methods. Each gets a vim fault (HTTP 500,
/// ServerFaultCode, detail named after the declared fault, xsi:type the concrete one) or the right HTTP status,
/// quickly and without a stack trace, and the server keeps serving.
/// </summary>
// Hand-built SOAP on purpose: this class tests the wire itself (malformed and unusual envelopes, headers and HTTP methods), not a typed client.
[TestClass]
public sealed class SoapEndpointTests : IntegrationTest
{
    /// <summary>A fault must come back well within this (no hang, no slow path).</summary>
    private static readonly TimeSpan Quick = TimeSpan.FromSeconds(5);

    // ---------------------------------------------------------------------------------------------------------
    // Malformed requests
    // ---------------------------------------------------------------------------------------------------------

    [TestMethod]
    [DataRow("truncated", "<?xml version=\"1.0\"?><soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\"><soapenv:Body><RetrieveServiceContent xmlns=\"urn:vim25\"><_this type=\"ServiceInstance\">Service")]
    [DataRow("mismatched tags", "<?xml version=\"1.0\"?><soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\"><soapenv:Body><RetrieveServiceContent xmlns=\"urn:vim25\"><_this type=\"ServiceInstance\">ServiceInstance</this></RetrieveServiceContent></soapenv:Body></soapenv:Envelope>")]
    [DataRow("not XML", "hello, world")]
    [DataRow("empty body", "")]
    [DataRow("two roots", "<a/><b/>")]
    [DataRow("undeclared prefix", "<soapenv:Envelope><soapenv:Body/></soapenv:Envelope>")]
    [DataRow("not a SOAP envelope", "<?xml version=\"1.0\"?><RetrieveServiceContent xmlns=\"urn:vim25\"><_this type=\"ServiceInstance\">ServiceInstance</_this></RetrieveServiceContent>")]
    [DataRow("SOAP 1.2 envelope", "<?xml version=\"1.0\"?><env:Envelope xmlns:env=\"http://www.w3.org/2003/05/soap-envelope\"><env:Body><RetrieveServiceContent xmlns=\"urn:vim25\"><_this type=\"ServiceInstance\">ServiceInstance</_this></RetrieveServiceContent></env:Body></env:Envelope>")]
    [DataRow("empty SOAP body", "<?xml version=\"1.0\"?><soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\"><soapenv:Body></soapenv:Body></soapenv:Envelope>")]
    [DataRow("operation without _this", "<?xml version=\"1.0\"?><soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\"><soapenv:Body><RetrieveServiceContent xmlns=\"urn:vim25\"/></soapenv:Body></soapenv:Envelope>")]
    [DataRow("integer that is not one", "<?xml version=\"1.0\"?><soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\"><soapenv:Body><RetrievePropertiesEx xmlns=\"urn:vim25\"><_this type=\"PropertyCollector\">propertyCollector</_this><specSet><propSet><type>Folder</type><pathSet>name</pathSet></propSet><objectSet><obj type=\"Folder\">group-d1</obj></objectSet></specSet><options><maxObjects>many</maxObjects></options></RetrievePropertiesEx></soapenv:Body></soapenv:Envelope>")]
    [DataRow("boolean that is not one", "<?xml version=\"1.0\"?><soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\"><soapenv:Body><RetrieveProperties xmlns=\"urn:vim25\"><_this type=\"PropertyCollector\">propertyCollector</_this><specSet><propSet><type>Folder</type><pathSet>name</pathSet></propSet><objectSet><obj type=\"Folder\">group-d1</obj><skip>maybe</skip></objectSet></specSet></RetrieveProperties></soapenv:Body></soapenv:Envelope>")]
    public async Task MalformedRequest_GetsInvalidRequestFault(string what, string body)
    {
        var server = await SharedServer.GetAsync();
        using var client = NewClient(server);
        var response = await client.PostAsync(body, $"malformed request ({what})");
        var fault = response.AssertFault("InvalidRequest", "RuntimeFaultFault");
        TestContext.WriteLine($"{what}: {fault.FaultString}");
        Assert.IsTrue(response.Elapsed < Quick, $"{what}: answered after {response.Elapsed}");
        await AssertStillServingAsync(server);
    }

    [TestMethod]
    [DataRow("in the SOAP header")]
    [DataRow("in a parameter")]
    public async Task DeeplyNestedRequest_GetsInvalidRequestFaultQuickly(string where)
    {
        var server = await SharedServer.GetAsync();
        using var client = NewClient(server);
        const int depth = 100_000;
        var nest = new StringBuilder(depth * 8);
        for (var i = 0; i < depth; i++)
        {
            nest.Append("<a>");
        }

        for (var i = 0; i < depth; i++)
        {
            nest.Append("</a>");
        }

        var body = where == "in the SOAP header"
            ? Soap.Call("RetrieveServiceContent", Moref.ServiceInstance).Replace("<soapenv:Body>", $"<soapenv:Header>{nest}</soapenv:Header><soapenv:Body>", StringComparison.Ordinal)
            : Soap.Call("RetrieveServiceContent", Moref.ServiceInstance, nest.ToString());
        var response = await client.PostAsync(body, $"{depth} nested elements {where}");
        response.AssertFault("InvalidRequest", "RuntimeFaultFault");
        Assert.IsTrue(response.Elapsed < Quick, $"answered after {response.Elapsed}");
        await AssertStillServingAsync(server);
    }

    [TestMethod]
    public async Task ManyRepeatedParameters_AreAnsweredQuickly()
    {
        var server = await SharedServer.GetAsync();
        using var client = NewClient(server);
        await client.LoginOkAsync();
        var paths = Enumerable.Repeat("name", 200_000).ToArray(); // ~4 MB of <pathSet>name</pathSet>
        var response = await client.PostAsync(Soap.RetrieveProperties(Moref.RootFolder, paths), "200000 pathSet entries");
        var props = response.ReturnValues("RetrieveProperties").Single().Elements(Soap.Vim + "propSet").ToList();
        Assert.AreEqual(1, props.Count, "a path asked for many times is returned once");
        Assert.IsTrue(response.Elapsed < Quick, $"answered after {response.Elapsed}");
        await client.CallAsync("Logout", Moref.SessionManager);
    }

    [TestMethod]
    [DataRow("external entity in an element", "<!DOCTYPE Envelope [ <!ENTITY xxe SYSTEM \"file:///etc/passwd\"> ]>", "&xxe;")]
    [DataRow("external entity in an attribute", "<!DOCTYPE Envelope [ <!ENTITY xxe SYSTEM \"file:///etc/passwd\"> ]>", "")]
    [DataRow("external DTD", "<!DOCTYPE Envelope SYSTEM \"file:///etc/passwd\">", "root")]
    [DataRow("parameter entity", "<!DOCTYPE Envelope [ <!ENTITY % p SYSTEM \"file:///etc/passwd\"> %p; ]>", "root")]
    [DataRow("entity expansion bomb", "<!DOCTYPE Envelope [ <!ENTITY a \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"> <!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\"> <!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\"> <!ENTITY d \"&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;\"> <!ENTITY e \"&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;\"> ]>", "&e;")]
    public async Task Dtd_IsRefusedAndNothingIsResolved(string what, string doctype, string userName)
    {
        var server = await SharedServer.GetAsync();
        using var client = NewClient(server);
        var attribute = what.Contains("attribute", StringComparison.Ordinal) ? " xml:lang=\"&xxe;\"" : "";
        var body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" + doctype + "\n"
            + "<soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\"><soapenv:Body>"
            + $"<Login xmlns=\"urn:vim25\"{attribute}><_this type=\"SessionManager\">SessionManager</_this><userName>{userName}</userName><password>x</password></Login>"
            + "</soapenv:Body></soapenv:Envelope>";
        var response = await client.PostAsync(body, $"DTD ({what})");
        response.AssertFault("InvalidRequest", "RuntimeFaultFault");
        Assert.IsTrue(response.Elapsed < Quick, $"{what}: answered after {response.Elapsed}");
        Assert.IsNull(response.SetCookie, "no session may result from a request with a DTD");

        // Nothing of the file may come back, whatever the message says.
        foreach (var line in File.ReadLines("/etc/passwd").Where(l => l.Contains(':', StringComparison.Ordinal)).Take(20))
        {
            Assert.IsFalse(response.Body.Contains(line, StringComparison.Ordinal), $"{what}: /etc/passwd content in the response: {line}");
        }

        Assert.IsFalse(response.Body.Contains("root:x:0:0", StringComparison.Ordinal) || response.Body.Contains("/bin/bash", StringComparison.Ordinal) || response.Body.Contains("/usr/sbin/nologin", StringComparison.Ordinal),
            $"{what}: /etc/passwd content in the response");
        Assert.IsFalse(response.Body.Contains("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", StringComparison.Ordinal), $"{what}: an entity was expanded");
        await AssertStillServingAsync(server);
    }

    // ---------------------------------------------------------------------------------------------------------
    // Unknown operations and objects, missing sessions
    // ---------------------------------------------------------------------------------------------------------

    [TestMethod]
    public async Task UnknownOperation_GetsMethodNotFound()
    {
        var server = await SharedServer.GetAsync();
        using var client = NewClient(server);
        var response = await client.CallAsync("NoSuchMethod", Moref.ServiceInstance, "<x>1</x>");
        var fault = response.AssertFault("MethodNotFound", "RuntimeFaultFault");
        Assert.AreEqual("NoSuchMethod", (string?)fault.Detail.Element(Soap.Vim + "method"), "MethodNotFound.method");
        var receiver = fault.Detail.Element(Soap.Vim + "receiver");
        Assert.IsNotNull(receiver, "MethodNotFound.receiver");
        Assert.AreEqual(Moref.ServiceInstance, Moref.From(receiver));
        Assert.IsTrue(response.Elapsed < Quick);
        await AssertStillServingAsync(server);
    }

    [TestMethod]
    public async Task KnownOperationOnTheWrongObjectType_GetsMethodNotFound()
    {
        var server = await SharedServer.GetAsync();
        using var client = NewClient(server);
        await client.LoginOkAsync();
        var response = await client.CallAsync("CurrentTime", Moref.SessionManager);
        var fault = response.AssertFault("MethodNotFound", "RuntimeFaultFault");
        Assert.AreEqual("CurrentTime", (string?)fault.Detail.Element(Soap.Vim + "method"));
        await client.CallAsync("Logout", Moref.SessionManager);
        await AssertStillServingAsync(server);
    }

    [TestMethod]
    [DataRow("ServiceInstance", "NoSuchInstance")]
    [DataRow("NoSuchType", "ServiceInstance")]
    [DataRow("", "ServiceInstance")]
    public async Task UnknownThis_GetsManagedObjectNotFound(string type, string value)
    {
        var server = await SharedServer.GetAsync();
        using var client = NewClient(server);
        await client.LoginOkAsync();
        var response = await client.CallAsync("CurrentTime", new Moref(type, value));
        var fault = response.AssertFault("ManagedObjectNotFound", "RuntimeFaultFault");
        var obj = fault.Detail.Element(Soap.Vim + "obj");
        Assert.IsNotNull(obj, "ManagedObjectNotFound.obj");
        Assert.AreEqual(value, obj.Value);
        Assert.IsTrue(response.Elapsed < Quick);
        await client.CallAsync("Logout", Moref.SessionManager);
        await AssertStillServingAsync(server);
    }

    [TestMethod]
    public async Task UnknownObjectInAPropertySpec_GetsManagedObjectNotFound()
    {
        var server = await SharedServer.GetAsync();
        using var client = NewClient(server);
        await client.LoginOkAsync();
        var response = await client.PostAsync(Soap.RetrieveProperties(Moref.Vm("vm-99999"), "name"), "RetrieveProperties of vm-99999");
        var fault = response.AssertFault("ManagedObjectNotFound", "RuntimeFaultFault");
        Assert.AreEqual(Moref.Vm("vm-99999"), Moref.From(fault.Detail.Element(Soap.Vim + "obj")!));
        await client.CallAsync("Logout", Moref.SessionManager);
    }

    [TestMethod]
    [DataRow("CurrentTime", "ServiceInstance", "ServiceInstance", "")]
    [DataRow("CreateContainerView", "ViewManager", "ViewManager", "<container type=\"Folder\">group-d1</container><type>VirtualMachine</type><recursive>true</recursive>")]
    [DataRow("FindByInventoryPath", "SearchIndex", "SearchIndex", "<inventoryPath>ha-datacenter/vm/demo-vm-1</inventoryPath>")]
    [DataRow("Logout", "SessionManager", "SessionManager", "")]
    public async Task CallWithoutSession_GetsNotAuthenticated(string operation, string type, string value, string parameters)
    {
        var server = await SharedServer.GetAsync();
        using var client = NewClient(server);
        var response = await client.CallAsync(operation, new Moref(type, value), parameters);
        var fault = response.AssertFault("NotAuthenticated", "RuntimeFaultFault");
        Assert.AreEqual(new Moref(type, value), Moref.From(fault.Detail.Element(Soap.Vim + "object")!), "NotAuthenticated.object is the _this reference");
        Assert.AreEqual("System.View", (string?)fault.Detail.Element(Soap.Vim + "privilegeId"));
        Assert.IsTrue(response.Elapsed < Quick);

        // A cookie naming no live session is no better.
        client.Cookie = "vmware_soap_session=\"00000000-0000-0000-0000-000000000000\"";
        var again = await client.CallAsync(operation, new Moref(type, value), parameters);
        again.AssertFault("NotAuthenticated", "RuntimeFaultFault");
        await AssertStillServingAsync(server);
    }

    [TestMethod]
    public async Task WrongPassword_GetsInvalidLoginAndNoCookie()
    {
        var server = await SharedServer.GetAsync();
        using var client = NewClient(server);
        foreach (var (user, password) in new[] { ("root", server.RootPassword + "x"), ("nobody", server.RootPassword!), ("root", "") })
        {
            var response = await client.LoginAsync(user, password);
            response.AssertFault("InvalidLogin", "InvalidLoginFault");
            Assert.IsNull(response.SetCookie, $"a failed login ({user}) must not set a cookie");
            Assert.IsFalse(response.Body.Contains(server.RootPassword!, StringComparison.Ordinal), "the password must not be echoed");
        }

        Assert.IsFalse(server.StandardOutput.Contains(server.RootPassword!, StringComparison.Ordinal) || server.StandardError.Contains(server.RootPassword!, StringComparison.Ordinal),
            "a configured password must never appear in the server's output");
        await AssertStillServingAsync(server);
    }

    // ---------------------------------------------------------------------------------------------------------
    // xsi:type, booleans, envelopes as the clients write them
    // ---------------------------------------------------------------------------------------------------------

    [TestMethod]
    [DataRow("unknown type", "xsi:type=\"NoSuchSpec\"")]
    [DataRow("a type that is not a SelectionSpec", "xsi:type=\"ObjectSpec\"")]
    [DataRow("a primitive type", "xsi:type=\"xsd:string\"")]
    [DataRow("an undeclared prefix", "xsi:type=\"nowhere:TraversalSpec\"")]
    public async Task WrongXsiType_GetsInvalidRequestFault(string what, string xsiType)
    {
        var server = await SharedServer.GetAsync();
        using var client = NewClient(server);
        await client.LoginOkAsync();
        var selectSet = $"<selectSet {xsiType}><type>Folder</type><path>childEntity</path><skip>false</skip></selectSet>";
        var response = await client.PostAsync(
            Soap.Call("RetrieveProperties", Moref.PropertyCollector, Soap.FilterSpec([("VirtualMachine", ["name"])], Moref.VmFolder, skip: true, selectSet)),
            $"wrong xsi:type ({what})");
        response.AssertFault("InvalidRequest", "RuntimeFaultFault");
        Assert.IsTrue(response.Elapsed < Quick);
        await client.CallAsync("Logout", Moref.SessionManager);
        await AssertStillServingAsync(server);
    }

    [TestMethod]
    public async Task Booleans_ZeroAndOne_AreAccepted()
    {
        var server = await SharedServer.GetAsync();
        using var client = NewClient(server);
        await client.LoginOkAsync();

        // recursive=1 from the root folder reaches the VMs (root -> datacenter -> vm folder -> VMs); recursive=0 does not.
        var recursive = await ViewMembersAsync(client, "1", "0");
        CollectionAssert.AreEquivalent(SharedServer.VirtualMachineNames, recursive.Values.ToList(), "recursive=1");
        var flat = await ViewMembersAsync(client, "0", "0");
        Assert.AreEqual(0, flat.Count, $"recursive=0 from the root folder must not reach VMs: {string.Join(", ", flat.Keys)}");

        // skip=1 leaves the view itself out (it has no VirtualMachine propSpec anyway) and still traverses.
        var skipped = await ViewMembersAsync(client, "1", "1");
        CollectionAssert.AreEquivalent(SharedServer.VirtualMachineNames, skipped.Values.ToList(), "skip=1");

        // FindByUuid with vmSearch=1 and instanceUuid=0 / 1.
        var vm = recursive.Keys.First();
        var uuids = await client.PostAsync(Soap.RetrieveProperties(Moref.Vm(vm), "config.uuid", "config.instanceUuid"), "uuids");
        var props = uuids.ReturnValues("RetrieveProperties").Single().Elements(Soap.Vim + "propSet")
            .ToDictionary(p => p.Element(Soap.Vim + "name")!.Value, p => p.Element(Soap.Vim + "val")!.Value);
        var byBios = await client.CallAsync("FindByUuid", Moref.SearchIndex, $"<uuid>{props["config.uuid"]}</uuid><vmSearch>1</vmSearch><instanceUuid>0</instanceUuid>");
        Assert.AreEqual(vm, byBios.ReturnValues("FindByUuid").Single().Value, "FindByUuid(vmSearch=1, instanceUuid=0)");
        var byInstance = await client.CallAsync("FindByUuid", Moref.SearchIndex, $"<uuid>{props["config.instanceUuid"]}</uuid><vmSearch>1</vmSearch><instanceUuid>1</instanceUuid>");
        Assert.AreEqual(vm, byInstance.ReturnValues("FindByUuid").Single().Value, "FindByUuid(vmSearch=1, instanceUuid=1)");
        var hostSearch = await client.CallAsync("FindByUuid", Moref.SearchIndex, $"<uuid>{props["config.uuid"]}</uuid><vmSearch>0</vmSearch>");
        Assert.AreEqual(0, hostSearch.ReturnValues("FindByUuid").Count, "vmSearch=0 searches hosts; a VM's UUID finds none");

        await client.CallAsync("Logout", Moref.SessionManager);
    }

    [TestMethod]
    [DataRow("\"urn:vim25/8.0.3.0\"")]
    [DataRow("\"urn:vim25/6.7\"")]
    [DataRow("urn:vim25/7.0")]
    [DataRow("urn:vim25/5.5")]
    [DataRow("\"urn:vim25/4.0\"")]
    [DataRow("urn:vim25")]
    [DataRow("\"\"")]
    [DataRow("")]
    [DataRow("something else entirely")]
    [DataRow(null)]
    public async Task SoapAction_AnyValueQuotedUnquotedOrMissing_IsAccepted(string? soapAction)
    {
        var server = await SharedServer.GetAsync();
        using var client = NewClient(server);
        client.SoapAction = soapAction;
        var response = await client.CallAsync("RetrieveServiceContent", Moref.ServiceInstance);
        var content = response.ReturnValues("RetrieveServiceContent").Single();
        Assert.AreEqual("HostAgent", (string?)content.Element(Soap.Vim + "about")?.Element(Soap.Vim + "apiType"));
        Assert.IsNull(response.SetCookie, "RetrieveServiceContent must not set cookies (pyVmomi parses every Set-Cookie)");
    }

    [TestMethod]
    public async Task GovcEnvelope_DefaultNamespaceAndXmlSchemaInstancePrefix_AreUnderstood()
    {
        var server = await SharedServer.GetAsync();
        using var client = NewClient(server);
        client.SoapAction = "urn:vim25/7.0";
        await client.LoginOkAsync();

        // govc/005's shape: unprefixed envelope, xsi bound to the prefix "XMLSchema-instance" on the element itself.
        var body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Envelope xmlns=\"http://schemas.xmlsoap.org/soap/envelope/\"><Body>"
            + "<RetrieveProperties xmlns=\"urn:vim25\"><_this type=\"PropertyCollector\">propertyCollector</_this><specSet>"
            + "<propSet><type>VirtualMachine</type><pathSet>name</pathSet></propSet>"
            + "<objectSet><obj type=\"Folder\">folder-3</obj><skip>true</skip>"
            + "<selectSet xmlns:XMLSchema-instance=\"http://www.w3.org/2001/XMLSchema-instance\" XMLSchema-instance:type=\"TraversalSpec\"><type>Folder</type><path>childEntity</path><skip>false</skip></selectSet>"
            + "</objectSet></specSet></RetrieveProperties></Body></Envelope>";
        var response = await client.PostAsync(body, "govc-style RetrieveProperties", r => r.Headers.TransferEncodingChunked = true);
        var names = response.ReturnValues("RetrieveProperties").Select(r => r.Element(Soap.Vim + "propSet")!.Element(Soap.Vim + "val")!.Value).ToList();
        CollectionAssert.AreEquivalent(SharedServer.VirtualMachineNames, names);

        // rbvmomi's shape: env prefix, xsi:type on every data object, even where the declared type is the same.
        var rb = "<env:Envelope xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\" xmlns:env=\"http://schemas.xmlsoap.org/soap/envelope/\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"><env:Body>"
            + "<RetrieveProperties xmlns=\"urn:vim25\"><_this type=\"PropertyCollector\">propertyCollector</_this><specSet xsi:type=\"PropertyFilterSpec\"><propSet xsi:type=\"PropertySpec\"><type>Folder</type><pathSet>childEntity</pathSet></propSet><objectSet xsi:type=\"ObjectSpec\"><obj type=\"Folder\">group-d1</obj></objectSet></specSet></RetrieveProperties>"
            + "</env:Body></env:Envelope>";
        var rbResponse = await client.PostAsync(rb, "rbvmomi-style RetrieveProperties");
        var val = rbResponse.ReturnValues("RetrieveProperties").Single().Element(Soap.Vim + "propSet")!.Element(Soap.Vim + "val")!;
        Assert.AreEqual("ArrayOfManagedObjectReference", ((string?)val.Attribute(Soap.Xsi + "type"))?.Split(':').Last());
        Assert.AreEqual(Moref.Datacenter, Moref.From(val.Elements().Single()));

        await client.CallAsync("Logout", Moref.SessionManager);
    }

    // ---------------------------------------------------------------------------------------------------------
    // Cookies
    // ---------------------------------------------------------------------------------------------------------

    [TestMethod]
    public async Task Login_SetsOnlyTheSessionCookie_WithPathHttpOnlyAndSecure()
    {
        var server = await SharedServer.GetAsync();
        using var client = NewClient(server);
        var response = await client.LoginAsync();
        var session = response.ReturnValues("Login").Single();
        var setCookies = response.HeaderValues("Set-Cookie").ToList();
        Assert.AreEqual(1, setCookies.Count, $"exactly one Set-Cookie: {string.Join(" | ", setCookies)}");
        var attributes = setCookies[0].Split(';').Select(a => a.Trim()).ToList();
        Assert.IsTrue(attributes[0].StartsWith("vmware_soap_session=", StringComparison.Ordinal), setCookies[0]);
        Assert.AreEqual(session.Element(Soap.Vim + "key")!.Value, attributes[0]["vmware_soap_session=".Length..].Trim('"'), "the cookie carries UserSession.key");
        Assert.IsTrue(attributes.Contains("Path=/"), $"Path=/ (govmomi's cookie jar needs it): {setCookies[0]}");
        Assert.IsTrue(attributes.Contains("HttpOnly"), setCookies[0]);
        Assert.IsTrue(attributes.Contains("Secure"), $"Secure over https: {setCookies[0]}");

        var current = await client.CallAsync("CurrentTime", Moref.ServiceInstance);
        current.AssertOk("CurrentTime");
        Assert.IsNull(current.SetCookie, "only Login sets the cookie");
        await client.CallAsync("Logout", Moref.SessionManager);
    }

    [TestMethod]
    [DataRow("vmware_soap_session={0}")]
    [DataRow("vmware_soap_session=\"{0}\"")]
    [DataRow("vmware_soap_session={0}; HttpOnly")]
    [DataRow("vmware_soap_session=\"{0}\"; HttpOnly")]
    [DataRow("vmware_soap_session=\"{0}\"; Path=/; HttpOnly; Secure")]
    [DataRow("other=1; vmware_soap_session=\"{0}\"")]
    [DataRow("$Version=1; vmware_soap_session=\"{0}\"; $Path=/")]
    [DataRow("vmware_soap_session_other=x; vmware_soap_session={0}")]
    public async Task CookieHeader_EchoedSetCookieShapes_AreUnderstood(string shape)
    {
        var server = await SharedServer.GetAsync();
        using var client = NewClient(server);
        var key = await client.LoginOkAsync();
        client.Cookie = string.Format(CultureInfo.InvariantCulture, shape, key);
        var response = await client.CallAsync("CurrentTime", Moref.ServiceInstance);
        response.AssertOk("CurrentTime");

        var current = await client.PostAsync(Soap.RetrieveProperties(Moref.SessionManager, "currentSession"), "currentSession");
        var session = current.ReturnValues("RetrieveProperties").Single().Element(Soap.Vim + "propSet")?.Element(Soap.Vim + "val");
        Assert.AreEqual(key, (string?)session?.Element(Soap.Vim + "key"), $"Cookie: {client.Cookie}");
        await client.CallAsync("Logout", Moref.SessionManager);
    }

    // ---------------------------------------------------------------------------------------------------------
    // HTTP level
    // ---------------------------------------------------------------------------------------------------------

    [TestMethod]
    [DataRow(false)]
    [DataRow(true)]
    [Timeout(60_000)]
    public async Task TwentyMegabyteRequest_Gets413Quickly(bool chunked)
    {
        var server = await SharedServer.GetAsync();
        const int size = 20 * 1024 * 1024;
        var clock = Stopwatch.StartNew();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await using var connection = await RawHttpConnection.OpenAsync(server.BaseUri, timeout.Token);
        List<(string, string)> headers =
        [
            ("Host", $"127.0.0.1:{server.Port}"),
            ("Content-Type", "text/xml; charset=UTF-8"),
            ("SOAPAction", "\"urn:vim25/8.0.3.0\""),
            chunked ? ("Transfer-Encoding", "chunked") : ("Content-Length", size.ToString(CultureInfo.InvariantCulture)),
        ];

        // The head goes out first; the body is a syntactically plausible envelope that never ends (a 20 MB password).
        var head = new StringBuilder("POST /sdk HTTP/1.1\r\n");
        foreach (var (name, value) in headers)
        {
            head.Append(name).Append(": ").Append(value).Append("\r\n");
        }

        await connection.Stream.WriteAsync(Encoding.ASCII.GetBytes(head.Append("\r\n").ToString()), timeout.Token);
        var prefix = Encoding.UTF8.GetBytes(Soap.Envelope("<Login xmlns=\"urn:vim25\"><_this type=\"SessionManager\">SessionManager</_this><userName>root</userName><password>").Split("</soapenv:Body>")[0]);

        // Send the body in 64 KiB pieces while the server may already be answering; it may close the connection early.
        var sender = Task.Run(async () =>
        {
            var piece = new byte[64 * 1024];
            Array.Fill(piece, (byte)'a');
            prefix.CopyTo(piece, 0);
            var sent = 0;
            try
            {
                while (sent < size && !timeout.IsCancellationRequested)
                {
                    var n = Math.Min(piece.Length, size - sent);
                    if (chunked)
                    {
                        await connection.Stream.WriteAsync(Encoding.ASCII.GetBytes(n.ToString("x", CultureInfo.InvariantCulture) + "\r\n"), timeout.Token);
                    }

                    await connection.Stream.WriteAsync(piece.AsMemory(0, n), timeout.Token);
                    if (chunked)
                    {
                        await connection.Stream.WriteAsync("\r\n"u8.ToArray(), timeout.Token);
                    }

                    sent += n;
                }

                if (chunked)
                {
                    await connection.Stream.WriteAsync("0\r\n\r\n"u8.ToArray(), timeout.Token);
                }
            }
            catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException)
            {
                // the server stopped reading: expected once it has answered 413
            }

            return sent;
        });

        RawHttpResponse response;
        try
        {
            response = await connection.ReadResponseAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            throw new AssertFailedException($"No answer to a 20 MB request within 30 s.{Environment.NewLine}{server.AllOutput}");
        }

        var elapsed = clock.Elapsed;
        TestContext.WriteLine($"20 MB ({(chunked ? "chunked" : "Content-Length")}): HTTP {response.StatusCode} after {elapsed.TotalMilliseconds:0} ms");
        Assert.AreEqual(413, response.StatusCode, $"HTTP status for a 20 MB request: {response.BodyText}");
        Assert.IsTrue(elapsed < TimeSpan.FromSeconds(10), $"413 took {elapsed}");
        Responses.Add(new RecordedResponse("20 MB request", response.StatusCode, response.Header("Content-Type"), response.BodyText, ExpectSoap: false));
        await timeout.CancelAsync();
        await sender;
        await AssertStillServingAsync(server);
    }

    [TestMethod]
    public async Task RequestJustBelowTheLimit_IsStillAnswered()
    {
        var server = await SharedServer.GetAsync();
        using var client = NewClient(server);

        // 1 MB of padding in an ignored SOAP header: a big but legal request.
        var padding = new string('x', 1024 * 1024);
        var body = Soap.Call("RetrieveServiceContent", Moref.ServiceInstance).Replace("<soapenv:Body>", $"<soapenv:Header><pad xmlns=\"urn:test\">{padding}</pad></soapenv:Header><soapenv:Body>", StringComparison.Ordinal);
        var response = await client.PostAsync(body, "1 MB request");
        response.AssertOk("RetrieveServiceContent");
    }

    [TestMethod]
    [DataRow("GET")]
    [DataRow("PUT")]
    [DataRow("DELETE")]
    public async Task NonPostOnSdk_Gets405(string method)
    {
        var server = await SharedServer.GetAsync();
        using var client = NewClient(server);
        using var request = new HttpRequestMessage(new HttpMethod(method), "/sdk");
        if (method == "PUT")
        {
            request.Content = new StringContent("x");
        }

        var response = await client.SendAsync(request, $"{method} /sdk", expectSoap: false);
        Assert.AreEqual(405, response.StatusCode, response.ToString());
        Assert.IsTrue(response.HeaderValues("Allow").Any(v => v.Contains("POST", StringComparison.Ordinal)), "405 names the allowed method");
        Assert.IsTrue(response.Elapsed < Quick);
        await AssertStillServingAsync(server);
    }

    [TestMethod]
    public async Task VimServiceAlias_AndChunkedBody_AreServed()
    {
        var server = await SharedServer.GetAsync();
        using var client = NewClient(server);
        var response = await client.PostAsync(Soap.Call("RetrieveServiceContent", Moref.ServiceInstance), "POST /sdk/vimService (chunked)",
            r => r.Headers.TransferEncodingChunked = true, path: "/sdk/vimService");
        response.AssertOk("RetrieveServiceContent");
    }

    [TestMethod]
    public async Task VersionDocuments_AreServed()
    {
        var server = await SharedServer.GetAsync();
        using var client = NewClient(server);
        var versions = await client.GetAsync("/sdk/vimServiceVersions.xml");
        Assert.AreEqual(200, versions.StatusCode);
        var root = versions.Xml.Root!;
        Assert.AreEqual("namespaces", root.Name.LocalName);
        Assert.AreEqual("1.0", (string?)root.Attribute("version"), "pyVmomi rejects any other version");
        var ns = root.Elements("namespace").ToList();
        Assert.AreEqual(1, ns.Count, "only urn:vim25 (govc keeps the last namespace)");
        Assert.AreEqual("urn:vim25", (string?)ns[0].Element("name"));
        var all = new[] { (string?)ns[0].Element("version") }.Concat(ns[0].Element("priorVersions")?.Elements("version").Select(v => (string?)v) ?? []).ToList();
        foreach (var known in new[] { "8.0.3.0", "7.0.0.0", "6.7.1", "6.7", "6.5", "5.5", "5.0" })
        {
            Assert.IsTrue(all.Contains(known), $"vimServiceVersions.xml lacks {known}: {string.Join(", ", all)}");
        }

        var content = await client.CallAsync("RetrieveServiceContent", Moref.ServiceInstance);
        var apiVersion = (string?)content.ReturnValues("RetrieveServiceContent").Single().Element(Soap.Vim + "about")!.Element(Soap.Vim + "apiVersion");
        Assert.AreEqual(all[0], apiVersion, "about.apiVersion matches the newest version published");

        var wsdl = await client.GetAsync("/sdk/vimService.wsdl");
        Assert.AreEqual(200, wsdl.StatusCode, wsdl.ToString());
        Assert.AreEqual("definitions", wsdl.Xml.Root!.Name.LocalName);
        Assert.IsTrue(wsdl.Body.Contains($"127.0.0.1:{server.Port}/sdk/vimService", StringComparison.Ordinal), "the service address is the one the client used");

        var missing = await client.GetAsync("/sdk/../../etc/passwd");
        Assert.AreNotEqual(200, missing.StatusCode, "no file outside wsdl/ is served");
        Assert.IsFalse(missing.Body.Contains("root:", StringComparison.Ordinal));
    }

    [TestMethod]
    [DataRow("127.0.0.1")]
    [DataRow("localhost")]
    public async Task Certificate_IsValidForTheLoopbackNamesExceptForItsUntrustedIssuer(string hostName)
    {
        var server = await SharedServer.GetAsync();
        using var tcp = new System.Net.Sockets.TcpClient();
        using var timeout = new CancellationTokenSource(Quick);
        await tcp.ConnectAsync("127.0.0.1", server.Port, timeout.Token);
        var errors = System.Net.Security.SslPolicyErrors.None;
        System.Security.Cryptography.X509Certificates.X509Certificate2? certificate = null;
        await using var tls = new System.Net.Security.SslStream(tcp.GetStream(), false, (_, cert, _, e) =>
        {
            errors = e;
            certificate = cert is null ? null : System.Security.Cryptography.X509Certificates.X509CertificateLoader.LoadCertificate(cert.GetRawCertData());
            return true;
        });
        await tls.AuthenticateAsClientAsync(new System.Net.Security.SslClientAuthenticationOptions { TargetHost = hostName }, timeout.Token);
        Assert.IsNotNull(certificate);
        Assert.IsFalse(errors.HasFlag(System.Net.Security.SslPolicyErrors.RemoteCertificateNameMismatch), $"the certificate does not cover {hostName} ({errors}); subject {certificate.Subject}");
        Assert.IsTrue(certificate.NotAfter > DateTime.Now.AddYears(1), $"certificate expires {certificate.NotAfter:o}");
        Assert.IsTrue(tls.SslProtocol is System.Security.Authentication.SslProtocols.Tls12 or System.Security.Authentication.SslProtocols.Tls13, $"TLS version {tls.SslProtocol}");
    }

    private async Task<Dictionary<string, string>> ViewMembersAsync(SoapClient client, string recursive, string skip)
    {
        var created = await client.CallAsync("CreateContainerView", Moref.ViewManager,
            $"{Moref.RootFolder.Xml("container")}<type>VirtualMachine</type><recursive>{recursive}</recursive>");
        var view = Moref.From(created.ReturnValues("CreateContainerView").Single());
        var spec = "<specSet><propSet><type>VirtualMachine</type><pathSet>name</pathSet></propSet>"
            + $"<objectSet>{view.Xml("obj")}<skip>{skip}</skip><selectSet xsi:type=\"TraversalSpec\"><type>ContainerView</type><path>view</path><skip>0</skip></selectSet></objectSet></specSet>";
        var response = await client.PostAsync(Soap.Call("RetrieveProperties", Moref.PropertyCollector, spec), $"view members (recursive={recursive}, skip={skip})");
        var members = response.ReturnValues("RetrieveProperties").ToDictionary(
            r => r.Element(Soap.Vim + "obj")!.Value,
            r => r.Element(Soap.Vim + "propSet")!.Element(Soap.Vim + "val")!.Value);
        (await client.CallAsync("DestroyView", view)).AssertOk("DestroyView");
        return members;
    }
}
