using System.Xml.Linq;
using GuestOps.IntegrationTests.Infrastructure;

namespace GuestOps.IntegrationTests;

/// <summary>
/// The inventory and PropertyCollector as clients walk them: RetrievePropertiesEx paging, govc's traverseParent
/// recursion (capture govc/004, govc/008), all=true on a VM (govc/016), currentSession with and without a session,
/// the VM properties issue 2 lists, datacenter folder traversal, SearchIndex and ContainerView lifetimes.
/// </summary>
// Hand-built SOAP on purpose: this class tests the wire itself (the exact PropertyCollector requests of clients: govc's traversal specs as captured), not a typed client.
[TestClass]
public sealed class InventoryTests : IntegrationTest
{
    /// <summary>govc's parent walk (govc/004 and govc/008, XMLSchema-instance prefix and all).</summary>
    private const string TraverseParentSelectSet =
        "<selectSet xmlns:XMLSchema-instance=\"http://www.w3.org/2001/XMLSchema-instance\" XMLSchema-instance:type=\"TraversalSpec\"><name>traverseParent</name><type>ManagedEntity</type><path>parent</path><skip>false</skip><selectSet XMLSchema-instance:type=\"SelectionSpec\"><name>traverseParent</name></selectSet></selectSet>"
        + "<selectSet xmlns:XMLSchema-instance=\"http://www.w3.org/2001/XMLSchema-instance\" XMLSchema-instance:type=\"TraversalSpec\"><type>VirtualMachine</type><path>parentVApp</path><skip>false</skip><selectSet XMLSchema-instance:type=\"SelectionSpec\"><name>traverseParent</name></selectSet></selectSet>";

    [TestMethod]
    public async Task RetrievePropertiesEx_MaxObjectsOne_PagesThroughTheViewWithTokens()
    {
        var server = await SharedServer.GetAsync();
        using var client = NewClient(server);
        await client.LoginOkAsync();
        var view = await CreateVmViewAsync(client);

        var first = await client.PostAsync(Soap.Call("RetrievePropertiesEx", Moref.PropertyCollector, Soap.ViewSpec(view, "VirtualMachine", "name") + Soap.Options(1)), "page 1");
        var result = first.ReturnValues("RetrievePropertiesEx").Single();
        var token = (string?)result.Element(Soap.Vim + "token");
        var pages = new List<List<string>> { Names(result) };
        Assert.AreEqual(1, pages[0].Count, "maxObjects=1: one object on the first page");
        Assert.IsFalse(string.IsNullOrEmpty(token), "more objects remain, so a token must come back");

        for (var i = 0; token is not null && i < 10; i++)
        {
            var next = await client.CallAsync("ContinueRetrievePropertiesEx", Moref.PropertyCollector, Soap.Element("token", token));
            var page = next.ReturnValues("ContinueRetrievePropertiesEx").Single();
            pages.Add(Names(page));
            token = (string?)page.Element(Soap.Vim + "token");
        }

        Assert.IsNull(token, "the last page has no token");
        var all = pages.SelectMany(p => p).ToList();
        CollectionAssert.AreEquivalent(SharedServer.VirtualMachineNames, all, $"pages: {string.Join(" | ", pages.Select(p => string.Join(",", p)))}");

        // Without maxObjects everything comes at once, without a token.
        var whole = await client.PostAsync(Soap.Call("RetrievePropertiesEx", Moref.PropertyCollector, Soap.ViewSpec(view, "VirtualMachine", "name") + Soap.Options(null)), "no maxObjects");
        var wholeResult = whole.ReturnValues("RetrievePropertiesEx").Single();
        Assert.IsNull(wholeResult.Element(Soap.Vim + "token"));
        CollectionAssert.AreEquivalent(SharedServer.VirtualMachineNames, Names(wholeResult));
        await client.CallAsync("Logout", Moref.SessionManager);
    }

