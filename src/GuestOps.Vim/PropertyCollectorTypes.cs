namespace GuestOps.Vim;

public sealed class PropertyFilterSpec : DynamicData
{
    [XmlElement("propSet")]
    public PropertySpec[] propSet { get; set; } = [];

    [XmlElement("objectSet")]
    public ObjectSpec[] objectSet { get; set; } = [];

    public bool? reportMissingObjectsInResults { get; set; }
    public bool ShouldSerializereportMissingObjectsInResults() => reportMissingObjectsInResults.HasValue;
}

public sealed class PropertySpec : DynamicData
{
    public string type { get; set; } = "";

    public bool? all { get; set; }
    public bool ShouldSerializeall() => all.HasValue;

    [XmlElement("pathSet")]
    public string[]? pathSet { get; set; }
}

public sealed class ObjectSpec : DynamicData
{
    public ManagedObjectReference obj { get; set; } = new();

    public bool? skip { get; set; }
    public bool ShouldSerializeskip() => skip.HasValue;

    [XmlElement("selectSet")]
    public SelectionSpec[]? selectSet { get; set; }
}

/// <summary>A bare SelectionSpec is a by-name reference to a TraversalSpec of the same filter.</summary>
public class SelectionSpec : DynamicData
{
    public string? name { get; set; }
}

public sealed class TraversalSpec : SelectionSpec
{
    public string type { get; set; } = "";

    public string path { get; set; } = "";

    public bool? skip { get; set; }
    public bool ShouldSerializeskip() => skip.HasValue;

    [XmlElement("selectSet")]
    public SelectionSpec[]? selectSet { get; set; }
}

public sealed class RetrieveOptions : DynamicData
{
    public int? maxObjects { get; set; }
    public bool ShouldSerializemaxObjects() => maxObjects.HasValue;
}

public sealed class RetrieveResult : DynamicData
{
    public string? token { get; set; }

    [XmlElement("objects")]
    public ObjectContent[] objects { get; set; } = [];
}

public sealed class ObjectContent : DynamicData
{
    public ManagedObjectReference obj { get; set; } = new();

    [XmlElement("propSet")]
    public DynamicProperty[]? propSet { get; set; }

    [XmlElement("missingSet")]
    public MissingProperty[]? missingSet { get; set; }
}

public sealed class MissingProperty : DynamicData
{
    public string path { get; set; } = "";

    public LocalizedMethodFault fault { get; set; } = new();
}

public sealed class MissingObject : DynamicData
{
    public ManagedObjectReference obj { get; set; } = new();

    public LocalizedMethodFault fault { get; set; } = new();
}

/// <summary>WaitForUpdatesEx's options: <c>maxWaitSeconds</c> 0 returns at once, unset waits until a change;
/// <c>maxObjectUpdates</c> caps the ObjectUpdates of one answer (the rest follow, <c>truncated</c> set).</summary>
public sealed class WaitOptions : DynamicData
{
    public int? maxWaitSeconds { get; set; }
    public bool ShouldSerializemaxWaitSeconds() => maxWaitSeconds.HasValue;

    public int? maxObjectUpdates { get; set; }
    public bool ShouldSerializemaxObjectUpdates() => maxObjectUpdates.HasValue;
}

public sealed class UpdateSet : DynamicData
{
    public string version { get; set; } = "";

    [XmlElement("filterSet")]
    public PropertyFilterUpdate[]? filterSet { get; set; }

    public bool? truncated { get; set; }
    public bool ShouldSerializetruncated() => truncated.HasValue;
}

public sealed class PropertyFilterUpdate : DynamicData
{
    public ManagedObjectReference filter { get; set; } = new();

    [XmlElement("objectSet")]
    public ObjectUpdate[]? objectSet { get; set; }

    [XmlElement("missingSet")]
    public MissingObject[]? missingSet { get; set; }
}

public enum ObjectUpdateKind
{
    [XmlEnum("modify")] Modify,
    [XmlEnum("enter")] Enter,
    [XmlEnum("leave")] Leave,
}

public sealed class ObjectUpdate : DynamicData
{
    public ObjectUpdateKind kind { get; set; }

    public ManagedObjectReference obj { get; set; } = new();

    [XmlElement("changeSet")]
    public PropertyChange[]? changeSet { get; set; }

    [XmlElement("missingSet")]
    public MissingProperty[]? missingSet { get; set; }
}

public enum PropertyChangeOp
{
    [XmlEnum("add")] Add,
    [XmlEnum("remove")] Remove,
    [XmlEnum("assign")] Assign,
    [XmlEnum("indirectRemove")] IndirectRemove,
}

public sealed class PropertyChange : DynamicData
{
    public string name { get; set; } = "";

    public PropertyChangeOp op { get; set; }

    public object? val { get; set; }
}
