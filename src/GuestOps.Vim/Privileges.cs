namespace GuestOps.Vim;

/// <summary>vSphere privilege ids used on this surface (reference section 8).</summary>
public static class Privileges
{
    public const string SystemAnonymous = "System.Anonymous";
    public const string SystemView = "System.View";
    public const string SystemRead = "System.Read";
    public const string SessionsValidateSession = "Sessions.ValidateSession";
    public const string GuestOperationsQuery = "VirtualMachine.GuestOperations.Query";
    public const string GuestOperationsModify = "VirtualMachine.GuestOperations.Modify";
    public const string GuestOperationsExecute = "VirtualMachine.GuestOperations.Execute";
    public const string GuestOperationsQueryAliases = "VirtualMachine.GuestOperations.QueryAliases";
    public const string GuestOperationsModifyAliases = "VirtualMachine.GuestOperations.ModifyAliases";
    public const string InteractGuestControl = "VirtualMachine.Interact.GuestControl";
}

/// <summary>
/// The privilege a vim25 operation requires, and the parameter whose object it is checked on
/// (<c>_this</c> unless named, e.g. <c>vm</c> for guest operations).
/// </summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false)]
public sealed class VimPrivilegeAttribute(string privilegeId) : Attribute
{
    public string PrivilegeId { get; } = privilegeId;

    public string On { get; init; } = "_this";
}
