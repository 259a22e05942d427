using System.Collections.Concurrent;
using System.Linq.Expressions;
using System.Reflection;
using GuestOps.Soap;
using GuestOps.Vim;

namespace GuestOps.Server.ManagedObjects;

/// <summary>
/// Reads property paths (<c>name</c>, <c>guest.toolsRunningStatus</c>, <c>summary.config.uuid</c>) of managed objects,
/// as values ready for an <c>xsd:anyType</c> slot. Unset values read as null and are left out by callers.
/// Shared by every managed object, with the call being dispatched (<see cref="Calls"/>).
/// </summary>
public sealed class PropertyReader(IVimCallContext calls, EntityPermissions? access = null)
{
    private const int MaxCachedPaths = 4096;

    /// <summary>Properties of inventory entities that System.View covers (what finding one's way needs); the others
    /// need System.Read on the entity.</summary>
    private static readonly HashSet<string> ViewProperties = new(StringComparer.Ordinal)
    {
        "name", "parent", "overallStatus", "configStatus", "childType", "childEntity", "vmFolder", "hostFolder", "datastoreFolder", "networkFolder",
    };

    private readonly ConcurrentDictionary<(Type, string), Func<object, object?>?> _getters = new();
    private readonly ConcurrentDictionary<string, string[]> _paths = new(StringComparer.Ordinal);

    /// <summary>The call being dispatched: managed objects read their caller's session and request here.</summary>
    public IVimCallContext Calls => calls;

    /// <summary>Reads one path; throws InvalidProperty for a path the type does not have and NotAuthenticated
    /// for a session-only property read without a session.</summary>
    public object? Read(ManagedObject obj, string path, VimCall call)
    {
        var segments = Segments(path);
        var property = obj.Properties.Find(segments[0]) ?? throw InvalidProperty(path);
        if (!property.Anonymous && call.Session is null)
        {
            throw new VimFaultException(
                new NotAuthenticated { @object = obj.Ref, privilegeId = Privileges.SystemView },
                "The session is not authenticated.");
        }

        if (access is not null && obj is ManagedEntity entity && call.Session is { } session)
        {
            CheckReadable(entity, segments[0], session.UserName);
        }

        var value = property.Read(obj, call);
        for (var i = 1; i < segments.Length && value is not null; i++)
        {
            var getter = _getters.GetOrAdd((value.GetType(), segments[i]), static key => Getter(key.Item1, key.Item2))
                ?? throw InvalidProperty(path);
            value = getter(value);
        }

        return AnyType(value);
    }

    /// <summary>Whether the caller sees an entity (always, when access is not controlled or there is no session).</summary>
    public bool IsVisible(VimCall call, ManagedEntity entity) =>
        access is null || call.Session is not { } session || access.CanView(session.UserName, entity);

    private void CheckReadable(ManagedEntity entity, string property, string user)
    {
        var needed = ViewProperties.Contains(property) ? Privileges.SystemView : Privileges.SystemRead;
        var allowed = needed == Privileges.SystemView ? access!.CanView(user, entity) : access!.Has(user, entity, needed);
        if (!allowed)
        {
            throw new VimFaultException(
                new NoPermission { @object = entity.Ref, privilegeId = needed },
                $"Permission to read {property} of {entity.Ref} was denied: {needed}.");
        }
    }

    /// <summary>The undocumented Fetch: one top-level property of <paramref name="obj"/>.</summary>
    public object? Fetch(ManagedObject obj, string prop, VimCall call) => Read(obj, prop, call);

    private string[] Segments(string path)
    {
        if (_paths.TryGetValue(path, out var segments))
        {
            return segments;
        }

        segments = path.Split('.');
        if (_paths.Count < MaxCachedPaths)
        {
            _paths.TryAdd(path, segments);
        }

        return segments;
    }

    /// <summary>A compiled reader of a data object's property (by its wire name), or null when the type has none.</summary>
    private static Func<object, object?>? Getter(Type type, string name)
    {
        if (!typeof(DynamicData).IsAssignableFrom(type) || type.GetProperty(name, BindingFlags.Public | BindingFlags.Instance) is not { } property)
        {
            return null;
        }

        var target = Expression.Parameter(typeof(object), "target");
        var read = Expression.Property(Expression.Convert(target, type), property);
        return Expression.Lambda<Func<object, object?>>(Expression.Convert(read, typeof(object)), target).Compile();
    }

    /// <summary>Arrays in an anyType slot travel in their ArrayOfXxx wrapper.</summary>
    private static object? AnyType(object? value) => value switch
    {
        ManagedObjectReference[] refs => refs.Length == 0 ? null : new ArrayOfManagedObjectReference { ManagedObjectReference = refs },
        string[] strings => strings.Length == 0 ? null : new ArrayOfString { @string = strings },
        AuthorizationPrivilege[] privileges => new ArrayOfAuthorizationPrivilege { AuthorizationPrivilege = privileges },
        AuthorizationRole[] roles => new ArrayOfAuthorizationRole { AuthorizationRole = roles },
        _ => value,
    };

    private static VimFaultException InvalidProperty(string path) =>
        new(new InvalidProperty { name = path }, $"Property '{path}' does not exist.");
}