    [TestMethod]
    public async Task ContinueRetrievePropertiesEx_TokenIsOneShotCancellableAndBoundToItsSession()
    {
        var server = await SharedServer.GetAsync();
        using var owner = NewClient(server);
        using var other = NewClient(server);
        await owner.LoginOkAsync();
        await other.LoginOkAsync();
        var view = await CreateVmViewAsync(owner);

        async Task<string> TokenAsync()
        {
            var response = await owner.PostAsync(Soap.Call("RetrievePropertiesEx", Moref.PropertyCollector, Soap.ViewSpec(view, "VirtualMachine", "name") + Soap.Options(1)), "page 1");
            return (string?)response.ReturnValues("RetrievePropertiesEx").Single().Element(Soap.Vim + "token") ?? throw new AssertFailedException("no token");
        }

        var token = await TokenAsync();
        var stolen = await other.CallAsync("ContinueRetrievePropertiesEx", Moref.PropertyCollector, Soap.Element("token", token));
        stolen.AssertFault("InvalidArgument", "RuntimeFaultFault");
        (await owner.CallAsync("ContinueRetrievePropertiesEx", Moref.PropertyCollector, Soap.Element("token", token))).AssertOk("ContinueRetrievePropertiesEx");
        var again = await owner.CallAsync("ContinueRetrievePropertiesEx", Moref.PropertyCollector, Soap.Element("token", token));
        again.AssertFault("InvalidArgument", "RuntimeFaultFault");

        var cancelled = await TokenAsync();
        (await owner.CallAsync("CancelRetrievePropertiesEx", Moref.PropertyCollector, Soap.Element("token", cancelled))).AssertOk("CancelRetrievePropertiesEx");
        var afterCancel = await owner.CallAsync("ContinueRetrievePropertiesEx", Moref.PropertyCollector, Soap.Element("token", cancelled));
        afterCancel.AssertFault("InvalidArgument", "RuntimeFaultFault");

        var unknown = await owner.CallAsync("ContinueRetrievePropertiesEx", Moref.PropertyCollector, Soap.Element("token", "no-such-token"));
        unknown.AssertFault("InvalidArgument", "RuntimeFaultFault");

        await owner.CallAsync("Logout", Moref.SessionManager);
        await other.CallAsync("Logout", Moref.SessionManager);
    }

    [TestMethod]
    public async Task TraverseParentRecursion_FromAVm_WalksUpToTheRootAndStops()
    {
        var server = await SharedServer.GetAsync();
        using var client = NewClient(server);
        client.SoapAction = "urn:vim25/7.0";
        await client.LoginOkAsync();
        var vm = await VmIdAsync(client, "demo-vm-2");

        var spec = "<specSet><propSet><type>ManagedEntity</type><pathSet>name</pathSet><pathSet>parent</pathSet></propSet><propSet><type>VirtualMachine</type><pathSet>parentVApp</pathSet></propSet>"
            + $"<objectSet>{Moref.Vm(vm).Xml("obj")}<skip>false</skip>{TraverseParentSelectSet}</objectSet></specSet>";
        var response = await client.PostAsync(Soap.Call("RetrieveProperties", Moref.PropertyCollector, spec), "govc traverseParent from a VM");
        var objects = response.ReturnValues("RetrieveProperties").ToDictionary(r => Moref.From(r.Element(Soap.Vim + "obj")!), Properties);
        CollectionAssert.AreEquivalent(new[] { Moref.Vm(vm), Moref.VmFolder, Moref.Datacenter, Moref.RootFolder }, objects.Keys.ToList());
        Assert.AreEqual("demo-vm-2", objects[Moref.Vm(vm)]["name"].Value);
        Assert.AreEqual(Moref.VmFolder, Moref.From(objects[Moref.Vm(vm)]["parent"]));
        Assert.AreEqual("vm", objects[Moref.VmFolder]["name"].Value);
        Assert.AreEqual(Moref.Datacenter, Moref.From(objects[Moref.VmFolder]["parent"]));
        Assert.AreEqual("ha-datacenter", objects[Moref.Datacenter]["name"].Value);
        Assert.AreEqual(Moref.RootFolder, Moref.From(objects[Moref.Datacenter]["parent"]));
        Assert.IsFalse(objects[Moref.RootFolder].ContainsKey("parent"), "the root folder has no parent: the property is left out");
        Assert.IsFalse(objects[Moref.Vm(vm)].ContainsKey("parentVApp"), "a VM outside a vApp has no parentVApp: left out");
        AssertNoMissingSet(response);

        // From the root folder (govc/004): only the root itself.
        var fromRoot = "<specSet><propSet><type>ManagedEntity</type><pathSet>name</pathSet><pathSet>parent</pathSet></propSet><propSet><type>VirtualMachine</type><pathSet>parentVApp</pathSet></propSet>"
            + $"<objectSet>{Moref.RootFolder.Xml("obj")}<skip>false</skip>{TraverseParentSelectSet}</objectSet></specSet>";
        var root = await client.PostAsync(Soap.Call("RetrieveProperties", Moref.PropertyCollector, fromRoot), "govc traverseParent from the root folder");
        var rootObjects = root.ReturnValues("RetrieveProperties");
        Assert.AreEqual(1, rootObjects.Count);
        Assert.AreEqual("Datacenters", Properties(rootObjects[0])["name"].Value);
        await client.CallAsync("Logout", Moref.SessionManager);
    }

