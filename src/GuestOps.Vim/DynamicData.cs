namespace GuestOps.Vim;

/// <summary>Base of every vim25 data object.</summary>
public abstract class DynamicData
{
    public string? dynamicType { get; set; }

    [XmlElement("dynamicProperty")]
    public DynamicProperty[]? dynamicProperty { get; set; }
}

/// <summary>A property value: <c>name</c> and an <c>xsd:anyType</c> value written with <c>xsi:type</c>.</summary>
public sealed class DynamicProperty
{
    public string name { get; set; } = "";

    public object? val { get; set; }
}

/// <summary>anyType wrapper for arrays of references.</summary>
public sealed class ArrayOfManagedObjectReference
{
    [XmlElement("ManagedObjectReference")]
    public ManagedObjectReference[] ManagedObjectReference { get; set; } = [];
}

/// <summary>anyType wrapper for arrays of strings.</summary>
public sealed class ArrayOfString
{
    [XmlElement("string")]
    public string[] @string { get; set; } = [];
}

public sealed class LocalizableMessage : DynamicData
{
    public string key { get; set; } = "";

    [XmlElement("arg")]
    public KeyAnyValue[]? arg { get; set; }

    public string? message { get; set; }
}

public sealed class KeyAnyValue : DynamicData
{
    public string key { get; set; } = "";

    public object? value { get; set; }
}
