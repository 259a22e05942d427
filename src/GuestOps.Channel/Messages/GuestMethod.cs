using System.Collections.Frozen;

namespace GuestOps.Channel.Messages;

/// <summary>
/// Defines a guest method on its request record: the method's name (its JSON type tag on the channel and its
/// capability), the privilege a caller needs and the guest errors it may answer with besides the ones every method
/// can (<see cref="GuestMethod.CommonFaults"/>). The result type is the record's <see cref="IChannelRequest{TResult}"/>.
/// The GuestOps.Generators source generator reads it: it adds the record's <c>OperationName</c> and <c>Operation</c>,
/// lists the method in <see cref="GuestMethods.All"/>, builds the worker's dispatch, and fails the build when any
/// piece is missing (the record's <see cref="System.Text.Json.Serialization.JsonDerivedTypeAttribute"/> on
/// <see cref="ChannelRequest"/>, its result's on <see cref="ChannelResult"/>, the worker's handler).
/// </summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public sealed class GuestMethodAttribute(string name) : Attribute
{
    public string Name { get; } = name;

    public GuestPrivilege Privilege { get; set; } = GuestPrivilege.Query;

    public GuestErrorCode[] Faults { get; set; } = [];
}

/// <summary>
/// Marks the partial class that handles every guest method: it must have, for each one,
/// <c>ValueTask&lt;ChannelResponse&gt; {Name}Async(uint id, TRequest request, IncomingCall? call, CancellationToken cancellationToken)</c>;
/// the generator adds <c>Operations</c> (the capabilities to advertise) and <c>DispatchAsync</c>.
/// </summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public sealed class GuestMethodHandlersAttribute : Attribute
{
}

/// <summary>The vSphere guest-operations privilege a method needs (<c>VirtualMachine.GuestOperations.*</c>).</summary>
public enum GuestPrivilege
{
    /// <summary><c>VirtualMachine.GuestOperations.Query</c>: reads the guest.</summary>
    Query,

    /// <summary><c>VirtualMachine.GuestOperations.Modify</c>: changes the guest's files.</summary>
    Modify,

    /// <summary><c>VirtualMachine.GuestOperations.Execute</c>: runs or stops programs in the guest.</summary>
    Execute,
}

/// <summary>One guest method as defined by its <see cref="GuestMethodAttribute"/>.</summary>
public sealed record GuestMethod(string Name, Type RequestType, Type ResultType, GuestPrivilege Privilege, IReadOnlyList<GuestErrorCode> Faults)
{
    /// <summary>The guest errors any method may answer with: the credential, the user's rights, the guest's
    /// configuration, an older worker, cancellation and the unexpected.</summary>
    public static IReadOnlyList<GuestErrorCode> CommonFaults { get; } =
    [
        GuestErrorCode.InternalError, GuestErrorCode.InvalidLogin, GuestErrorCode.PermissionDenied, GuestErrorCode.InvalidArgument,
        GuestErrorCode.OperationDisabled, GuestErrorCode.UnknownOperation, GuestErrorCode.Canceled, GuestErrorCode.TooManyLogons,
    ];

    /// <summary>The capability a worker advertises for this method.</summary>
    public string Capability => ChannelCapabilities.ForOperation(Name);
}

/// <summary>Every guest method (<see cref="All"/> is generated from the <see cref="GuestMethodAttribute"/>s).</summary>
public static partial class GuestMethods
{
    /// <summary>The method of that name, or null.</summary>
    public static GuestMethod? Find(string name) => Index.ByName.GetValueOrDefault(name);

    // Its own type so that it is built after All, whichever partial declares which.
    private static class Index
    {
        public static readonly FrozenDictionary<string, GuestMethod> ByName = All.ToFrozenDictionary(m => m.Name, StringComparer.Ordinal);
    }
}