    [TestMethod]
    public async Task AllTrueOnAVm_ReturnsEveryPropertyTypedAndNoMissingSet()
    {
        var server = await SharedServer.GetAsync();
        using var client = NewClient(server);
        await client.LoginOkAsync();
        var vm = await VmIdAsync(client, "demo-vm-1");

        // govc/016
        var spec = $"<specSet><propSet><type>VirtualMachine</type><all>true</all></propSet><objectSet>{Moref.Vm(vm).Xml("obj")}<skip>false</skip></objectSet></specSet>";
        var response = await client.PostAsync(Soap.Call("RetrieveProperties", Moref.PropertyCollector, spec), "all=true on a VM");
        var props = Properties(response.ReturnValues("RetrieveProperties").Single());
        foreach (var name in new[] { "name", "parent", "runtime", "config", "guest", "summary" })
        {
            Assert.IsTrue(props.ContainsKey(name), $"all=true lacks {name}; has {string.Join(", ", props.Keys)}");
        }

        foreach (var (name, val) in props)
        {
            Assert.IsNotNull(val.Attribute(Soap.Xsi + "type"), $"{name}: anyType value without xsi:type");
        }

        Assert.AreEqual("GuestInfo", XsiType(props["guest"]));
        Assert.AreEqual("VirtualMachineRuntimeInfo", XsiType(props["runtime"]));
        Assert.AreEqual("VirtualMachineConfigInfo", XsiType(props["config"]));
        Assert.AreEqual("VirtualMachineSummary", XsiType(props["summary"]));
        AssertNoMissingSet(response);

        // The same through RetrievePropertiesEx.
        var ex = await client.PostAsync(Soap.Call("RetrievePropertiesEx", Moref.PropertyCollector, spec + "<options/>"), "all=true on a VM (Ex)");
        var exObjects = ex.ReturnValues("RetrievePropertiesEx").Single().Elements(Soap.Vim + "objects").ToList();
        Assert.AreEqual(1, exObjects.Count);
        CollectionAssert.AreEquivalent(props.Keys.ToList(), Properties(exObjects[0]).Keys.ToList());
        await client.CallAsync("Logout", Moref.SessionManager);
    }

