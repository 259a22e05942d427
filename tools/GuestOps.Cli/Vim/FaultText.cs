using System.Globalization;
using System.ServiceModel;
using System.Xml.Linq;
using GuestOps.Client;
using GuestOps.Vim;

namespace GuestOps.Cli.Vim;

/// <summary>
/// The one line a vim fault is shown as: the concrete fault type, the server's text (the SOAP faultstring) and the
/// fields that say which object (<c>file</c> of a FileFault, <c>pid</c> of GuestProcessNotFound, ...).
/// </summary>
public static class FaultText
{
    private static readonly string[] Fields = ["file", "pid", "privilegeId", "invalidProperty", "name"];

    private static readonly XNamespace Xsi = VimNamespaces.XmlSchemaInstance;

    /// <summary>A fault the call declared arrives typed (its Detail a MethodFault); any other is read from its detail
    /// element: the <c>xsi:type</c>, else the element name less <c>Fault</c>, else the fault code.</summary>
    public static string Describe(FaultException exception)
    {
        if (VimFaults.Detail(exception) is { } fault)
        {
            return Describe(fault, exception.Message);
        }

        var detail = DetailElement(exception);
        var name = detail?.Attribute(Xsi + "type")?.Value is { } type ? type[(type.IndexOf(':', StringComparison.Ordinal) + 1)..]
            : detail is not null ? (detail.Name.LocalName.EndsWith("Fault", StringComparison.Ordinal) ? detail.Name.LocalName[..^5] : detail.Name.LocalName)
            : exception.Code?.Name ?? "SOAP fault";
        return Line(name, exception.Message, field => detail?.Elements().FirstOrDefault(e => e.Name.LocalName == field)?.Value);
    }

    public static string Describe(MethodFault fault, string message) =>
        Line(fault.GetType().Name, message, field => fault.GetType().GetProperty(field)?.GetValue(fault) switch
        {
            null => null,
            IFormattable formattable => formattable.ToString(null, CultureInfo.InvariantCulture),
            var value => value.ToString(),
        });

    private static string Line(string name, string text, Func<string, string?> field)
    {
        var line = string.IsNullOrWhiteSpace(text) ? name : $"{name}: {text.Trim()}";
        foreach (var fieldName in Fields)
        {
            if (field(fieldName) is { Length: > 0 } value && !line.Contains(value, StringComparison.Ordinal))
            {
                line += $" ({fieldName} {value})";
            }
        }

        return line.ReplaceLineEndings(" ");
    }

    private static XElement? DetailElement(FaultException exception)
    {
        try
        {
            var fault = exception.CreateMessageFault();
            if (!fault.HasDetail)
            {
                return null;
            }

            using var reader = fault.GetReaderAtDetailContents();
            return XElement.Load(reader.ReadSubtree());
        }
        catch (Exception e) when (e is InvalidOperationException or System.Xml.XmlException or System.Runtime.Serialization.SerializationException)
        {
            return null;
        }
    }
}
