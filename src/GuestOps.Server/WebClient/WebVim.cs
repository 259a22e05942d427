using GuestOps.Server.ManagedObjects;
using GuestOps.Soap;
using GuestOps.Vim;
using GuestOps.Vim.Contracts;

namespace GuestOps.Server.WebClient;

/// <summary>
/// vim25 calls made by the web client on behalf of the browser's session, through
/// <see cref="SoapDispatcher.InvokeAsync"/>: the same authorizer (privileges), managed objects (host-agent calls)
/// and observer (the guest-operation audit) as a SOAP request, minus XML. Faults are thrown as
/// <see cref="VimFaultException"/>.
/// </summary>
public sealed class WebVim(SoapDispatcher dispatcher, VimOperationCatalog catalog, Inventory inventory)
{
    public Inventory Inventory { get; } = inventory;

    /// <summary>The browser's live session, refreshed as active; null when it has none or it expired.</summary>
    public async ValueTask<Session?> SessionAsync(HttpContext context) =>
        WebSession.Key(context) is { } key ? await Inventory.SessionManager.TouchAsync(key, context.RequestAborted) : null;

    public Task<VimInvocation> CallAsync(HttpContext context, string operation, params object?[] arguments) =>
        dispatcher.InvokeAsync(operation, arguments, RequestInfo(context), context.RequestAborted);

    public async Task<T> InvokeAsync<T>(HttpContext context, string operation, params object?[] arguments) =>
        (T)(await CallAsync(context, operation, arguments)).Result!;

    public Task InvokeVoidAsync(HttpContext context, string operation, params object?[] arguments) =>
        CallAsync(context, operation, arguments);

    /// <summary>A guest operation on <paramref name="vm"/> with <paramref name="auth"/>; <paramref name="rest"/> are
    /// the parameters after <c>auth</c>.</summary>
    public Task<VimInvocation> GuestAsync(HttpContext context, string operation, ManagedObjectReference vm, GuestAuthentication auth, params object?[] rest)
    {
        var manager = (catalog.TryGet(operation, out var found) ? found.ContractMethod.DeclaringType : null) switch
        {
            var t when t == typeof(IGuestProcessManager) => Inventory.GuestOperationsManager.ProcessManager.Ref,
            var t when t == typeof(IGuestFileManager) => Inventory.GuestOperationsManager.FileManager.Ref,
            var t when t == typeof(IGuestAuthManager) => Inventory.GuestOperationsManager.AuthManager.Ref,
            _ => throw new ArgumentException($"{operation} is not a guest operation.", nameof(operation)),
        };
        return CallAsync(context, operation, [manager, vm, auth, .. rest]);
    }

    private static SoapRequestInfo RequestInfo(HttpContext context) =>
        new(WebSession.Key(context), context.Connection.RemoteIpAddress?.ToString(), context.Request.Headers.UserAgent.ToString())
        {
            LocalPort = context.Connection.LocalPort,
            IsHttps = context.Request.IsHttps,
        };
}
