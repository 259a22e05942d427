namespace GuestOps.Vim;

// Events (vim.event.*) as EventManager.QueryEvents returns them, fields in wire order.

public abstract class EventArgument : DynamicData { }

public abstract class EntityEventArgument : EventArgument
{
    public string name { get; set; } = "";
}

public sealed class VmEventArgument : EntityEventArgument
{
    public ManagedObjectReference vm { get; set; } = new();
}

public sealed class DatacenterEventArgument : EntityEventArgument
{
    public ManagedObjectReference datacenter { get; set; } = new();
}

/// <summary>Base of every event.</summary>
public class Event : DynamicData
{
    public int key { get; set; }

    public int chainId { get; set; }

    public DateTime createdTime { get; set; }

    public string userName { get; set; } = "";

    public DatacenterEventArgument? datacenter { get; set; }

    public VmEventArgument? vm { get; set; }

    public string? fullFormattedMessage { get; set; }

    public string? changeTag { get; set; }
}

/// <summary>An extensible event: its type is a dotted id, its details are key/value arguments (vSphere 4.0+).</summary>
public sealed class EventEx : Event
{
    public string eventTypeId { get; set; } = "";

    /// <summary><c>info</c>, <c>warning</c>, <c>error</c> or <c>user</c>.</summary>
    public string? severity { get; set; }

    public string? message { get; set; }

    [XmlElement("arguments")]
    public KeyAnyValue[]? arguments { get; set; }

    public string? objectId { get; set; }

    public string? objectType { get; set; }

    public string? objectName { get; set; }

    public LocalizedMethodFault? fault { get; set; }
}

public enum EventFilterSpecRecursionOption
{
    [XmlEnum("self")] Self,
    [XmlEnum("children")] Children,
    [XmlEnum("all")] All,
}

public sealed class EventFilterSpecByEntity : DynamicData
{
    public ManagedObjectReference entity { get; set; } = new();

    public EventFilterSpecRecursionOption recursion { get; set; }
}

public sealed class EventFilterSpecByTime : DynamicData
{
    public DateTime? beginTime { get; set; }
    public bool ShouldSerializebeginTime() => beginTime.HasValue;
    public DateTime? endTime { get; set; }
    public bool ShouldSerializeendTime() => endTime.HasValue;
}

public sealed class EventFilterSpecByUsername : DynamicData
{
    public bool systemUser { get; set; }

    [XmlElement("userList")]
    public string[]? userList { get; set; }
}

/// <summary>What QueryEvents selects; unset parts select everything.</summary>
public sealed class EventFilterSpec : DynamicData
{
    public EventFilterSpecByEntity? entity { get; set; }

    public EventFilterSpecByTime? time { get; set; }

    public EventFilterSpecByUsername? userName { get; set; }

    public int? eventChainId { get; set; }
    public bool ShouldSerializeeventChainId() => eventChainId.HasValue;

    public ManagedObjectReference? alarm { get; set; }

    public ManagedObjectReference? scheduledTask { get; set; }

    public bool? disableFullMessage { get; set; }
    public bool ShouldSerializedisableFullMessage() => disableFullMessage.HasValue;

    [XmlElement("category")]
    public string[]? category { get; set; }

    [XmlElement("type")]
    public string[]? type { get; set; }

    [XmlElement("tag")]
    public string[]? tag { get; set; }

    [XmlElement("eventTypeId")]
    public string[]? eventTypeId { get; set; }

    /// <summary>vSphere 6.7+: at most this many events. Not in the 5.x schema.</summary>
    public int? maxCount { get; set; }
    public bool ShouldSerializemaxCount() => maxCount.HasValue;
}
