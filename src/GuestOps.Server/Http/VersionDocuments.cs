using System.Text;
using GuestOps.Server.ManagedObjects;

namespace GuestOps.Server.Http;

/// <summary>GET /sdk/vimServiceVersions.xml (the API versions this server speaks, which clients read to pick the
/// newest they share with it) and the WSDL/XSD files of wsdl/ under /sdk/.</summary>
public sealed class VersionDocuments
{
    /// <summary>Versions pyVmomi and govc know, newest first; only urn:vim25 is published (govc keeps the last namespace).</summary>
    private static readonly string[] PriorVersions =
    [
        "8.0.2.0", "8.0.1.0", "8.0.0.0", "7.0.3.0", "7.0.2.0", "7.0.1.0", "7.0.0.0", "6.7.3", "6.7.2", "6.7.1", "6.7", "6.5", "6.0", "5.5", "5.1", "5.0",
    ];

    private readonly byte[] _versions = Encoding.UTF8.GetBytes(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<namespaces version=\"1.0\">\n  <namespace>\n    <name>urn:vim25</name>\n"
        + $"    <version>{ServiceInstance.ApiVersion}</version>\n    <priorVersions>\n"
        + string.Concat(PriorVersions.Select(v => $"      <version>{v}</version>\n"))
        + "    </priorVersions>\n  </namespace>\n</namespaces>\n");

    private readonly string _wsdlDirectory = Path.Combine(AppContext.BaseDirectory, "wsdl");

    public Task Versions(HttpContext context)
    {
        context.Response.ContentType = "text/xml; charset=utf-8";
        context.Response.ContentLength = _versions.Length;
        return context.Response.Body.WriteAsync(_versions, context.RequestAborted).AsTask();
    }

    /// <summary>A file of wsdl/ by name; vimService.wsdl gets the address the client used.</summary>
    public async Task File(HttpContext context, string name)
    {
        var path = Path.Combine(_wsdlDirectory, Path.GetFileName(name));
        if (name.Contains('/') || name.Contains('\\') || !(name.EndsWith(".wsdl", StringComparison.Ordinal) || name.EndsWith(".xsd", StringComparison.Ordinal)) || !System.IO.File.Exists(path))
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }

        context.Response.ContentType = "text/xml; charset=utf-8";
        if (name == "vimService.wsdl")
        {
            var text = await System.IO.File.ReadAllTextAsync(path, context.RequestAborted);
            var address = $"{context.Request.Scheme}://{context.Request.Host}/sdk/vimService";
            await context.Response.WriteAsync(text.Replace("https://localhost/sdk/vimService", address, StringComparison.Ordinal), context.RequestAborted);
            return;
        }

        await context.Response.SendFileAsync(path, context.RequestAborted);
    }
}