    [TestMethod]
    public async Task VmProperties_IssueTwoList_AreServedWithTheirWireTypes()
    {
        var server = await SharedServer.GetAsync();
        using var client = NewClient(server);
        await client.LoginOkAsync();
        var vm = await VmIdAsync(client, "demo-vm-1");
        var required = new Dictionary<string, string>
        {
            ["name"] = "string",
            ["parent"] = "ManagedObjectReference",
            ["config.name"] = "string",
            ["config.uuid"] = "string",
            ["config.instanceUuid"] = "string",
            ["config.guestId"] = "string",
            ["runtime.powerState"] = "VirtualMachinePowerState",
            ["guest.toolsStatus"] = "VirtualMachineToolsStatus",
            ["guest.toolsRunningStatus"] = "string",
            ["guest.toolsVersionStatus2"] = "string",
            ["guest.guestOperationsReady"] = "boolean",
            ["guest.interactiveGuestOperationsReady"] = "boolean",
            ["guest.guestState"] = "string",
            ["summary"] = "VirtualMachineSummary",
        };
        string[] optional = ["guest.guestFamily", "guest.hostName", "guest.ipAddress", "summary.guest.ipAddress", "summary.config.name"];
        var response = await client.PostAsync(Soap.RetrievePropertiesEx(Moref.Vm(vm), null, [.. required.Keys, .. optional]), "VM properties");
        var objects = response.ReturnValues("RetrievePropertiesEx").Single().Elements(Soap.Vim + "objects").ToList();
        Assert.AreEqual(1, objects.Count);
        var props = Properties(objects[0]);
        foreach (var (path, type) in required)
        {
            Assert.IsTrue(props.ContainsKey(path), $"{path} is missing; returned: {string.Join(", ", props.Keys)}");
            Assert.AreEqual(type, XsiType(props[path]), $"xsi:type of {path}");
        }

        Assert.AreEqual("demo-vm-1", props["config.name"].Value);
        Assert.AreEqual(props["name"].Value, props["config.name"].Value);
        Assert.IsTrue(Guid.TryParse(props["config.uuid"].Value, out _), "config.uuid");
        Assert.IsTrue(Guid.TryParse(props["config.instanceUuid"].Value, out _), "config.instanceUuid");
        Assert.IsTrue(props["runtime.powerState"].Value is "poweredOn" or "poweredOff" or "suspended");
        Assert.IsTrue(props["guest.guestOperationsReady"].Value is "true" or "false");
        if (props.TryGetValue("summary.config.name", out var summaryName))
        {
            Assert.AreEqual("demo-vm-1", summaryName.Value);
        }

        AssertNoMissingSet(response);
        await client.CallAsync("Logout", Moref.SessionManager);
    }

    [TestMethod]
    public async Task InvalidPropertyPath_GetsInvalidProperty()
    {
        var server = await SharedServer.GetAsync();
        using var client = NewClient(server);
        await client.LoginOkAsync();
        var vm = await VmIdAsync(client, "demo-vm-1");
        var response = await client.PostAsync(Soap.RetrieveProperties(Moref.Vm(vm), "noSuchProperty"), "unknown property path");
        var fault = response.AssertFault("InvalidProperty", "InvalidPropertyFault");
        Assert.AreEqual("noSuchProperty", (string?)fault.Detail.Element(Soap.Vim + "name"));
        await client.CallAsync("Logout", Moref.SessionManager);
    }

    [TestMethod]
    public async Task UnknownObject_WithReportMissingObjectsInResults_IsReportedInMissingSet()
    {
        var server = await SharedServer.GetAsync();
        using var client = NewClient(server);
        await client.LoginOkAsync();
        var vm = await VmIdAsync(client, "demo-vm-1");
        var spec = "<specSet><propSet><type>VirtualMachine</type><pathSet>name</pathSet></propSet>"
            + $"<objectSet>{Moref.Vm(vm).Xml("obj")}</objectSet><objectSet>{Moref.Vm("vm-99999").Xml("obj")}</objectSet>"
            + "<reportMissingObjectsInResults>true</reportMissingObjectsInResults></specSet>";
        var response = await client.PostAsync(Soap.Call("RetrievePropertiesEx", Moref.PropertyCollector, spec + "<options/>"), "reportMissingObjectsInResults");
        var objects = response.ReturnValues("RetrievePropertiesEx").Single().Elements(Soap.Vim + "objects").ToDictionary(o => Moref.From(o.Element(Soap.Vim + "obj")!));
        CollectionAssert.AreEquivalent(new[] { Moref.Vm(vm), Moref.Vm("vm-99999") }, objects.Keys.ToList());
        Assert.AreEqual("demo-vm-1", Properties(objects[Moref.Vm(vm)])["name"].Value);
        var missing = objects[Moref.Vm("vm-99999")].Element(Soap.Vim + "missingSet");
        Assert.IsNotNull(missing, "the unknown object is reported in missingSet");
        Assert.AreEqual("ManagedObjectNotFound", XsiType(missing.Element(Soap.Vim + "fault")!.Element(Soap.Vim + "fault")!));
        await client.CallAsync("Logout", Moref.SessionManager);
    }

