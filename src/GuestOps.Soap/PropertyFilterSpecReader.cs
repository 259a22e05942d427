using System.Globalization;
using System.Xml;
using GuestOps.Vim;

namespace GuestOps.Soap;

/// <summary>
/// A fast path for the parameters of RetrieveProperties and RetrievePropertiesEx, the calls every client makes most:
/// <c>_this</c>, <c>specSet</c> (PropertySpecs, ObjectSpecs with Selection/TraversalSpecs) and <c>options</c>, read
/// with a plain XmlReader walk instead of XmlSerializer's generated reader (which dominated these requests' cost).
/// It accepts exactly the shapes clients send; on anything else (an unknown element or attribute, a dynamic property,
/// an unexpected xsi:type, a value of the wrong form) it gives up and the caller reads the request again with
/// XmlSerializer, so the answer to an unusual request is what it always was.
/// </summary>
internal static class PropertyFilterSpecReader
{
    private const string Vim = VimNamespaces.Vim25;

    /// <summary>Whether <paramref name="operation"/> has a fast path.</summary>
    public static bool Handles(VimOperation operation) => operation.Name is "RetrievePropertiesEx" or "RetrieveProperties";

    /// <summary>Reads the operation element's content (the reader is on the operation's start element) into the
    /// operation's arguments; null when the request is not one of the shapes this reader knows.</summary>
    public static object?[]? TryRead(XmlReader reader, VimOperation operation)
    {
        try
        {
            return Read(reader, operation);
        }
        catch (Exception e) when (e is GiveUp or FormatException or OverflowException)
        {
            return null;
        }
    }

    private static object?[]? Read(XmlReader reader, VimOperation operation)
    {
        var withOptions = operation.Name == "RetrievePropertiesEx";
        ManagedObjectReference? @this = null;
        var specs = new List<PropertyFilterSpec>(1);
        RetrieveOptions? options = null;
        if (reader.HasAttributes && !OnlyNamespaceAttributes(reader))
        {
            return null;
        }

        if (!reader.IsEmptyElement)
        {
            reader.ReadStartElement();
            while (reader.MoveToContent() == XmlNodeType.Element)
            {
                Expect(reader.NamespaceURI == Vim);
                switch (reader.LocalName)
                {
                    case "_this":
                        Expect(@this is null && specs.Count == 0 && options is null);
                        @this = ReadReference(reader);
                        break;
                    case "specSet":
                        Expect(options is null);
                        CheckType(reader, "PropertyFilterSpec");
                        specs.Add(ReadFilterSpec(reader));
                        break;
                    case "options" when withOptions:
                        Expect(options is null);
                        CheckType(reader, "RetrieveOptions");
                        options = ReadOptions(reader);
                        break;
                    default:
                        throw new GiveUp();
                }
            }

            Expect(reader.NodeType == XmlNodeType.EndElement);
            reader.ReadEndElement();
        }
        else
        {
            reader.Read();
        }

        return withOptions ? [@this, specs.ToArray(), options] : [@this, specs.ToArray()];
    }

    private static PropertyFilterSpec ReadFilterSpec(XmlReader reader)
    {
        var propSet = new List<PropertySpec>(1);
        var objectSet = new List<ObjectSpec>(1);
        bool? reportMissing = null;
        foreach (var name in Children(reader))
        {
            switch (name)
            {
                case "propSet":
                    CheckType(reader, "PropertySpec");
                    propSet.Add(ReadPropertySpec(reader));
                    break;
                case "objectSet":
                    CheckType(reader, "ObjectSpec");
                    objectSet.Add(ReadObjectSpec(reader));
                    break;
                case "reportMissingObjectsInResults":
                    reportMissing = ReadBoolean(reader);
                    break;
                default:
                    throw new GiveUp();
            }
        }

        return new PropertyFilterSpec { propSet = propSet.ToArray(), objectSet = objectSet.ToArray(), reportMissingObjectsInResults = reportMissing };
    }

    private static PropertySpec ReadPropertySpec(XmlReader reader)
    {
        var spec = new PropertySpec();
        List<string>? paths = null;
        foreach (var name in Children(reader))
        {
            switch (name)
            {
                case "type":
                    spec.type = ReadString(reader);
                    break;
                case "all":
                    spec.all = ReadBoolean(reader);
                    break;
                case "pathSet":
                    (paths ??= []).Add(ReadString(reader));
                    break;
                default:
                    throw new GiveUp();
            }
        }

        spec.pathSet = paths?.ToArray();
        return spec;
    }

    private static ObjectSpec ReadObjectSpec(XmlReader reader)
    {
        var spec = new ObjectSpec();
        List<SelectionSpec>? selections = null;
        foreach (var name in Children(reader))
        {
            switch (name)
            {
                case "obj":
                    spec.obj = ReadReference(reader);
                    break;
                case "skip":
                    spec.skip = ReadBoolean(reader);
                    break;
                case "selectSet":
                    (selections ??= []).Add(ReadSelection(reader));
                    break;
                default:
                    throw new GiveUp();
            }
        }

        spec.selectSet = selections?.ToArray();
        return spec;
    }

