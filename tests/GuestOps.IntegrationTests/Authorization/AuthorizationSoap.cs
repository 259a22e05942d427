using System.Xml.Linq;
using GuestOps.IntegrationTests.Infrastructure;

namespace GuestOps.IntegrationTests.Authorization;

/// <summary>AuthorizationManager, HostLocalAccountManager and EventManager requests as a vSphere client sends them.</summary>
public static class AuthorizationSoap
{
    public static readonly Moref AuthorizationManager = new("AuthorizationManager", "AuthorizationManager");
    public static readonly Moref AccountManager = new("HostLocalAccountManager", "HostLocalAccountManager");
    public static readonly Moref EventManager = new("EventManager", "EventManager");

    public static async Task CreateUserAsync(SoapClient client, string name, string password, string description = "")
    {
        var spec = $"<user xsi:type=\"HostAccountSpec\">{Soap.Element("id", name)}{Soap.Element("password", password)}{Soap.Element("description", description)}</user>";
        (await client.CallAsync("CreateUser", AccountManager, spec)).AssertOk("CreateUser");
    }

    public static async Task<int> AddRoleAsync(SoapClient client, string name, IEnumerable<string> privileges)
    {
        var response = await client.CallAsync("AddAuthorizationRole", AuthorizationManager,
            Soap.Element("name", name) + string.Concat(privileges.Select(p => Soap.Element("privIds", p))));
        return int.Parse(response.ReturnValues("AddAuthorizationRole").Single().Value, System.Globalization.CultureInfo.InvariantCulture);
    }

    public static string Permission(string principal, int roleId, bool propagate, bool group = false) =>
        $"<permission>{Soap.Element("principal", principal)}<group>{(group ? "true" : "false")}</group><roleId>{roleId}</roleId><propagate>{(propagate ? "true" : "false")}</propagate></permission>";

    public static Task<SoapResponse> SetPermissionsAsync(SoapClient client, Moref entity, params string[] permissions) =>
        client.CallAsync("SetEntityPermissions", AuthorizationManager, entity.Xml("entity") + string.Concat(permissions));

    public static Task<SoapResponse> RemovePermissionAsync(SoapClient client, Moref entity, string principal, bool isGroup = false) =>
        client.CallAsync("RemoveEntityPermission", AuthorizationManager,
            entity.Xml("entity") + Soap.Element("user", principal) + $"<isGroup>{(isGroup ? "true" : "false")}</isGroup>");

    public static async Task<IReadOnlyList<bool>> HasPrivilegeOnEntityAsync(SoapClient client, Moref entity, string sessionId, params string[] privileges)
    {
        var response = await client.CallAsync("HasPrivilegeOnEntity", AuthorizationManager,
            entity.Xml("entity") + Soap.Element("sessionId", sessionId) + string.Concat(privileges.Select(p => Soap.Element("privId", p))));
        return response.ReturnValues("HasPrivilegeOnEntity").Select(e => e.Value == "true").ToList();
    }

    /// <summary>QueryEvents with an entity filter (recursion all) and optional user filter; returns the events.</summary>
    public static async Task<IReadOnlyList<XElement>> QueryEventsAsync(SoapClient client, Moref? entity = null, string? user = null, int? maxCount = null)
    {
        var filter = "<filter>"
            + (entity is { } e ? $"<entity>{e.Xml("entity")}<recursion>all</recursion></entity>" : "")
            + (user is null ? "" : $"<userName><systemUser>false</systemUser>{Soap.Element("userList", user)}</userName>")
            + (maxCount is null ? "" : $"<maxCount>{maxCount}</maxCount>")
            + "</filter>";
        var response = await client.CallAsync("QueryEvents", EventManager, filter);
        return response.ReturnValues("QueryEvents");
    }

    /// <summary>The value of an EventEx argument.</summary>
    public static string? Argument(XElement e, string key) =>
        e.Elements(Soap.Vim + "arguments").FirstOrDefault(a => (string?)a.Element(Soap.Vim + "key") == key)?.Element(Soap.Vim + "value")?.Value;

    public static string? Text(XElement e, string name) => (string?)e.Element(Soap.Vim + name);
}
