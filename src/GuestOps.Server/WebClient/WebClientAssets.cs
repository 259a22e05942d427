using System.Collections.Frozen;

namespace GuestOps.Server.WebClient;

/// <summary><c>GET /ui/assets/{name}</c>: the web client's stylesheet and scripts, embedded in the assembly (no
/// build chain, no files beside the server to lose).</summary>
public static class WebClientAssets
{
    private static readonly FrozenDictionary<string, (string ContentType, byte[] Content)> Assets = Load();

    public static async Task Serve(HttpContext context, string name)
    {
        if (!Assets.TryGetValue(name, out var asset))
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }

        context.Response.ContentType = asset.ContentType;
        context.Response.Headers.CacheControl = "no-cache";
        context.Response.ContentLength = asset.Content.Length;
        await context.Response.Body.WriteAsync(asset.Content, context.RequestAborted);
    }

    private static FrozenDictionary<string, (string, byte[])> Load()
    {
        const string prefix = "GuestOps.Server.WebClient.Assets.";
        var assembly = typeof(WebClientAssets).Assembly;
        var assets = new Dictionary<string, (string, byte[])>(StringComparer.Ordinal);
        foreach (var resource in assembly.GetManifestResourceNames().Where(n => n.StartsWith(prefix, StringComparison.Ordinal)))
        {
            using var stream = assembly.GetManifestResourceStream(resource)!;
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            var name = resource[prefix.Length..];
            var type = Path.GetExtension(name) switch
            {
                ".js" => "text/javascript; charset=utf-8",
                ".css" => "text/css; charset=utf-8",
                _ => "application/octet-stream",
            };
            assets[name] = (type, copy.ToArray());
        }

        return assets.ToFrozenDictionary(StringComparer.Ordinal);
    }
}