    /// <summary>A SelectionSpec, or a TraversalSpec when xsi:type says so.</summary>
    private static SelectionSpec ReadSelection(XmlReader reader)
    {
        var type = XsiType(reader) ?? "SelectionSpec";
        if (type == "SelectionSpec")
        {
            var selection = new SelectionSpec();
            foreach (var name in Children(reader))
            {
                Expect(name == "name");
                selection.name = ReadString(reader);
            }

            return selection;
        }

        Expect(type == "TraversalSpec");
        var traversal = new TraversalSpec();
        List<SelectionSpec>? selections = null;
        foreach (var name in Children(reader))
        {
            switch (name)
            {
                case "name":
                    traversal.name = ReadString(reader);
                    break;
                case "type":
                    traversal.type = ReadString(reader);
                    break;
                case "path":
                    traversal.path = ReadString(reader);
                    break;
                case "skip":
                    traversal.skip = ReadBoolean(reader);
                    break;
                case "selectSet":
                    (selections ??= []).Add(ReadSelection(reader));
                    break;
                default:
                    throw new GiveUp();
            }
        }

        traversal.selectSet = selections?.ToArray();
        return traversal;
    }

    private static RetrieveOptions ReadOptions(XmlReader reader)
    {
        var options = new RetrieveOptions();
        foreach (var name in Children(reader))
        {
            Expect(name == "maxObjects");
            options.maxObjects = XmlConvert.ToInt32(ReadString(reader));
        }

        return options;
    }

    private static ManagedObjectReference ReadReference(XmlReader reader)
    {
        string? type = null;
        if (reader.MoveToFirstAttribute())
        {
            do
            {
                if (reader.LocalName == "type" && reader.NamespaceURI.Length == 0)
                {
                    type = reader.Value;
                }
                else
                {
                    Expect(IsNamespaceDeclaration(reader) || (reader.LocalName == "type" && reader.NamespaceURI == VimNamespaces.XmlSchemaInstance && XsiTypeIs(reader, "ManagedObjectReference")));
                }
            }
            while (reader.MoveToNextAttribute());
            reader.MoveToElement();
        }

        Expect(type is not null);
        return new ManagedObjectReference(type!, ReadString(reader, attributesChecked: true));
    }

    /// <summary>The local names of an element's child elements (all in urn:vim25), one at a time; the reader is on each
    /// child's start element when it is yielded, and must be past that child when the loop continues.</summary>
    private static IEnumerable<string> Children(XmlReader reader)
    {
        if (reader.IsEmptyElement)
        {
            reader.Read();
            yield break;
        }

        reader.ReadStartElement();
        while (reader.MoveToContent() == XmlNodeType.Element)
        {
            Expect(reader.NamespaceURI == Vim);
            Expect(reader.LocalName is not ("dynamicType" or "dynamicProperty"));
            yield return reader.LocalName;
        }

        Expect(reader.NodeType == XmlNodeType.EndElement);
        reader.ReadEndElement();
    }

    private static string ReadString(XmlReader reader, bool attributesChecked = false)
    {
        if (!attributesChecked && reader.HasAttributes && !OnlyNamespaceAttributes(reader))
        {
            throw new GiveUp();
        }

        if (reader.IsEmptyElement)
        {
            reader.Read();
            return "";
        }

        reader.ReadStartElement();
        var text = "";
        while (reader.NodeType is XmlNodeType.Text or XmlNodeType.CDATA or XmlNodeType.Whitespace or XmlNodeType.SignificantWhitespace)
        {
            text += reader.Value;
            reader.Read();
        }

        Expect(reader.NodeType == XmlNodeType.EndElement);
        reader.ReadEndElement();
        return text;
    }

    private static bool ReadBoolean(XmlReader reader) => XmlConvert.ToBoolean(ReadString(reader).Trim());

    /// <summary>An element's xsi:type must name <paramref name="declared"/> when present (the declared type itself).</summary>
    private static void CheckType(XmlReader reader, string declared)
    {
        if (reader.HasAttributes)
        {
            var type = XsiType(reader);
            Expect(type is null || type == declared);
        }
    }

    /// <summary>The local name of an element's xsi:type in urn:vim25 (null when absent); gives up on any other attribute.</summary>
    private static string? XsiType(XmlReader reader)
    {
        string? type = null;
        if (reader.MoveToFirstAttribute())
        {
            do
            {
                if (reader.LocalName == "type" && reader.NamespaceURI == VimNamespaces.XmlSchemaInstance)
                {
                    var (ns, local) = Resolve(reader);
                    Expect(ns == Vim);
                    type = local;
                }
                else
                {
                    Expect(IsNamespaceDeclaration(reader));
                }
            }
            while (reader.MoveToNextAttribute());
            reader.MoveToElement();
        }

        return type;
    }

    private static bool XsiTypeIs(XmlReader reader, string localName)
    {
        var (ns, local) = Resolve(reader);
        return ns == Vim && local == localName;
    }

    /// <summary>The namespace and local name of the QName in the current attribute's value.</summary>
    private static (string Namespace, string LocalName) Resolve(XmlReader reader)
    {
        var value = reader.Value.Trim();
        var colon = value.IndexOf(':', StringComparison.Ordinal);
        var prefix = colon < 0 ? "" : value[..colon];
        var ns = reader.LookupNamespace(prefix) ?? throw new GiveUp();
        return (ns, colon < 0 ? value : value[(colon + 1)..]);
    }

    private static bool OnlyNamespaceAttributes(XmlReader reader)
    {
        var only = true;
        if (reader.MoveToFirstAttribute())
        {
            do
            {
                only &= IsNamespaceDeclaration(reader);
            }
            while (reader.MoveToNextAttribute());
            reader.MoveToElement();
        }

        return only;
    }

    private static bool IsNamespaceDeclaration(XmlReader reader) => reader.NamespaceURI == "http://www.w3.org/2000/xmlns/";

    private static void Expect(bool condition)
    {
        if (!condition)
        {
            throw new GiveUp();
        }
    }

    /// <summary>The request is not a shape this reader knows.</summary>
    private sealed class GiveUp : Exception
    {
    }
}