    [TestMethod]
    public async Task CurrentSession_WithoutSessionIsUnset_WithSessionIsTheCaller()
    {
        var server = await SharedServer.GetAsync();
        using var client = NewClient(server);

        // govc reads this with a cached cookie first: no session must mean "unset", not a fault.
        foreach (var (label, request) in new[]
        {
            ("RetrieveProperties", Soap.RetrieveProperties(Moref.SessionManager, "currentSession")),
            ("RetrievePropertiesEx", Soap.RetrievePropertiesEx(Moref.SessionManager, null, "currentSession")),
        })
        {
            var response = await client.PostAsync(request, $"currentSession without a session ({label})");
            var payload = response.AssertOk(label);
            Assert.IsFalse(payload.Descendants(Soap.Vim + "propSet").Any(), $"{label}: currentSession must be unset without a session{Environment.NewLine}{payload}");
            AssertNoMissingSet(response);
        }

        var key = await client.LoginOkAsync();
        var withSession = await client.PostAsync(Soap.RetrievePropertiesEx(Moref.SessionManager, null, "currentSession"), "currentSession with a session");
        var val = withSession.ReturnValues("RetrievePropertiesEx").Single().Descendants(Soap.Vim + "val").Single();
        Assert.AreEqual("UserSession", XsiType(val));
        Assert.AreEqual(key, (string?)val.Element(Soap.Vim + "key"));
        Assert.AreEqual("root", (string?)val.Element(Soap.Vim + "userName"));
        await client.CallAsync("Logout", Moref.SessionManager);
    }

    [TestMethod]
    public async Task DatacenterListing_TraversesTheFourFolders()
    {
        var server = await SharedServer.GetAsync();
        using var client = NewClient(server);
        await client.LoginOkAsync();
        var selectSet = string.Concat(new[] { "vmFolder", "hostFolder", "datastoreFolder", "networkFolder" }.Select(p =>
            $"<selectSet xsi:type=\"TraversalSpec\"><type>Datacenter</type><path>{p}</path><skip>false</skip></selectSet>"));
        var response = await client.PostAsync(
            Soap.Call("RetrieveProperties", Moref.PropertyCollector, Soap.FilterSpec([("Folder", ["name", "childType"])], Moref.Datacenter, skip: true, selectSet)),
            "govc ListDatacenter");
        var folders = response.ReturnValues("RetrieveProperties").Select(Properties).Select(p => p["name"].Value).ToList();
        CollectionAssert.AreEquivalent(new[] { "vm", "host", "datastore", "network" }, folders);

        var dc = await client.PostAsync(Soap.RetrieveProperties(Moref.Datacenter, "name", "vmFolder", "hostFolder", "datastoreFolder", "networkFolder"), "datacenter (govc/013)");
        var props = Properties(dc.ReturnValues("RetrieveProperties").Single());
        Assert.AreEqual("ha-datacenter", props["name"].Value);
        Assert.AreEqual(Moref.VmFolder, Moref.From(props["vmFolder"]));
        await client.CallAsync("Logout", Moref.SessionManager);
    }

