using System.Text;
using System.Xml;
using System.Xml.Linq;
using System.Xml.Schema;

namespace GuestOps.IntegrationTests.Schema;

/// <summary>One problem found in a SOAP message.</summary>
/// <param name="Source">"ours" (wsdl/ of this repository), "vmware-5.x" (VMware's 5.x vim25 schema),
/// or "envelope" (SOAP structure and project wire rules).</param>
/// <param name="Line">1-based line in the validated text, 0 when unknown.</param>
/// <param name="Position">1-based column in the validated text, 0 when unknown.</param>
/// <param name="Element">Path of the offending element, e.g.
/// <c>/Envelope/Body/RetrievePropertiesExResponse/returnval/objects/propSet[2]/val</c>.</param>
/// <param name="Message">What is wrong.</param>
public sealed record SchemaIssue(string Source, int Line, int Position, string Element, string Message)
{
    public override string ToString() => $"[{Source}] line {Line}, position {Position}, {Element}: {Message}";
}

/// <summary>Thrown by <see cref="VimSchemas.AssertValid"/>; lists every issue found.</summary>
public sealed class SchemaValidationException : Exception
{
    public SchemaValidationException(IReadOnlyList<SchemaIssue> issues)
        : base(Describe(issues))
    {
        Issues = issues;
    }

    public IReadOnlyList<SchemaIssue> Issues { get; }

    private static string Describe(IReadOnlyList<SchemaIssue> issues)
    {
        var text = new StringBuilder();
        text.Append(issues.Count).Append(" schema issue(s) in the SOAP message:");
        foreach (var issue in issues)
        {
            text.AppendLine().Append("  ").Append(issue);
        }

        return text.ToString();
    }
}

/// <summary>An element vSphere added after the 5.x schema that GuestOps knowingly emits.</summary>
/// <param name="TypeName">The vim25 data type that contains the element.</param>
/// <param name="ElementName">The element (field) name.</param>
/// <param name="AddedIn">The vSphere release that added it.</param>
public sealed record PostVmware5xElement(string TypeName, string ElementName, string AddedIn)
{
    public override string ToString() => $"{TypeName}/{ElementName} (vSphere {AddedIn})";
}

/// <summary>
/// Validates SOAP messages written by the server against the project's own WSDL/XSD (<c>wsdl/</c>), always, and
/// against VMware's vSphere 5.x vim25 WSDL/XSD when it is on this machine: it is VMware's and never copied into the
/// repository; <see cref="ReferenceWsdlVariable"/> names its folder, default <c>../shared/reference/vim25-wsdl-5x</c>
/// beside the repository. Without it the VMware comparisons (<see cref="RequireVmware5x"/>) are Inconclusive.
/// Use it as <c>VimSchemas.Shared.AssertValid(responseXml)</c>.
/// </summary>
public sealed class VimSchemas
{
    public const string VimNamespace = "urn:vim25";
    public const string SoapEnvelopeNamespace = "http://schemas.xmlsoap.org/soap/envelope/";
    public const string XmlSchemaNamespace = "http://www.w3.org/2001/XMLSchema";
    public const string XmlSchemaInstanceNamespace = "http://www.w3.org/2001/XMLSchema-instance";
    public const string WsdlNamespace = "http://schemas.xmlsoap.org/wsdl/";

    /// <summary>Environment variable naming the folder of VMware's 5.x <c>vim.wsdl</c> (and the XSDs it includes).
    /// Default: <see cref="DefaultReferenceWsdlDirectory"/> relative to the repository root.</summary>
    public const string ReferenceWsdlVariable = "GUESTOPS_REFERENCE_WSDL_DIR";

    /// <summary>Where VMware's 5.x WSDL is looked for when <see cref="ReferenceWsdlVariable"/> is not set.</summary>
    public const string DefaultReferenceWsdlDirectory = "../shared/reference/vim25-wsdl-5x";

    public const string OursSource = "ours";
    public const string VmwareSource = "vmware-5.x";
    public const string EnvelopeSource = "envelope";

