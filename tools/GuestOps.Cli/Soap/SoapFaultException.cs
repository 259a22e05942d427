using System.Xml.Linq;

namespace GuestOps.Cli.Soap;

/// <summary>
/// A vim fault answered by the server (HTTP 500 with a SOAP fault): <see cref="FaultName"/> is the concrete fault type
/// (<c>xsi:type</c> of the detail element, or its name less the <c>Fault</c> suffix, reference 1.6).
/// </summary>
public sealed class SoapFaultException(string faultName, string faultString, XElement? detail)
    : Exception($"{faultName}: {faultString}")
{
    public string FaultName { get; } = faultName;

    public string FaultString { get; } = faultString;

    /// <summary>The detail element (e.g. <c>&lt;GuestOperationsFaultFault xsi:type="InvalidGuestLogin"&gt;</c>); null when absent.</summary>
    public XElement? Detail { get; } = detail;

    /// <summary>A field of the fault (e.g. <c>file</c> of a FileFault, <c>pid</c> of GuestProcessNotFound).</summary>
    public string? Field(string name) => Detail?.Elements().FirstOrDefault(e => e.Name.LocalName == name)?.Value;

    /// <summary>The one line shown to the user: the fault name, the server's text and the fields that say which object.</summary>
    public string Describe()
    {
        var line = string.IsNullOrWhiteSpace(FaultString) ? FaultName : $"{FaultName}: {FaultString.Trim()}";
        foreach (var name in new[] { "file", "pid", "privilegeId", "invalidProperty", "name" })
        {
            if (Field(name) is { Length: > 0 } value && !line.Contains(value, StringComparison.Ordinal))
            {
                line += $" ({name} {value})";
            }
        }

        return line.ReplaceLineEndings(" ");
    }

    public bool Is(params string[] names) => names.Contains(FaultName, StringComparer.Ordinal);
}
