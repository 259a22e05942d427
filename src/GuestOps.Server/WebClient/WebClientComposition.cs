using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Mvc.ApplicationModels;

namespace GuestOps.Server.WebClient;

/// <summary>
/// The web client under <c>/ui/</c> on the server's own endpoint: Razor Pages (in WebClient/Pages), two scripts and a
/// stylesheet served from the assembly, the live-update stream, antiforgery on every form and a strict
/// Content-Security-Policy. Everything it does is a vim call through <see cref="WebVim"/>.
/// </summary>
public static class WebClientComposition
{
    /// <summary>The policy of every /ui response: own scripts, styles and connections only, no inline code, no framing.</summary>
    public const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

    public static WebApplicationBuilder AddGuestOpsWebClient(this WebApplicationBuilder builder, string stateDirectory)
    {
        builder.Services
            .AddRazorPages(options =>
            {
                options.RootDirectory = "/WebClient/Pages";
                options.Conventions.AddFolderRouteModelConvention("/", model =>
                {
                    foreach (var selector in model.Selectors)
                    {
                        if (selector.AttributeRouteModel is { } route)
                        {
                            route.Template = AttributeRouteModel.CombineTemplates("ui", route.Template);
                        }
                    }
                });
            });
        builder.Services.AddAntiforgery(options =>
        {
            options.Cookie.Name = "guestops_ui_antiforgery";
            options.Cookie.Path = WebSession.PathBase;
            options.Cookie.HttpOnly = true;
            options.Cookie.SameSite = SameSiteMode.Strict;
            options.Cookie.SecurePolicy = Microsoft.AspNetCore.Http.CookieSecurePolicy.SameAsRequest;
            options.FormFieldName = "__RequestVerificationToken";
        });

        // Antiforgery tokens stay valid across restarts: the key ring lives in the state directory, readable by the
        // server's user only (the state directory itself may be traversable for the sandboxes).
        var keys = Path.Combine(stateDirectory, "ui-keys");
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(keys);
        }
        else
        {
            Directory.CreateDirectory(keys, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            File.SetUnixFileMode(keys, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        builder.Services.AddDataProtection()
            .SetApplicationName("GuestOps")
            .PersistKeysToFileSystem(new DirectoryInfo(keys));
        builder.Services.AddSingleton<WebVim>();
        builder.Services.AddSingleton<InventoryView>();
        builder.Services.AddSingleton<GuestProgramRun>();
        builder.Services.AddSingleton<LiveUpdates>();
        return builder;
    }

    public static WebApplication MapGuestOpsWebClient(this WebApplication app)
    {
        app.UseWhen(context => context.Request.Path.StartsWithSegments(WebSession.PathBase), ui => ui.Use(async (context, next) =>
        {
            var headers = context.Response.Headers;
            headers.ContentSecurityPolicy = ContentSecurityPolicy;
            headers.XContentTypeOptions = "nosniff";
            headers.XFrameOptions = "DENY";
            headers["Referrer-Policy"] = "no-referrer";
            if (!headers.ContainsKey("Cache-Control"))
            {
                headers.CacheControl = "no-store";
            }

            await next(context);
        }));
        app.MapRazorPages();
        app.MapGet("/ui/live", app.Services.GetRequiredService<LiveUpdates>().HandleAsync);
        app.MapGet("/ui/assets/{name}", WebClientAssets.Serve);
        return app;
    }
}