    /// <summary>
    /// Elements vSphere added after 5.x that the server knowingly emits. They are in our schema;
    /// they are removed from a copy of the message before it is checked against VMware's 5.x
    /// schema. Keep this list short: every entry is a field 5.x-era clients do not know.
    /// </summary>
    public static readonly IReadOnlyList<PostVmware5xElement> PostVmware5xElements =
    [
        // govc guest.run / guest.upload read guest.toolsInstallType (govmomi guest/toolbox/client.go).
        new("GuestInfo", "toolsInstallType", "6.5"),
        // NoPermission names every missing privilege (issue 6: authorization).
        new("NoPermission", "missingPrivileges", "7.0.3.2"),
        // QueryEvents' filter: at most this many events (read from requests only).
        new("EventFilterSpec", "maxCount", "6.7"),
    ];

    /// <summary>Data types vSphere added after 5.x that GuestOps serves: only the operations and elements above use them.</summary>
    public static readonly IReadOnlySet<string> PostVmware5xTypes = new HashSet<string>(StringComparer.Ordinal)
    {
        "NoPermissionEntityPrivileges", // NoPermission.missingPrivileges, 7.0.3.2
        "UserPrivilegeResult", // FetchUserPrivilegeOnEntities, 6.5
    };

    /// <summary>
    /// Operations this server serves that no 5.x WSDL has. For these the request/response
    /// elements are only checked against our schema; against VMware's 5.x schema each
    /// <c>returnval</c> value is validated by its <c>xsi:type</c> alone (so a <c>Fetch</c> of
    /// <c>guest</c> is checked as a 5.x <c>GuestInfo</c>).
    /// </summary>
    public static readonly IReadOnlySet<string> PostVmware5xOperations = new HashSet<string>(StringComparer.Ordinal)
    {
        "Fetch", // undocumented; pyVmomi 8 reads every managed property with it.
        "FetchUserPrivilegeOnEntities", // AuthorizationManager, vSphere 6.5.
    };

    private static readonly Lazy<VimSchemas> SharedInstance = new(() => Load(), LazyThreadSafetyMode.ExecutionAndPublication);

    private static readonly XNamespace Soap = SoapEnvelopeNamespace;
    private static readonly XNamespace Vim = VimNamespace;
    private static readonly XName XsiType = XName.Get("type", XmlSchemaInstanceNamespace);
    private static readonly XmlQualifiedName AnyTypeName = new("anyType", XmlSchemaNamespace);

    // XmlSchemaSet is not documented as thread-safe, even for validation only.
    private readonly Lock gate = new();

    private VimSchemas(string repositoryRoot, string vmwareDirectory, XmlSchemaSet ours, XmlSchemaSet? vmware)
    {
        RepositoryRoot = repositoryRoot;
        OurWsdlDirectory = Path.Combine(repositoryRoot, "wsdl");
        VmwareDirectory = vmwareDirectory;
        Ours = ours;
        Vmware5x = vmware;
    }

    /// <summary>Schemas loaded from the repository that contains the test assembly.</summary>
    public static VimSchemas Shared => SharedInstance.Value;

    public string RepositoryRoot { get; }

    public string OurWsdlDirectory { get; }

    /// <summary>The folder VMware's 5.x WSDL was loaded from, or looked for when <see cref="Vmware5x"/> is null.</summary>
    public string VmwareDirectory { get; }

    /// <summary>Compiled schema of <c>wsdl/vim.wsdl</c> (its types section and the included XSDs).</summary>
    public XmlSchemaSet Ours { get; }

    /// <summary>Compiled schema of VMware's 5.x <c>vim.wsdl</c> (its types section and includes); null when it is not
    /// on this machine, and then messages are validated against <see cref="Ours"/> only.</summary>
    public XmlSchemaSet? Vmware5x { get; }

    /// <summary>Why the VMware comparisons cannot run here (one line), or null when <see cref="Vmware5x"/> is loaded.</summary>
    public string? Vmware5xMissingReason => Vmware5x is null
        ? $"VMware's vSphere 5.x vim25 WSDL is not part of the repository and is not at {VmwareDirectory}: set {ReferenceWsdlVariable} to a folder holding its vim.wsdl to run this comparison."
        : null;

