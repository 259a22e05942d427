using System.Globalization;
using GuestOps.Server.Events;
using GuestOps.Vim;
using GuestOps.Server.ManagedObjects;

namespace GuestOps.Server.WebClient;

/// <summary>One row of the VM list.</summary>
public sealed record VmRow(string Id, string Name, string PowerState, string Host, string GuestOs, string Tools, string ToolsVersion, bool GuestOperationsReady, string IpAddress, string GuestFamily);

/// <summary>One row of the recent guest-operation events.</summary>
public sealed record EventRow(int Key, string Time, string User, string Operation, string Vm, string GuestUser, string Result, string Severity, string Message);

/// <summary>
/// What the list pages show, read as the browser's session through vim25: the VMs with PropertyCollector
/// (RetrieveProperties, so only VMs the user may see and properties it may read) and the guest-operation audit
/// trail with EventManager.QueryEvents.
/// </summary>
public sealed class InventoryView(WebVim vim)
{
    public const int EventCount = 50;

    private static readonly string[] VmPaths =
    [
        "name", "runtime.powerState", "config.guestFullName", "guest.guestFullName", "guest.toolsRunningStatus",
        "guest.toolsVersionStatus2", "guest.toolsVersion", "guest.guestOperationsReady", "guest.ipAddress", "guest.guestFamily",
    ];

    private static readonly string[] GuestEventTypes =
        [GuestOperationAudit.GuestOperationEvent, GuestOperationAudit.AuthFailureEvent, GuestOperationAudit.DeniedEvent];

    /// <summary>The host the VMs run on: this server's machine (one host until clustering names others).</summary>
    private static readonly string ThisHost = System.Net.Dns.GetHostName();

    public async Task<IReadOnlyList<VmRow>> VirtualMachinesAsync(HttpContext context, IEnumerable<ManagedObjectReference>? only = null)
    {
        var spec = new PropertyFilterSpec
        {
            propSet = [new PropertySpec { type = "VirtualMachine", pathSet = VmPaths }],
            objectSet = (only ?? vim.Inventory.VirtualMachines.Select(vm => vm.Ref)).Select(vm => new ObjectSpec { obj = vm, skip = false }).ToArray(),
        };
        if (spec.objectSet.Length == 0)
        {
            return [];
        }

        var contents = await vim.InvokeAsync<ObjectContent[]>(context, "RetrieveProperties", vim.Inventory.PropertyCollector.Ref, new[] { spec });
        return contents.Select(Row).OrderBy(r => r.Name, StringComparer.Ordinal).ToList();
    }

    public async Task<IReadOnlyList<EventRow>> RecentEventsAsync(HttpContext context, ManagedObjectReference? vm = null)
    {
        var filter = new EventFilterSpec
        {
            eventTypeId = GuestEventTypes,
            maxCount = EventCount,
            entity = vm is null ? null : new EventFilterSpecByEntity { entity = vm, recursion = EventFilterSpecRecursionOption.Self },
        };
        var events = await vim.InvokeAsync<Event[]>(context, "QueryEvents", vim.Inventory.EventManager.Ref, filter);
        return events.OfType<EventEx>().Select(EventRowOf).ToList();
    }

    private static VmRow Row(ObjectContent content)
    {
        var values = (content.propSet ?? []).ToDictionary(p => p.name, p => p.val, StringComparer.Ordinal);
        string Text(string path) => values.GetValueOrDefault(path) switch
        {
            null => "",
            Enum e => e.ToString(),
            IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
            var v => v.ToString() ?? "",
        };

        var power = Text("runtime.powerState");
        return new VmRow(
            content.obj.Value,
            Text("name"),
            power.Length > 0 ? char.ToLowerInvariant(power[0]) + power[1..] : "",
            ThisHost,
            Text("guest.guestFullName") is { Length: > 0 } running ? running : Text("config.guestFullName"),
            Text("guest.toolsRunningStatus"),
            Text("guest.toolsVersionStatus2") + (Text("guest.toolsVersion") is { Length: > 0 } v and not "0" ? $" ({v})" : ""),
            values.GetValueOrDefault("guest.guestOperationsReady") is true,
            Text("guest.ipAddress"),
            Text("guest.guestFamily"));
    }

    private static EventRow EventRowOf(EventEx e)
    {
        string? Argument(string key) => e.arguments?.FirstOrDefault(a => a.key == key)?.value as string;
        var result = e.eventTypeId switch
        {
            GuestOperationAudit.DeniedEvent => "denied: " + (e.fault?.fault?.GetType().Name ?? ""),
            _ when e.fault?.fault is { } fault => "failed: " + fault.GetType().Name,
            _ => "ok",
        };
        return new EventRow(
            e.key,
            e.createdTime.ToUniversalTime().ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture),
            e.userName,
            Argument("operationName") ?? "",
            e.vm?.name ?? e.objectName ?? "",
            Argument("guestUser") ?? "",
            result,
            e.severity ?? "",
            e.fullFormattedMessage ?? e.message ?? "");
    }
}