    [TestMethod]
    public async Task SearchIndex_FindsByPathChildUuidAndReturnsNothingForUnknowns()
    {
        var server = await SharedServer.GetAsync();
        using var client = NewClient(server);
        await client.LoginOkAsync();
        var vm = await VmIdAsync(client, "demo-vm-3");

        async Task<Moref?> FindAsync(string operation, string parameters)
        {
            var response = await client.CallAsync(operation, Moref.SearchIndex, parameters);
            var found = response.ReturnValues(operation);
            return found.Count == 0 ? null : Moref.From(found.Single());
        }

        Assert.AreEqual(Moref.Vm(vm), await FindAsync("FindByInventoryPath", "<inventoryPath>ha-datacenter/vm/demo-vm-3</inventoryPath>"));
        Assert.AreEqual(Moref.Vm(vm), await FindAsync("FindByInventoryPath", "<inventoryPath>/ha-datacenter/vm/demo-vm-3/</inventoryPath>"));
        Assert.AreEqual(Moref.Datacenter, await FindAsync("FindByInventoryPath", "<inventoryPath>ha-datacenter</inventoryPath>"));
        Assert.AreEqual(Moref.VmFolder, await FindAsync("FindByInventoryPath", "<inventoryPath>ha-datacenter/vm</inventoryPath>"));
        Assert.IsNull(await FindAsync("FindByInventoryPath", "<inventoryPath>ha-datacenter/vm/no-such-vm</inventoryPath>"));
        Assert.IsNull(await FindAsync("FindByInventoryPath", "<inventoryPath>DC0/vm/demo-vm-3</inventoryPath>"));

        Assert.AreEqual(Moref.Vm(vm), await FindAsync("FindChild", $"{Moref.VmFolder.Xml("entity")}<name>demo-vm-3</name>"));
        Assert.AreEqual(Moref.Datacenter, await FindAsync("FindChild", $"{Moref.RootFolder.Xml("entity")}<name>ha-datacenter</name>"));
        Assert.IsNull(await FindAsync("FindChild", $"{Moref.RootFolder.Xml("entity")}<name>demo-vm-3</name>"), "FindChild looks at immediate children only");

        Assert.IsNull(await FindAsync("FindByUuid", "<uuid>00000000-0000-0000-0000-000000000000</uuid><vmSearch>true</vmSearch>"));
        Assert.IsNull(await FindAsync("FindByDnsName", "<dnsName>no-such-host.example</dnsName><vmSearch>true</vmSearch>"));
        Assert.IsNull(await FindAsync("FindByIp", "<ip>192.0.2.77</ip><vmSearch>true</vmSearch>"));

        var noSuchParent = await client.CallAsync("FindChild", Moref.SearchIndex, $"{new Moref("Folder", "folder-999").Xml("entity")}<name>x</name>");
        noSuchParent.AssertFault("ManagedObjectNotFound", "RuntimeFaultFault");
        await client.CallAsync("Logout", Moref.SessionManager);
    }

    [TestMethod]
    public async Task ContainerView_IsPerSessionAndDiesWithDestroyViewAndLogout()
    {
        var server = await SharedServer.GetAsync();
        using var owner = NewClient(server);
        using var other = NewClient(server);
        await owner.LoginOkAsync();
        await other.LoginOkAsync();

        var view = await CreateVmViewAsync(owner);
        var props = await owner.PostAsync(Soap.RetrieveProperties(view, "view", "container", "recursive", "type"), "view properties");
        var values = Properties(props.ReturnValues("RetrieveProperties").Single());
        Assert.AreEqual(SharedServer.VirtualMachineNames.Length, values["view"].Elements().Count(), "ContainerView.view");
        Assert.AreEqual("ArrayOfManagedObjectReference", XsiType(values["view"]));
        Assert.AreEqual(Moref.RootFolder, Moref.From(values["container"]));
        Assert.AreEqual("true", values["recursive"].Value);

        var foreign = await other.PostAsync(Soap.RetrieveProperties(view, "view"), "another session's view");
        foreign.AssertFault("ManagedObjectNotFound", "RuntimeFaultFault");

        (await owner.CallAsync("DestroyView", view)).AssertOk("DestroyView");
        (await owner.PostAsync(Soap.RetrieveProperties(view, "view"), "destroyed view")).AssertFault("ManagedObjectNotFound", "RuntimeFaultFault");

        var second = await CreateVmViewAsync(owner);
        (await owner.CallAsync("Logout", Moref.SessionManager)).AssertOk("Logout");
        await owner.LoginOkAsync();
        (await owner.PostAsync(Soap.RetrieveProperties(second, "view"), "view of a logged-out session")).AssertFault("ManagedObjectNotFound", "RuntimeFaultFault");

        await owner.CallAsync("Logout", Moref.SessionManager);
        await other.CallAsync("Logout", Moref.SessionManager);
    }

    [TestMethod]
    public async Task Fetch_ReadsOneTopLevelPropertyTyped()
    {
        var server = await SharedServer.GetAsync();
        using var client = NewClient(server);
        await client.LoginOkAsync();
        var vm = await VmIdAsync(client, "demo-vm-1");
        var guest = await client.CallAsync("Fetch", Moref.Vm(vm), "<prop>guest</prop>");
        Assert.AreEqual("GuestInfo", XsiType(guest.ReturnValues("Fetch").Single()));
        var name = await client.CallAsync("Fetch", Moref.Vm(vm), "<prop>name</prop>");
        Assert.AreEqual("demo-vm-1", name.ReturnValues("Fetch").Single().Value);
        var fileManager = await client.CallAsync("Fetch", Moref.GuestOperationsManager, "<prop>fileManager</prop>");
        Assert.AreEqual(new Moref("GuestFileManager", "guestOperationsFileManager"), Moref.From(fileManager.ReturnValues("Fetch").Single()));
        await client.CallAsync("Logout", Moref.SessionManager);
    }

