using System.Collections.Concurrent;
using System.Reflection;
using GuestOps.Soap;
using GuestOps.Vim;

namespace GuestOps.Server.ManagedObjects;

/// <summary>
/// Reads property paths (<c>name</c>, <c>guest.toolsRunningStatus</c>, <c>summary.config.uuid</c>) of managed objects,
/// as values ready for an <c>xsd:anyType</c> slot. Unset values read as null and are left out by callers.
/// </summary>
public sealed class PropertyReader
{
    private readonly ConcurrentDictionary<(Type, string), PropertyInfo?> _dataObjectProperties = new();

    /// <summary>Reads one path; throws InvalidProperty for a path the type does not have and NotAuthenticated
    /// for a session-only property read without a session.</summary>
    public object? Read(ManagedObject obj, string path, VimCall call)
    {
        var dot = path.IndexOf('.');
        var head = dot < 0 ? path : path[..dot];
        var property = obj.Properties.Find(head) ?? throw InvalidProperty(path);
        if (!property.Anonymous && call.Session is null)
        {
            throw new VimFaultException(
                new NotAuthenticated { @object = obj.Ref, privilegeId = Privileges.SystemView },
                "The session is not authenticated.");
        }

        var value = property.Read(obj, call);
        while (dot >= 0 && value is not null)
        {
            var next = path.IndexOf('.', dot + 1);
            var segment = next < 0 ? path[(dot + 1)..] : path[(dot + 1)..next];
            var member = _dataObjectProperties.GetOrAdd((value.GetType(), segment), static key =>
                typeof(DynamicData).IsAssignableFrom(key.Item1) ? key.Item1.GetProperty(key.Item2, BindingFlags.Public | BindingFlags.Instance) : null)
                ?? throw InvalidProperty(path);
            value = member.GetValue(value);
            dot = next;
        }

        return AnyType(value);
    }

    /// <summary>The undocumented Fetch: one top-level property of <paramref name="obj"/>.</summary>
    public object? Fetch(ManagedObject obj, string prop, VimCall call) => Read(obj, prop, call);

    /// <summary>Arrays in an anyType slot travel in their ArrayOfXxx wrapper.</summary>
    private static object? AnyType(object? value) => value switch
    {
        ManagedObjectReference[] refs => refs.Length == 0 ? null : new ArrayOfManagedObjectReference { ManagedObjectReference = refs },
        string[] strings => strings.Length == 0 ? null : new ArrayOfString { @string = strings },
        _ => value,
    };

    private static VimFaultException InvalidProperty(string path) =>
        new(new InvalidProperty { name = path }, $"Property '{path}' does not exist.");
}