    /// <summary>VMware's 5.x schema for a test that compares against it; the test is Inconclusive (with
    /// <see cref="Vmware5xMissingReason"/>) when that schema is not on this machine.</summary>
    public XmlSchemaSet RequireVmware5x()
    {
        if (Vmware5x is null)
        {
            Assert.Inconclusive(Vmware5xMissingReason!);
        }

        return Vmware5x;
    }

    /// <summary>Loads our schema set and, when present, VMware's.</summary>
    /// <param name="repositoryRoot">Repository root; default: walk up from the test assembly to GuestOps.sln.</param>
    /// <param name="vmwareDirectory">Folder with VMware's vim.wsdl; default: <see cref="ReferenceWsdlVariable"/> or
    /// <see cref="DefaultReferenceWsdlDirectory"/>. A folder named explicitly (argument or variable) must hold it.</param>
    public static VimSchemas Load(string? repositoryRoot = null, string? vmwareDirectory = null)
    {
        var root = repositoryRoot ?? FindRepositoryRoot();
        var configured = vmwareDirectory ?? Environment.GetEnvironmentVariable(ReferenceWsdlVariable);
        var explicitlyNamed = !string.IsNullOrWhiteSpace(configured);
        var vmwareDir = Path.GetFullPath(explicitlyNamed ? configured! : Path.Combine(root, DefaultReferenceWsdlDirectory));
        var vmwareWsdl = Path.Combine(vmwareDir, "vim.wsdl");
        if (explicitlyNamed && !File.Exists(vmwareWsdl))
        {
            throw new InvalidOperationException($"{ReferenceWsdlVariable} names {vmwareDir}, which holds no vim.wsdl (VMware's vSphere 5.x vim25 WSDL).");
        }

        var ours = LoadWsdlTypes(Path.Combine(root, "wsdl", "vim.wsdl"));
        var vmware = File.Exists(vmwareWsdl) ? LoadWsdlTypes(vmwareWsdl) : null;
        return new VimSchemas(root, vmwareDir, ours, vmware);
    }

    /// <summary>Throws <see cref="SchemaValidationException"/> unless <see cref="ValidateResponse"/> finds nothing.</summary>
    public void AssertValid(string soapEnvelopeXml)
    {
        var issues = ValidateResponse(soapEnvelopeXml);
        if (issues.Count > 0)
        {
            throw new SchemaValidationException(issues);
        }
    }

    /// <summary>
    /// Validates the single child of <c>soapenv:Body</c>: an <c>XxxResponse</c> element, or a
    /// <c>soapenv:Fault</c> whose <c>detail</c> child (<c>&lt;XxxFault xsi:type="..."&gt;</c>) is
    /// validated as that fault element. Checked against our schema, then (when it is here) against VMware's 5.x
    /// schema (after removing <see cref="PostVmware5xElements"/>), plus the wire rule that every
    /// <c>xs:anyType</c> value carries <c>xsi:type</c>. Returns every issue found (empty when valid).
    /// Request envelopes (<c>&lt;Xxx&gt;</c> bodies) are checked the same way.
    /// </summary>
    public IReadOnlyList<SchemaIssue> ValidateResponse(string soapEnvelopeXml)
    {
        ArgumentNullException.ThrowIfNull(soapEnvelopeXml);
        var issues = new List<SchemaIssue>();

        XDocument document;
        try
        {
            document = XDocument.Parse(soapEnvelopeXml, LoadOptions.SetLineInfo);
        }
        catch (XmlException e)
        {
            issues.Add(new SchemaIssue(EnvelopeSource, e.LineNumber, e.LinePosition, "/", "not well-formed XML: " + e.Message));
            return issues;
        }

        var payload = FindPayload(document, issues);
        if (payload is null)
        {
            return issues;
        }

        var ourDeclaration = Ours.GlobalElements[new XmlQualifiedName(payload.Name.LocalName, payload.Name.NamespaceName)] as XmlSchemaElement;
        if (ourDeclaration is null)
        {
            issues.Add(Issue(OursSource, payload, $"no global element {payload.Name} in wsdl/ (unknown operation response or fault element)"));
            return issues;
        }

        lock (gate)
        {
            payload.Validate(ourDeclaration, Ours, (sender, e) => issues.Add(Issue(OursSource, sender, e)), addSchemaInfo: true);
            CheckAnyTypeValuesAreTyped(payload, issues);

            if (Vmware5x is not null)
            {
                // Second parse of the same text: identical line numbers, and free to be pruned.
                var copy = XDocument.Parse(soapEnvelopeXml, LoadOptions.SetLineInfo);
                var copyPayload = PruneForVmware5x(document, copy, payload);
                ValidateAgainstVmware(Vmware5x, copyPayload, issues);
            }
        }

        return issues;
    }

