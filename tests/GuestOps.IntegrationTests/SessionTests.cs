using System.Globalization;
using GuestOps.IntegrationTests.Infrastructure;

namespace GuestOps.IntegrationTests;

/// <summary>SessionManager and ServiceInstance over the wire: Login, SessionIsActive, CurrentTime, Logout, ServiceContent.</summary>
// Hand-built SOAP on purpose: this class tests the wire itself (the UserSession and ServiceContent elements, their order and dateTime form), not a typed client.
[TestClass]
public sealed class SessionTests : IntegrationTest
{
    [TestMethod]
    public async Task RetrieveServiceContent_WithoutSession_HasTheObjectsClientsNeed()
    {
        var server = await SharedServer.GetAsync();
        using var client = NewClient(server);
        var content = (await client.CallAsync("RetrieveServiceContent", Moref.ServiceInstance)).ReturnValues("RetrieveServiceContent").Single();
        Moref Ref(string name) => Moref.From(content.Element(Soap.Vim + name) ?? throw new AssertFailedException($"ServiceContent.{name} is missing"));
        Assert.AreEqual(Moref.RootFolder, Ref("rootFolder"));
        Assert.AreEqual(Moref.PropertyCollector, Ref("propertyCollector"));
        Assert.AreEqual(Moref.ViewManager, Ref("viewManager"));
        Assert.AreEqual(Moref.SessionManager, Ref("sessionManager"));
        Assert.AreEqual(Moref.SearchIndex, Ref("searchIndex"));
        Assert.AreEqual(Moref.GuestOperationsManager, Ref("guestOperationsManager"));
        var about = content.Element(Soap.Vim + "about")!;
        Assert.AreEqual("HostAgent", (string?)about.Element(Soap.Vim + "apiType"));
        Assert.IsFalse(string.IsNullOrEmpty((string?)about.Element(Soap.Vim + "instanceUuid")), "about.instanceUuid");

        // The guest operations managers are reachable through the PropertyCollector, as govc reads them.
        await client.LoginOkAsync();
        var managers = await client.PostAsync(Soap.RetrievePropertiesEx(Moref.GuestOperationsManager, null, "authManager", "fileManager", "processManager"), "guest operations managers");
        var props = managers.ReturnValues("RetrievePropertiesEx").Single().Descendants(Soap.Vim + "propSet")
            .ToDictionary(p => p.Element(Soap.Vim + "name")!.Value, p => Moref.From(p.Element(Soap.Vim + "val")!));
        Assert.AreEqual(new Moref("GuestAuthManager", "guestOperationsAuthManager"), props["authManager"]);
        Assert.AreEqual(new Moref("GuestFileManager", "guestOperationsFileManager"), props["fileManager"]);
        Assert.AreEqual(new Moref("GuestProcessManager", "guestOperationsProcessManager"), props["processManager"]);
        await client.CallAsync("Logout", Moref.SessionManager);
    }

    [TestMethod]
    public async Task Login_ReturnsAFullUserSession()
    {
        var server = await SharedServer.GetAsync();
        using var client = NewClient(server);
        var before = DateTime.UtcNow.AddMinutes(-1);
        var response = await client.LoginAsync();
        var session = response.ReturnValues("Login").Single();
        string[] order = ["key", "userName", "fullName", "loginTime", "lastActiveTime", "locale", "messageLocale", "extensionSession", "ipAddress", "userAgent", "callCount"];
        CollectionAssert.AreEqual(order, session.Elements().Select(e => e.Name.LocalName).ToList(), "UserSession fields, all present, in WSDL order");
        Assert.AreEqual("root", (string?)session.Element(Soap.Vim + "userName"));
        Assert.AreEqual("127.0.0.1", (string?)session.Element(Soap.Vim + "ipAddress"));
        var loginTime = DateTime.Parse(session.Element(Soap.Vim + "loginTime")!.Value, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal);
        Assert.IsTrue(loginTime > before && loginTime < DateTime.UtcNow.AddMinutes(1), $"loginTime {loginTime:o}");
        Assert.IsTrue(session.Element(Soap.Vim + "loginTime")!.Value.EndsWith('Z'), "dateTime in UTC with Z");
        await client.CallAsync("Logout", Moref.SessionManager);
    }

    [TestMethod]
    public async Task SessionIsActive_AndCurrentTime()
    {
        var server = await SharedServer.GetAsync();
        using var client = NewClient(server);
        var key = await client.LoginOkAsync();

        async Task<bool> IsActiveAsync(string sessionId, string user)
        {
            var response = await client.CallAsync("SessionIsActive", Moref.SessionManager, Soap.Element("sessionID", sessionId) + Soap.Element("userName", user));
            return bool.Parse(response.ReturnValues("SessionIsActive").Single().Value);
        }

        Assert.IsTrue(await IsActiveAsync(key, "root"));
        Assert.IsFalse(await IsActiveAsync(key, "someone-else"));
        Assert.IsFalse(await IsActiveAsync("00000000-0000-0000-0000-000000000000", "root"));

        var time = await client.CallAsync("CurrentTime", Moref.ServiceInstance);
        var text = time.ReturnValues("CurrentTime").Single().Value;
        Assert.IsTrue(text.EndsWith('Z'), $"CurrentTime {text} must be UTC with Z");
        var now = DateTime.Parse(text, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal);
        Assert.IsTrue(Math.Abs((now - DateTime.UtcNow).TotalMinutes) < 2, $"CurrentTime {text} is not now");
        await client.CallAsync("Logout", Moref.SessionManager);
    }

    [TestMethod]
    public async Task Logout_EndsTheSession()
    {
        var server = await SharedServer.GetAsync();
        using var client = NewClient(server);
        using var observer = NewClient(server);
        var key = await client.LoginOkAsync();
        await observer.LoginOkAsync();
        (await client.CallAsync("Logout", Moref.SessionManager)).AssertOk("Logout");

        (await client.CallAsync("CurrentTime", Moref.ServiceInstance)).AssertFault("NotAuthenticated", "RuntimeFaultFault");
        (await client.CallAsync("Logout", Moref.SessionManager)).AssertFault("NotAuthenticated", "RuntimeFaultFault");
        var active = await observer.CallAsync("SessionIsActive", Moref.SessionManager, Soap.Element("sessionID", key) + Soap.Element("userName", "root"));
        Assert.AreEqual("false", active.ReturnValues("SessionIsActive").Single().Value, "SessionIsActive after Logout");

        // Logging in again on the same client gives a new session.
        var again = await client.LoginOkAsync();
        Assert.AreNotEqual(key, again, "a new Login must issue a new session key");
        (await client.CallAsync("CurrentTime", Moref.ServiceInstance)).AssertOk("CurrentTime");
        await client.CallAsync("Logout", Moref.SessionManager);
        await observer.CallAsync("Logout", Moref.SessionManager);
    }
}
