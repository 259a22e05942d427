using System.Globalization;
using System.Reflection;
using System.Xml;
using System.Xml.Serialization;
using GuestOps.Vim;

namespace GuestOps.Cli.Vim;

/// <summary>A property value (DynamicProperty.val) as vim25 writes it: <c>true</c>, <c>poweredOn</c>, <c>42</c>.</summary>
public static class PropertyText
{
    /// <summary>The value of <paramref name="path"/> in <paramref name="content"/>; empty when unset.</summary>
    public static string Of(ObjectContent content, string path) =>
        Of(content.propSet?.FirstOrDefault(p => p.name == path)?.val);

    public static string Of(object? value) => value switch
    {
        null => "",
        string text => text,
        bool flag => flag ? "true" : "false",
        DateTime time => XmlConvert.ToString(time, XmlDateTimeSerializationMode.Utc),
        Enum member => member.GetType().GetField(member.ToString())?.GetCustomAttribute<XmlEnumAttribute>()?.Name ?? member.ToString(),
        IFormattable formattable => formattable.ToString(null, CultureInfo.InvariantCulture),
        XmlNode[] nodes => string.Concat(nodes.OfType<XmlText>().Select(t => t.Value)),
        _ => value.ToString() ?? "",
    };
}