    [TestMethod]
    public async Task ParallelClients_EachSeeTheirOwnViewsTokensAndSessions()
    {
        var server = await SharedServer.GetAsync();
        const int clients = 8;
        const int rounds = 8;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var work = Enumerable.Range(0, clients).Select(async n =>
        {
            using var client = NewClient(server);
            var key = await client.LoginOkAsync();
            for (var round = 0; round < rounds; round++)
            {
                var view = await CreateVmViewAsync(client);
                var first = await client.PostAsync(Soap.Call("RetrievePropertiesEx", Moref.PropertyCollector, Soap.ViewSpec(view, "VirtualMachine", "name", "runtime.powerState") + Soap.Options(2)), $"client {n} round {round} page 1");
                var result = first.ReturnValues("RetrievePropertiesEx").Single();
                var names = Names(result);
                var token = (string?)result.Element(Soap.Vim + "token");
                while (token is not null)
                {
                    var next = (await client.CallAsync("ContinueRetrievePropertiesEx", Moref.PropertyCollector, Soap.Element("token", token))).ReturnValues("ContinueRetrievePropertiesEx").Single();
                    names.AddRange(Names(next));
                    token = (string?)next.Element(Soap.Vim + "token");
                }

                CollectionAssert.AreEquivalent(SharedServer.VirtualMachineNames, names, $"client {n} round {round}");
                var current = await client.PostAsync(Soap.RetrieveProperties(Moref.SessionManager, "currentSession"), "currentSession");
                Assert.AreEqual(key, current.ReturnValues("RetrieveProperties").Single().Descendants(Soap.Vim + "key").Single().Value, $"client {n} sees its own session");
                (await client.CallAsync("DestroyView", view)).AssertOk("DestroyView");
            }

            (await client.CallAsync("Logout", Moref.SessionManager)).AssertOk("Logout");
        }).ToList();
        await Task.WhenAll(work);
        TestContext.WriteLine($"{clients} clients x {rounds} rounds in {clock.ElapsedMilliseconds} ms");
        await AssertStillServingAsync(server);
    }

    private static async Task<Moref> CreateVmViewAsync(SoapClient client)
    {
        var created = await client.CallAsync("CreateContainerView", Moref.ViewManager,
            $"{Moref.RootFolder.Xml("container")}<type>VirtualMachine</type><recursive>true</recursive>");
        var view = Moref.From(created.ReturnValues("CreateContainerView").Single());
        Assert.AreEqual("ContainerView", view.Type);
        return view;
    }

    private static async Task<string> VmIdAsync(SoapClient client, string name)
    {
        var response = await client.CallAsync("FindByInventoryPath", Moref.SearchIndex, Soap.Element("inventoryPath", "ha-datacenter/vm/" + name));
        return response.ReturnValues("FindByInventoryPath").SingleOrDefault()?.Value ?? throw new AssertFailedException($"VM {name} not found.");
    }

    private static List<string> Names(XElement result) =>
        result.Elements(Soap.Vim + "objects").Select(o => Properties(o)["name"].Value).ToList();

    /// <summary>propSet name → val of an ObjectContent.</summary>
    private static Dictionary<string, XElement> Properties(XElement objectContent) =>
        objectContent.Elements(Soap.Vim + "propSet").ToDictionary(p => p.Element(Soap.Vim + "name")!.Value, p => p.Element(Soap.Vim + "val")!);

    /// <summary>The local part of an element's xsi:type (xsd:string → string).</summary>
    private static string? XsiType(XElement element) => ((string?)element.Attribute(Soap.Xsi + "type"))?.Split(':').Last();

    private static void AssertNoMissingSet(SoapResponse response) =>
        Assert.IsFalse(response.Payload.Descendants(Soap.Vim + "missingSet").Any(), $"{response.Description}: unset properties must be left out, not put in missingSet{Environment.NewLine}{response.Body}");
}
