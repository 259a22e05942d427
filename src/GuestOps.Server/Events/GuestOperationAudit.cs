using System.Globalization;
using GuestOps.Host.Events;
using GuestOps.Server.ManagedObjects;
using GuestOps.Soap;
using GuestOps.Vim;

namespace GuestOps.Server.Events;

/// <summary>
/// The audit trail of guest operations: every call of a method checked on a <c>vm</c> with a
/// VirtualMachine.GuestOperations privilege — allowed or refused — becomes an event of the host agent's
/// <see cref="IEventHistory"/>, an <see cref="EventEx"/> readable through
/// <c>EventManager.QueryEvents</c>: time, vSphere user, VM, method, guest user and key arguments (never passwords,
/// tokens, tickets or environment values), and the fault when it failed. Event type ids:
/// <list type="bullet">
/// <item><c>com.vmware.vc.guestOperations.GuestOperation</c> (vCenter's): the call passed authorization; severity
/// <c>info</c> when it succeeded, <c>warning</c> with the fault when it failed;</item>
/// <item><c>com.vmware.vc.guestOperations.GuestOperationAuthFailure</c> (vCenter's): the guest rejected the guest
/// credentials (InvalidGuestLogin);</item>
/// <item><c>com.guestops.guestOperations.GuestOperationDenied</c> (GuestOps' own): refused before reaching the guest
/// for lack of a session or privilege (NotAuthenticated, NoPermission); severity <c>error</c>.</item>
/// </list>
/// </summary>
public sealed partial class GuestOperationAudit(IEventHistory history, Inventory inventory, TimeProvider time, ILogger<GuestOperationAudit> logger) : IVimCallObserver
{
    public const string GuestOperationEvent = "com.vmware.vc.guestOperations.GuestOperation";
    public const string AuthFailureEvent = "com.vmware.vc.guestOperations.GuestOperationAuthFailure";
    public const string DeniedEvent = "com.guestops.guestOperations.GuestOperationDenied";

    private const int MaxArgumentLength = 1024;

    /// <summary>Whether an operation is a guest operation: checked on its <c>vm</c> parameter with a GuestOperations privilege.</summary>
    public static bool IsGuestOperation(VimOperation operation) =>
        operation.Privilege.StartsWith(Privileges.GuestOperationsPrefix, StringComparison.Ordinal)
        && operation.Parameters[operation.PrivilegeParameterIndex].Name == "vm";

    public void Completed(VimCall call, MethodFault? fault)
    {
        if (!IsGuestOperation(call.Operation))
        {
            return;
        }

        try
        {
            var appended = history.AppendAsync(Describe(call, fault), CancellationToken.None);
            if (!appended.IsCompletedSuccessfully)
            {
                _ = Observe(appended.AsTask(), call.Operation.Name);
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            LogAuditFailed(logger, call.Operation.Name, e);
        }
    }

    private async Task Observe(Task appended, string operation)
    {
        try
        {
            await appended.ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            LogAuditFailed(logger, operation, e);
        }
    }

    private EventRecord Describe(VimCall call, MethodFault? fault)
    {
        var operation = call.Operation;
        var vmRef = call.Arguments[operation.PrivilegeParameterIndex] as ManagedObjectReference;
        var vm = vmRef is null ? null : inventory.Find(vmRef, null) as VirtualMachine;
        var vmName = vm?.Name ?? vmRef?.Value ?? "";
        var user = call.Session?.UserName ?? "";
        var (typeId, severity, outcome) = fault switch
        {
            null => (GuestOperationEvent, "info", "performed"),
            NoPermission => (DeniedEvent, "error", "denied"),
            InvalidGuestLogin => (AuthFailureEvent, "warning", "failed (guest authentication)"),
            _ => (GuestOperationEvent, "warning", "failed"),
        };

        var arguments = new List<EventKeyValue> { new("operationName", operation.Name) };
        if (GuestUser(call) is { } guestUser)
        {
            arguments.Add(new EventKeyValue("guestUser", guestUser));
        }

        for (var i = 1; i < operation.Parameters.Count; i++)
        {
            if (i != operation.PrivilegeParameterIndex)
            {
                AddArgument(arguments, operation.Parameters[i].Name!, call.Arguments[i]);
            }
        }

        if (fault is not null)
        {
            arguments.Add(new EventKeyValue("fault", fault.GetType().Name));
        }

        if (fault is NoPermission { privilegeId: { } missing })
        {
            LogDenied(logger, operation.Name, user, vmName, missing);
        }

        var message = $"Guest operation {operation.Name} {outcome} on Virtual machine {vmName}"
            + (user.Length > 0 ? $" by {user}" : "") + (fault is null ? "." : $": {fault.GetType().Name}.");
        var datacenter = inventory.Datacenter;
        return new EventRecord(
            0,
            time.GetUtcNow().UtcDateTime,
            user,
            typeId,
            severity,
            message,
            new EventEntity(datacenter.Ref.type, datacenter.Ref.Value, datacenter.Name),
            vmRef is null ? null : new EventEntity(vmRef.type, vmRef.Value, vmName),
            arguments.ToArray(),
            fault is null ? null : VimEvents.Fault(fault, Guest.GuestFaultMessages.Summary(fault)));
    }

    /// <summary>The guest account the call acts as; never a secret.</summary>
    private static string? GuestUser(VimCall call)
    {
        foreach (var argument in call.Arguments)
        {
            switch (argument)
            {
                case NamePasswordAuthentication np:
                    return np.username;
                case TicketedSessionAuthentication:
                    return "(ticket)";
                case SSPIAuthentication:
                    return "(sspi)";
                case GuestAuthentication other:
                    return $"({other.GetType().Name})";
            }
        }

        return null;
    }

    private static void AddArgument(List<EventKeyValue> arguments, string name, object? value)
    {
        if (value is null or GuestAuthentication || IsSecretName(name))
        {
            return;
        }

        switch (value)
        {
            case string or bool or int or long:
                arguments.Add(new EventKeyValue(name, Text(value)));
                break;
            case GuestProgramSpec spec:
                arguments.Add(new EventKeyValue("programPath", Text(spec.programPath)));
                arguments.Add(new EventKeyValue("arguments", Text(spec.arguments ?? "")));
                if (!string.IsNullOrEmpty(spec.workingDirectory))
                {
                    arguments.Add(new EventKeyValue("workingDirectory", Text(spec.workingDirectory)));
                }

                // envVariables may carry secrets: only how many there were.
                if (spec.envVariables is { Length: > 0 } env)
                {
                    arguments.Add(new EventKeyValue("envVariableCount", Text(env.Length)));
                }

                break;
            case long[] numbers:
                arguments.Add(new EventKeyValue(name, Text(string.Join(",", numbers.Select(n => n.ToString(CultureInfo.InvariantCulture))))));
                break;
            case string[] names:
                arguments.Add(new EventKeyValue(name, Text(string.Join(",", names))));
                break;
            case DynamicData data:
                arguments.Add(new EventKeyValue(name, data.GetType().Name));
                break;
        }
    }

    private static bool IsSecretName(string name) =>
        name.Contains("password", StringComparison.OrdinalIgnoreCase)
        || name.Contains("token", StringComparison.OrdinalIgnoreCase)
        || name.Contains("ticket", StringComparison.OrdinalIgnoreCase);

    private static string Text(object value)
    {
        var text = value switch
        {
            bool b => b ? "true" : "false",
            IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
            _ => value.ToString() ?? "",
        };
        return text.Length <= MaxArgumentLength ? text : text[..MaxArgumentLength] + "…";
    }
}
