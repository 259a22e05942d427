using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using System.Text;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace GuestOps.Generators;

/// <summary>
/// The guest-method spine. A guest method is defined once, by <c>[GuestMethod("ListFilesInGuest", ...)]</c> on its
/// request record in GuestOps.Channel; from that definition this generator emits
/// <list type="bullet">
/// <item>in the compilation that declares the requests: each request's <c>OperationName</c> and <c>Operation</c>, and
/// the <c>GuestMethods.All</c> table (name, request, result, privilege, guest errors);</item>
/// <item>in a compilation with a <c>[GuestMethodHandlers]</c> class (the worker): its <c>Operations</c> (the
/// capabilities it advertises) and <c>DispatchAsync</c>, which calls <c>{Name}Async</c> for each method.</item>
/// </list>
/// A missing piece is a compile error: a request that is not registered for JSON under its name, a result type that is
/// not, a registered request without a definition, a method the handler class has no <c>{Name}Async</c> for.
/// </summary>
[Generator(LanguageNames.CSharp)]
public sealed class GuestMethodGenerator : IIncrementalGenerator
{
    internal const string MessagesNamespace = "GuestOps.Channel.Messages";
    private const string MethodAttributeName = MessagesNamespace + ".GuestMethodAttribute";
    private const string HandlersAttributeName = MessagesNamespace + ".GuestMethodHandlersAttribute";
    private const string JsonDerivedTypeName = "System.Text.Json.Serialization.JsonDerivedTypeAttribute";

    public void Initialize(IncrementalGeneratorInitializationContext context)
    {
        var definitions = context.SyntaxProvider
            .ForAttributeWithMetadataName(MethodAttributeName, static (node, _) => node is TypeDeclarationSyntax, static (_, _) => true)
            .Collect();
        var handlers = context.SyntaxProvider
            .ForAttributeWithMetadataName(HandlersAttributeName, static (node, _) => node is TypeDeclarationSyntax, static (_, _) => true)
            .Collect();
        var input = context.CompilationProvider.Combine(definitions).Combine(handlers);
        context.RegisterSourceOutput(input, static (output, input) =>
        {
            var ((compilation, defined), handled) = input;
            if (defined.Length > 0)
            {
                EmitDefinitions(compilation, output.AddSource, output.ReportDiagnostic);
            }

            if (handled.Length > 0)
            {
                EmitHandlers(compilation, output.AddSource, output.ReportDiagnostic);
            }
        });
    }

    // ------------------------------------------------------------------------------------------------ definitions

    private static void EmitDefinitions(Compilation compilation, System.Action<string, string> addSource, System.Action<Diagnostic> report)
    {
        var known = KnownTypes.From(compilation);
        if (known is null)
        {
            return;
        }

        var methods = FindMethods(compilation.Assembly, known);
        var registered = DerivedTypes(known.Request, known.JsonDerivedType);
        var results = DerivedTypes(known.Result, known.JsonDerivedType);
        var names = new HashSet<string>();
        var valid = new List<GuestMethodModel>();

        foreach (var method in methods)
        {
            var location = method.Type.Locations.FirstOrDefault();
            if (!IsPartial(method.Type))
            {
                report(Diagnostic.Create(Diagnostics.NotPartial, location, method.Type.Name));
                continue;
            }

            if (!InheritsFrom(method.Type, known.Request) || method.Type.IsAbstract)
            {
                report(Diagnostic.Create(Diagnostics.NotARequest, location, method.Type.Name, method.Name));
                continue;
            }

            if (method.Result is null)
            {
                report(Diagnostic.Create(Diagnostics.NoResult, location, method.Type.Name, method.Name));
                continue;
            }

            if (string.IsNullOrEmpty(method.Name) || !names.Add(method.Name))
            {
                report(Diagnostic.Create(Diagnostics.BadName, location, method.Type.Name, method.Name));
                continue;
            }

            if (!registered.TryGetValue(method.Type, out var tag) || tag != method.Name)
            {
                report(Diagnostic.Create(Diagnostics.NotRegistered, location, method.Name, method.Type.Name, tag ?? "(absent)"));
            }

            if (!results.ContainsKey(method.Result))
            {
                report(Diagnostic.Create(Diagnostics.ResultNotRegistered, location, method.Name, method.Result.Name));
            }

            valid.Add(method);
        }

        foreach (var type in registered.Keys)
        {
            if (!methods.Any(m => SymbolEqualityComparer.Default.Equals(m.Type, type)))
            {
                report(Diagnostic.Create(Diagnostics.RegisteredWithoutDefinition, known.Request.Locations.FirstOrDefault(), type.Name));
            }
        }

        foreach (var method in valid)
        {
            addSource(method.Type.Name + ".GuestMethod.g.cs", RequestSource(method));
        }

        addSource("GuestMethods.g.cs", TableSource(valid, known));
    }