    private static void ValidateAgainstVmware(XmlSchemaSet vmware5x, XElement payload, List<SchemaIssue> issues)
    {
        var declaration = vmware5x.GlobalElements[new XmlQualifiedName(payload.Name.LocalName, payload.Name.NamespaceName)] as XmlSchemaElement;
        if (declaration is not null)
        {
            payload.Validate(declaration, vmware5x, (sender, e) => issues.Add(Issue(VmwareSource, sender, e)));
            return;
        }

        var operation = payload.Name.LocalName.EndsWith("Response", StringComparison.Ordinal)
            ? payload.Name.LocalName[..^"Response".Length]
            : payload.Name.LocalName;
        if (payload.Name.Namespace != Vim || !PostVmware5xOperations.Contains(operation))
        {
            issues.Add(Issue(VmwareSource, payload,
                $"{payload.Name.LocalName} is not in VMware's 5.x schema; if that is intended, list the operation in VimSchemas.PostVmware5xOperations"));
            return;
        }

        // A post-5.x operation (Fetch): the message itself has no 5.x declaration, so check each
        // returned value against the 5.x type its xsi:type names. Requests are not checked here.
        foreach (var value in payload.Elements(Vim + "returnval"))
        {
            if (value.Attribute(XsiType) is null)
            {
                continue; // already reported by CheckAnyTypeValuesAreTyped
            }

            value.Validate(XmlSchemaType.GetBuiltInComplexType(AnyTypeName)!, vmware5x, (sender, e) => issues.Add(Issue(VmwareSource, sender, e)));
        }
    }

    private static XElement? FindPayload(XDocument document, List<SchemaIssue> issues)
    {
        var envelope = document.Root!;
        if (envelope.Name != Soap + "Envelope")
        {
            issues.Add(Issue(EnvelopeSource, envelope, $"root element must be {{{SoapEnvelopeNamespace}}}Envelope, found {envelope.Name}"));
            return null;
        }

        var bodies = envelope.Elements(Soap + "Body").ToList();
        if (bodies.Count != 1)
        {
            issues.Add(Issue(EnvelopeSource, envelope, $"expected exactly one soapenv:Body, found {bodies.Count}"));
            return null;
        }

        var body = bodies[0];
        var children = body.Elements().ToList();
        if (children.Count != 1 || HasText(body))
        {
            issues.Add(Issue(EnvelopeSource, body, $"soapenv:Body must hold exactly one element and no text, found {children.Count} element(s)"));
            return null;
        }

        var payload = children[0];
        if (payload.Name != Soap + "Fault")
        {
            return payload;
        }

        // SOAP 1.1 fault: faultcode, faultstring, faultactor?, detail? (unqualified children).
        var names = payload.Elements().Select(e => e.Name).ToList();
        XName[] expected = ["faultcode", "faultstring"];
        if (names.Count < 2 || names[0] != expected[0] || names[1] != expected[1]
            || names.Skip(2).Any(n => n != "faultactor" && n != "detail"))
        {
            issues.Add(Issue(EnvelopeSource, payload,
                $"soapenv:Fault must contain faultcode, faultstring, [faultactor], [detail] in this order; found {string.Join(", ", names)}"));
        }

        var detail = payload.Element("detail");
        if (detail is null)
        {
            issues.Add(Issue(EnvelopeSource, payload, "vim25 faults carry a detail element with one <TypeFault xsi:type=\"Type\"> child"));
            return null;
        }

        var faults = detail.Elements().ToList();
        if (faults.Count != 1 || HasText(detail))
        {
            issues.Add(Issue(EnvelopeSource, detail, $"detail must hold exactly one fault element and no text, found {faults.Count} element(s)"));
            return null;
        }

        return faults[0];
    }

