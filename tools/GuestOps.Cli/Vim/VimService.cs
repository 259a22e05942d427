using System.Xml.Linq;
using GuestOps.Cli.Soap;
using GuestOps.Vim;

namespace GuestOps.Cli.Vim;

/// <summary>The session, inventory and PropertyCollector calls made before guest operations (reference 2).</summary>
public sealed class VimService(VimSoapClient soap, ServiceContentInfo content)
{
    public static readonly ManagedObjectReference ServiceInstance = new("ServiceInstance", "ServiceInstance");

    public VimSoapClient Soap { get; } = soap;

    public ServiceContentInfo Content { get; } = content;

    public static async Task<VimService> ConnectAsync(VimSoapClient soap, CancellationToken cancellationToken)
    {
        var response = await soap.InvokeAsync(new SoapRequest("RetrieveServiceContent", ServiceInstance), cancellationToken);
        var content = response.ReturnValues().FirstOrDefault() ?? throw new InvalidDataException("RetrieveServiceContent returned nothing.");
        return new VimService(soap, ServiceContentInfo.Read(content));
    }

    public async Task<string> LoginAsync(string userName, string password, CancellationToken cancellationToken)
    {
        var request = new SoapRequest("Login", Content.Require(Content.SessionManager, "SessionManager"))
            .String("userName", userName).String("password", password);
        var session = (await Soap.InvokeAsync(request, cancellationToken)).ReturnValues().FirstOrDefault();
        return session?.Text("userName") ?? userName;
    }

    public Task LogoutAsync(CancellationToken cancellationToken) =>
        Soap.InvokeAsync(new SoapRequest("Logout", Content.Require(Content.SessionManager, "SessionManager")), cancellationToken);

    /// <summary>The user of the current session, or null when the cookie names no live session (govc's check).</summary>
    public async Task<string?> CurrentSessionUserAsync(CancellationToken cancellationToken)
    {
        try
        {
            var properties = await RetrievePropertiesAsync(Content.Require(Content.SessionManager, "SessionManager"), ["currentSession"], cancellationToken);
            return properties.TryGetValue("currentSession", out var session) ? session.Text("userName") ?? "" : null;
        }
        catch (SoapFaultException e) when (e.Is("NotAuthenticated", "ManagedObjectNotFound"))
        {
            return null;
        }
    }

    /// <summary>Some properties of one object (RetrievePropertiesEx, govmomi's single-object read); unset ones are absent.</summary>
    public async Task<Dictionary<string, XElement>> RetrievePropertiesAsync(ManagedObjectReference obj, IReadOnlyList<string> paths, CancellationToken cancellationToken)
    {
        var result = new Dictionary<string, XElement>(StringComparer.Ordinal);
        foreach (var content in await RetrieveAsync(obj.type, paths, spec => spec.MoRef("obj", obj).Bool("skip", false), cancellationToken))
        {
            foreach (var missing in content.Children("missingSet"))
            {
                if (missing.Child("fault")?.Child("fault") is { } fault)
                {
                    throw new SoapFaultException(fault.XsiType() ?? "MethodFault", missing.Child("fault")?.Text("localizedMessage") ?? $"cannot read {missing.Text("path")}", fault);
                }
            }

            foreach (var property in content.Children("propSet"))
            {
                if (property.Text("name") is { } name && property.Child("val") is { } val)
                {
                    result[name] = val;
                }
            }
        }

        return result;
    }

    /// <summary>
    /// Properties of every managed entity of <paramref name="type"/> below the root folder, through a ContainerView
    /// (reference 2.4; pyVmomi's pchelper shape). Returns the object and its properties by path.
    /// </summary>
    public async Task<List<(ManagedObjectReference Obj, Dictionary<string, XElement> Properties)>> RetrieveAllAsync(string type, IReadOnlyList<string> paths, CancellationToken cancellationToken)
    {
        var create = new SoapRequest("CreateContainerView", Content.Require(Content.ViewManager, "ViewManager"))
            .MoRef("container", Content.RootFolder).String("type", type).Bool("recursive", true);
        var view = VimXml.MoRef((await Soap.InvokeAsync(create, cancellationToken)).ReturnValues().First());
        try
        {
            var contents = await RetrieveAsync(type, paths, spec => spec.MoRef("obj", view).Bool("skip", true)
                .Typed("selectSet", "TraversalSpec", t => t.String("name", "traverseEntities").String("type", "ContainerView").String("path", "view").Bool("skip", false)),
                cancellationToken);
            return contents.Select(c => (VimXml.MoRef(c.Child("obj")!), c.Children("propSet")
                .Where(p => p.Child("val") is not null)
                .ToDictionary(p => p.Text("name") ?? "", p => p.Child("val")!, StringComparer.Ordinal))).ToList();
        }
        finally
        {
            await Soap.InvokeAsync(new SoapRequest("DestroyView", view), CancellationToken.None);
        }
    }

    public async Task<ManagedObjectReference?> FindByInventoryPathAsync(string path, CancellationToken cancellationToken)
    {
        var request = new SoapRequest("FindByInventoryPath", Content.Require(Content.SearchIndex, "SearchIndex")).String("inventoryPath", path);
        return (await Soap.InvokeAsync(request, cancellationToken)).ReturnValues().Select(VimXml.MoRef).FirstOrDefault();
    }

    public async Task<ManagedObjectReference?> FindByUuidAsync(string uuid, bool instanceUuid, CancellationToken cancellationToken)
    {
        var request = new SoapRequest("FindByUuid", Content.Require(Content.SearchIndex, "SearchIndex"))
            .String("uuid", uuid).Bool("vmSearch", true);
        if (instanceUuid)
        {
            request.Bool("instanceUuid", true);
        }

        return (await Soap.InvokeAsync(request, cancellationToken)).ReturnValues().Select(VimXml.MoRef).FirstOrDefault();
    }

    /// <summary>RetrievePropertiesEx with one PropertySpec and one ObjectSpec, following tokens to the end.</summary>
    private async Task<List<XElement>> RetrieveAsync(string type, IReadOnlyList<string> paths, Action<SoapRequest> objectSpec, CancellationToken cancellationToken)
    {
        var request = new SoapRequest("RetrievePropertiesEx", Content.PropertyCollector)
            .Element("specSet", spec => spec
                .Element("propSet", p => p.String("type", type).Bool("all", false).Strings("pathSet", paths))
                .Element("objectSet", objectSpec))
            .Element("options", _ => { });
        var objects = new List<XElement>();
        var result = (await Soap.InvokeAsync(request, cancellationToken)).ReturnValues().FirstOrDefault();
        while (result is not null)
        {
            objects.AddRange(result.Children("objects"));
            if (result.Text("token") is not { Length: > 0 } token)
            {
                break;
            }

            var next = new SoapRequest("ContinueRetrievePropertiesEx", Content.PropertyCollector).String("token", token);
            result = (await Soap.InvokeAsync(next, cancellationToken)).ReturnValues().FirstOrDefault();
        }

        return objects;
    }
}