    private static string RequestSource(GuestMethodModel method)
    {
        var type = method.Type;
        var kind = type.IsRecord ? "record" : "class";
        var text = new StringBuilder();
        text.AppendLine("// <auto-generated>GuestOps.Generators: from [GuestMethod] on " + type.Name + "</auto-generated>");
        text.AppendLine("#nullable enable");
        text.AppendLine("namespace " + type.ContainingNamespace.ToDisplayString() + ";");
        text.AppendLine();
        text.AppendLine("partial " + kind + " " + type.Name);
        text.AppendLine("{");
        text.AppendLine("    /// <summary>The guest method's vSphere name, its JSON type tag on the channel and its capability.</summary>");
        text.AppendLine("    public const string OperationName = " + Literal(method.Name) + ";");
        text.AppendLine();
        text.AppendLine("    [global::System.Text.Json.Serialization.JsonIgnore]");
        text.AppendLine("    public override string Operation => OperationName;");
        text.AppendLine("}");
        return text.ToString();
    }

    private static string TableSource(IReadOnlyList<GuestMethodModel> methods, KnownTypes known)
    {
        var text = new StringBuilder();
        text.AppendLine("// <auto-generated>GuestOps.Generators: every [GuestMethod] of this assembly</auto-generated>");
        text.AppendLine("#nullable enable");
        text.AppendLine("namespace " + MessagesNamespace + ";");
        text.AppendLine();
        text.AppendLine("partial class GuestMethods");
        text.AppendLine("{");
        text.AppendLine("    /// <summary>Every guest method, in declaration order.</summary>");
        text.AppendLine("    public static global::System.Collections.Generic.IReadOnlyList<GuestMethod> All { get; } =");
        text.AppendLine("    [");
        foreach (var method in methods)
        {
            var faults = string.Join(", ", method.Faults.Select(f => "GuestErrorCode." + f));
            text.AppendLine("        new GuestMethod(" + Literal(method.Name) + ", typeof(" + Qualified(method.Type) + "), typeof("
                + Qualified(method.Result!) + "), GuestPrivilege." + method.Privilege + ", [" + faults + "]),");
        }

        text.AppendLine("    ];");
        text.AppendLine("}");
        return text.ToString();
    }

    // --------------------------------------------------------------------------------------------------- handlers

    private static void EmitHandlers(Compilation compilation, System.Action<string, string> addSource, System.Action<Diagnostic> report)
    {
        var known = KnownTypes.From(compilation);
        var handlersAttribute = compilation.GetTypeByMetadataName(HandlersAttributeName);
        if (known is null || handlersAttribute is null || known.IncomingCall is null || known.Response is null)
        {
            return;
        }

        var methods = FindMethods(known.Request.ContainingAssembly, known);
        foreach (var handler in AllTypes(compilation.Assembly.GlobalNamespace).Where(t => HasAttribute(t, handlersAttribute)))
        {
            var location = handler.Locations.FirstOrDefault();
            if (!IsPartial(handler))
            {
                report(Diagnostic.Create(Diagnostics.NotPartial, location, handler.Name));
                continue;
            }

            var complete = true;
            foreach (var method in methods)
            {
                if (!HasHandler(handler, method, known))
                {
                    complete = false;
                    report(Diagnostic.Create(Diagnostics.NoHandler, location, method.Name, handler.Name, method.Name + "Async", Qualified(method.Type)));
                }
            }

            if (complete)
            {
                addSource(handler.Name + ".GuestMethods.g.cs", HandlerSource(handler, methods));
            }
        }
    }

    /// <summary>A handler is <c>ValueTask&lt;ChannelResponse&gt; {Name}Async(uint, TRequest, IncomingCall?, CancellationToken)</c>.</summary>
    private static bool HasHandler(INamedTypeSymbol handler, GuestMethodModel method, KnownTypes known) =>
        handler.GetMembers(method.Name + "Async").OfType<IMethodSymbol>().Any(m =>
            m.Parameters.Length == 4
            && m.Parameters[0].Type.SpecialType == SpecialType.System_UInt32
            && SymbolEqualityComparer.Default.Equals(m.Parameters[1].Type, method.Type)
            && SymbolEqualityComparer.Default.Equals(m.Parameters[2].Type, known.IncomingCall)
            && m.Parameters[3].Type.ToDisplayString() == "System.Threading.CancellationToken"
            && m.ReturnType is INamedTypeSymbol { IsGenericType: true } returns
            && returns.ConstructedFrom.ToDisplayString() == "System.Threading.Tasks.ValueTask<TResult>"
            && SymbolEqualityComparer.Default.Equals(returns.TypeArguments[0], known.Response));

