namespace GuestOps.Vim;

/// <summary>Root of every vim fault. <c>faultCause</c> and <c>faultMessage</c> are never sent by this server.</summary>
public abstract class MethodFault : DynamicData
{
    public LocalizedMethodFault? faultCause { get; set; }

    [XmlElement("faultMessage")]
    public LocalizableMessage[]? faultMessage { get; set; }
}

/// <summary>A fault inside a data object (e.g. <c>MissingProperty.fault</c>).</summary>
public sealed class LocalizedMethodFault : DynamicData
{
    public MethodFault? fault { get; set; }

    public string? localizedMessage { get; set; }
}

/// <summary>Thrown by managed objects; the dispatcher writes it as a SOAP fault.</summary>
public sealed class VimFaultException(MethodFault fault, string message) : Exception(message)
{
    public MethodFault Fault { get; } = fault;
}