    private static bool HasText(XElement element) =>
        element.Nodes().OfType<XText>().Any(t => !string.IsNullOrWhiteSpace(t.Value));

    /// <summary>Project wire rule (govmomi cannot decode an untyped anyType value): every element
    /// declared xs:anyType (DynamicProperty.val, KeyAnyValue.value, Fetch returnval) must carry xsi:type.</summary>
    private static void CheckAnyTypeValuesAreTyped(XElement payload, List<SchemaIssue> issues)
    {
        foreach (var element in payload.DescendantsAndSelf())
        {
            var declared = element.GetSchemaInfo()?.SchemaElement?.ElementSchemaType;
            if (declared is not null && declared.QualifiedName == AnyTypeName && element.Attribute(XsiType) is null)
            {
                issues.Add(Issue(EnvelopeSource, element, "xs:anyType value without xsi:type (clients need it to decode the value)"));
            }
        }
    }

    /// <summary>Removes from <paramref name="copy"/> the elements of <see cref="PostVmware5xElements"/>
    /// found in <paramref name="original"/> (whose payload carries our schema's validation info).</summary>
    private static XElement PruneForVmware5x(XDocument original, XDocument copy, XElement originalPayload)
    {
        var originals = original.Root!.DescendantsAndSelf().ToList();
        var copies = copy.Root!.DescendantsAndSelf().ToList();
        var copyPayload = copies[originals.IndexOf(originalPayload)];
        var doomed = new List<XElement>();
        for (var i = 0; i < originals.Count; i++)
        {
            if (IsPostVmware5xElement(originals[i]))
            {
                doomed.Add(copies[i]);
            }
        }

        foreach (var element in doomed)
        {
            element.Remove();
        }

        return copyPayload;
    }

    private static bool IsPostVmware5xElement(XElement element)
    {
        if (element.Name.Namespace != Vim || element.Parent is not { } parent)
        {
            return false;
        }

        foreach (var entry in PostVmware5xElements)
        {
            if (element.Name.LocalName == entry.ElementName && IsOfVimType(parent, entry.TypeName))
            {
                return true;
            }
        }

        return false;
    }

    private static bool IsOfVimType(XElement element, string typeName)
    {
        var wanted = new XmlQualifiedName(typeName, VimNamespace);

        // The type our schema validated the element as (declared type or xsi:type) ...
        if (element.GetSchemaInfo()?.SchemaType?.QualifiedName == wanted)
        {
            return true;
        }

        // ... or, if our validation did not get that far, what its xsi:type says.
        var xsiType = (string?)element.Attribute(XsiType);
        if (string.IsNullOrEmpty(xsiType))
        {
            return false;
        }

        var colon = xsiType.IndexOf(':', StringComparison.Ordinal);
        var prefix = colon < 0 ? string.Empty : xsiType[..colon];
        var local = colon < 0 ? xsiType : xsiType[(colon + 1)..];
        var ns = prefix.Length == 0 ? element.GetDefaultNamespace() : element.GetNamespaceOfPrefix(prefix);
        return local == typeName && ns == Vim;
    }

    private static SchemaIssue Issue(string source, object? sender, ValidationEventArgs e)
    {
        var node = sender as XObject;
        var element = node as XElement ?? node?.Parent;
        var (line, position) = LineInfo(node);
        if (line == 0)
        {
            (line, position) = (e.Exception.LineNumber, e.Exception.LinePosition);
        }

        var what = node is XAttribute attribute ? $"{PathOf(element)}/@{attribute.Name.LocalName}" : PathOf(element);
        var severity = e.Severity == XmlSeverityType.Warning ? "warning: " : string.Empty;
        return new SchemaIssue(source, line, position, what, severity + e.Message);
    }

