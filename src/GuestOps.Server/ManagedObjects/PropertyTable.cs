using GuestOps.Soap;

namespace GuestOps.Server.ManagedObjects;

/// <summary>The managed properties of one managed object type: name, how to read it, and whether reading it needs a session.</summary>
public class PropertyTable
{
    private readonly List<Property> _ordered;
    private readonly Dictionary<string, Property> _byName;

    protected PropertyTable(PropertyTable? inherited)
    {
        _ordered = inherited is null ? [] : [.. inherited._ordered];
        _byName = _ordered.ToDictionary(p => p.Name, StringComparer.Ordinal);
    }

    public IReadOnlyList<Property> All => _ordered;

    public Property? Find(string name) => _byName.GetValueOrDefault(name);

    protected void AddProperty(Property property)
    {
        _ordered.Add(property);
        _byName[property.Name] = property;
    }

    /// <summary>One managed property. <paramref name="Anonymous"/>: readable without a session (System.Anonymous).</summary>
    public sealed record Property(string Name, Func<ManagedObject, VimCall, object?> Read, bool Anonymous);
}

/// <summary>Typed builder: <c>new PropertyTable&lt;VirtualMachine&gt;(ManagedEntity.EntityProperties).Add("name", ...)</c>.</summary>
public sealed class PropertyTable<T>(PropertyTable? inherited = null) : PropertyTable(inherited)
    where T : ManagedObject
{
    public PropertyTable<T> Add(string name, Func<T, object?> read, bool anonymous = false)
    {
        AddProperty(new Property(name, (o, _) => read((T)o), anonymous));
        return this;
    }

    public PropertyTable<T> Add(string name, Func<T, VimCall, object?> read, bool anonymous = false)
    {
        AddProperty(new Property(name, (o, call) => read((T)o, call), anonymous));
        return this;
    }
}