    private static string HandlerSource(INamedTypeSymbol handler, IReadOnlyList<GuestMethodModel> methods)
    {
        var text = new StringBuilder();
        text.AppendLine("// <auto-generated>GuestOps.Generators: the guest methods' dispatch in " + handler.Name + "</auto-generated>");
        text.AppendLine("#nullable enable");
        text.AppendLine("namespace " + handler.ContainingNamespace.ToDisplayString() + ";");
        text.AppendLine();
        text.AppendLine("partial class " + handler.Name);
        text.AppendLine("{");
        text.AppendLine("    /// <summary>The guest methods this class handles, which is all of them (advertised as capabilities).</summary>");
        text.AppendLine("    public static global::System.Collections.Generic.IReadOnlyList<string> Operations { get; } =");
        text.AppendLine("    [");
        foreach (var method in methods)
        {
            text.AppendLine("        " + Qualified(method.Type) + ".OperationName,");
        }

        text.AppendLine("    ];");
        text.AppendLine();
        text.AppendLine("    /// <summary>Calls the request's <c>{Name}Async</c>.</summary>");
        text.AppendLine("    private global::System.Threading.Tasks.ValueTask<global::GuestOps.Channel.Messages.ChannelResponse> DispatchAsync(");
        text.AppendLine("        uint id, global::GuestOps.Channel.Messages.ChannelRequest request, global::GuestOps.Channel.Connection.IncomingCall? call, global::System.Threading.CancellationToken cancellationToken) =>");
        text.AppendLine("        request switch");
        text.AppendLine("        {");
        foreach (var method in methods)
        {
            text.AppendLine("            " + Qualified(method.Type) + " r => " + method.Name + "Async(id, r, call, cancellationToken),");
        }

        text.AppendLine("            _ => new(global::GuestOps.Channel.Messages.ChannelResponse.Failure(global::GuestOps.Channel.Messages.GuestErrorCode.UnknownOperation,");
        text.AppendLine("                \"Operation '\" + request.Operation + \"' is not implemented by this guest agent.\")),");
        text.AppendLine("        };");
        text.AppendLine("}");
        return text.ToString();
    }

    // ----------------------------------------------------------------------------------------------------- shared

    private static List<GuestMethodModel> FindMethods(IAssemblySymbol assembly, KnownTypes known)
    {
        var methods = new List<GuestMethodModel>();
        foreach (var type in AllTypes(assembly.GlobalNamespace))
        {
            var attribute = type.GetAttributes().FirstOrDefault(a => SymbolEqualityComparer.Default.Equals(a.AttributeClass, known.MethodAttribute));
            if (attribute is null)
            {
                continue;
            }

            var name = attribute.ConstructorArguments.Length == 1 ? attribute.ConstructorArguments[0].Value as string ?? "" : "";
            var privilege = "Query";
            var faults = ImmutableArray<string>.Empty;
            foreach (var argument in attribute.NamedArguments)
            {
                if (argument.Key == "Privilege" && argument.Value.Type is INamedTypeSymbol privileges)
                {
                    privilege = privileges.GetMembers().OfType<IFieldSymbol>().FirstOrDefault(f => f.HasConstantValue && Equals(f.ConstantValue, argument.Value.Value))?.Name ?? privilege;
                }
                else if (argument.Key == "Faults" && argument.Value.Kind == TypedConstantKind.Array && known.ErrorCode is not null)
                {
                    var codes = known.ErrorCode.GetMembers().OfType<IFieldSymbol>().Where(f => f.HasConstantValue).ToList();
                    faults = argument.Value.Values
                        .Select(v => codes.FirstOrDefault(f => Equals(f.ConstantValue, v.Value))?.Name)
                        .Where(n => n is not null)
                        .Select(n => n!)
                        .ToImmutableArray();
                }
            }

            var result = type.AllInterfaces
                .Where(i => SymbolEqualityComparer.Default.Equals(i.OriginalDefinition, known.RequestInterface))
                .Select(i => i.TypeArguments[0])
                .OfType<INamedTypeSymbol>()
                .ToList();
            methods.Add(new GuestMethodModel(type, name, result.Count == 1 ? result[0] : null, privilege, faults));
        }

        return methods;
    }