    private static SchemaIssue Issue(string source, XElement element, string message)
    {
        var (line, position) = LineInfo(element);
        return new SchemaIssue(source, line, position, PathOf(element), message);
    }

    private static (int Line, int Position) LineInfo(XObject? node) =>
        node is IXmlLineInfo info && info.HasLineInfo() ? (info.LineNumber, info.LinePosition) : (0, 0);

    private static string PathOf(XElement? element)
    {
        if (element is null)
        {
            return "/";
        }

        var steps = new Stack<string>();
        for (var e = element; e is not null; e = e.Parent)
        {
            var step = e.Name.LocalName;
            if (e.Parent is { } parent)
            {
                var siblings = parent.Elements(e.Name).ToList();
                if (siblings.Count > 1)
                {
                    step += $"[{siblings.IndexOf(e) + 1}]";
                }
            }

            steps.Push(step);
        }

        return "/" + string.Join("/", steps);
    }

    // ------------------------------------------------------------------------------------
    // Loading
    // ------------------------------------------------------------------------------------

    private static string FindRepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "GuestOps.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"GuestOps.sln not found in {AppContext.BaseDirectory} or any parent folder.");
    }

    /// <summary>Reads every xs:schema in a WSDL's types section (with its includes/imports,
    /// resolved relative to the WSDL file, local files only) into a compiled schema set.</summary>
    private static XmlSchemaSet LoadWsdlTypes(string wsdlPath)
    {
        var errors = new List<string>();
        void Collect(object? sender, ValidationEventArgs e)
        {
            if (e.Severity == XmlSeverityType.Error)
            {
                errors.Add($"{e.Exception.SourceUri}({e.Exception.LineNumber},{e.Exception.LinePosition}): {e.Message}");
            }
        }

        var set = new XmlSchemaSet { XmlResolver = new LocalFileResolver() };
        set.ValidationEventHandler += Collect;

        var settings = new XmlReaderSettings { DtdProcessing = DtdProcessing.Prohibit, XmlResolver = null };
        using (var reader = XmlReader.Create(Path.GetFullPath(wsdlPath), settings))
        {
            var inTypes = false;
            while (reader.Read())
            {
                if (reader.NodeType == XmlNodeType.Element && reader.NamespaceURI == WsdlNamespace && reader.LocalName == "types")
                {
                    inTypes = true;
                }
                else if (reader.NodeType == XmlNodeType.EndElement && reader.NamespaceURI == WsdlNamespace && reader.LocalName == "types")
                {
                    break;
                }
                else if (inTypes && reader.NodeType == XmlNodeType.Element && reader.NamespaceURI == XmlSchemaNamespace && reader.LocalName == "schema")
                {
                    using var subtree = reader.ReadSubtree();
                    var schema = XmlSchema.Read(subtree, Collect)
                        ?? throw new InvalidOperationException($"Could not read the schema in {wsdlPath}.");
                    set.Add(schema);
                }
            }
        }

        if (set.Count == 0)
        {
            throw new InvalidOperationException($"No xs:schema in the types section of {wsdlPath}.");
        }

        set.Compile();
        if (errors.Count > 0)
        {
            throw new InvalidOperationException($"Schema errors in {wsdlPath}:{Environment.NewLine}{string.Join(Environment.NewLine, errors)}");
        }

        return set;
    }

    /// <summary>Resolves schema includes/imports from the local file system only; never the network.</summary>
    private sealed class LocalFileResolver : XmlUrlResolver
    {
        public override object? GetEntity(Uri absoluteUri, string? role, Type? ofObjectToReturn)
        {
            if (!absoluteUri.IsFile)
            {
                throw new XmlException($"Refusing to load a non-local schema resource: {absoluteUri}");
            }

            return base.GetEntity(absoluteUri, role, ofObjectToReturn);
        }
    }
}
