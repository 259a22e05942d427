namespace GuestOps.Vim;

/// <summary>A reference to a managed object: <c>&lt;vm type="VirtualMachine"&gt;vm-42&lt;/vm&gt;</c>.</summary>
public sealed class ManagedObjectReference : IEquatable<ManagedObjectReference>
{
    public ManagedObjectReference() { }

    public ManagedObjectReference(string type, string value)
    {
        this.type = type;
        Value = value;
    }

    [XmlAttribute]
    public string type { get; set; } = "";

    [XmlText]
    public string Value { get; set; } = "";

    public bool Equals(ManagedObjectReference? other) =>
        other is not null && other.type == type && other.Value == Value;

    public override bool Equals(object? obj) => Equals(obj as ManagedObjectReference);

    public override int GetHashCode() => HashCode.Combine(type, Value);

    public override string ToString() => $"{type}:{Value}";
}