    /// <summary>The types a polymorphic base lists with <c>[JsonDerivedType(typeof(T), "tag")]</c>, and their tags.</summary>
    private static Dictionary<INamedTypeSymbol, string?> DerivedTypes(INamedTypeSymbol baseType, INamedTypeSymbol attribute)
    {
        var types = new Dictionary<INamedTypeSymbol, string?>(SymbolEqualityComparer.Default);
        foreach (var a in baseType.GetAttributes().Where(a => SymbolEqualityComparer.Default.Equals(a.AttributeClass, attribute)))
        {
            if (a.ConstructorArguments.Length > 0 && a.ConstructorArguments[0].Value is INamedTypeSymbol type)
            {
                types[type] = a.ConstructorArguments.Length > 1 ? a.ConstructorArguments[1].Value as string : null;
            }
        }

        return types;
    }

    private static IEnumerable<INamedTypeSymbol> AllTypes(INamespaceSymbol ns)
    {
        foreach (var type in ns.GetTypeMembers())
        {
            yield return type;
        }

        foreach (var inner in ns.GetNamespaceMembers())
        {
            foreach (var type in AllTypes(inner))
            {
                yield return type;
            }
        }
    }

    private static bool HasAttribute(INamedTypeSymbol type, INamedTypeSymbol attribute) =>
        type.GetAttributes().Any(a => SymbolEqualityComparer.Default.Equals(a.AttributeClass, attribute));

    private static bool InheritsFrom(INamedTypeSymbol type, INamedTypeSymbol baseType)
    {
        for (var current = type.BaseType; current is not null; current = current.BaseType)
        {
            if (SymbolEqualityComparer.Default.Equals(current, baseType))
            {
                return true;
            }
        }

        return false;
    }

    private static bool IsPartial(INamedTypeSymbol type) =>
        type.DeclaringSyntaxReferences.Any(r => r.GetSyntax() is TypeDeclarationSyntax declaration
            && declaration.Modifiers.Any(m => m.ValueText == "partial"));

    private static string Qualified(ITypeSymbol type) => type.ToDisplayString(SymbolDisplayFormat.FullyQualifiedFormat);

    private static string Literal(string value) =>
        "\"" + value.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"";

    private sealed class GuestMethodModel(INamedTypeSymbol type, string name, INamedTypeSymbol? result, string privilege, ImmutableArray<string> faults)
    {
        public INamedTypeSymbol Type { get; } = type;

        public string Name { get; } = name;

        public INamedTypeSymbol? Result { get; } = result;

        public string Privilege { get; } = privilege;

        public ImmutableArray<string> Faults { get; } = faults;
    }

    private sealed class KnownTypes
    {
        public INamedTypeSymbol MethodAttribute { get; private set; } = null!;

        public INamedTypeSymbol Request { get; private set; } = null!;

        public INamedTypeSymbol Result { get; private set; } = null!;

        public INamedTypeSymbol RequestInterface { get; private set; } = null!;

        public INamedTypeSymbol JsonDerivedType { get; private set; } = null!;

        public INamedTypeSymbol? ErrorCode { get; private set; }

        public INamedTypeSymbol? Response { get; private set; }

        public INamedTypeSymbol? IncomingCall { get; private set; }

        public static KnownTypes? From(Compilation compilation)
        {
            var attribute = compilation.GetTypeByMetadataName(MethodAttributeName);
            var request = compilation.GetTypeByMetadataName(MessagesNamespace + ".ChannelRequest");
            var result = compilation.GetTypeByMetadataName(MessagesNamespace + ".ChannelResult");
            var requestInterface = compilation.GetTypeByMetadataName(MessagesNamespace + ".IChannelRequest`1");
            var derived = compilation.GetTypeByMetadataName(JsonDerivedTypeName);
            if (attribute is null || request is null || result is null || requestInterface is null || derived is null)
            {
                return null;
            }

            return new KnownTypes
            {
                MethodAttribute = attribute,
                Request = request,
                Result = result,
                RequestInterface = requestInterface,
                JsonDerivedType = derived,
                ErrorCode = compilation.GetTypeByMetadataName(MessagesNamespace + ".GuestErrorCode"),
                Response = compilation.GetTypeByMetadataName(MessagesNamespace + ".ChannelResponse"),
                IncomingCall = compilation.GetTypeByMetadataName("GuestOps.Channel.Connection.IncomingCall"),
            };
        }
    }
}
