using System.Reflection;
using System.Reflection.Emit;

namespace GuestOps.Tests.Layering;

/// <summary>
/// Dependencies between the folders of one project point one way: no namespace of a product assembly reaches back,
/// through its types' signatures or method bodies, to a namespace that reaches it. (A folder's namespace is its path.)
/// </summary>
[TestClass]
public sealed class FolderCycleTests
{
    private static readonly Assembly[] Products =
    [
        typeof(GuestOps.Vim.ManagedObjectReference).Assembly,
        typeof(GuestOps.Channel.Connection.ChannelConnection).Assembly,
        typeof(GuestOps.Soap.SoapDispatcher).Assembly,
        typeof(GuestOps.Host.HostAgent).Assembly,
        typeof(GuestOps.Server.Hosting.GuestOpsServer).Assembly,
        typeof(GuestOps.Cluster.ClusterSettings).Assembly,
        typeof(GuestOps.Tools.GuestRequestHandler).Assembly,
    ];

    [TestMethod]
    public void NoProductAssemblyHasFoldersInACycle()
    {
        var found = Products.SelectMany(a => Cycles(a).Select(c => $"{a.GetName().Name}: {string.Join(" <-> ", c)}")).ToList();
        Assert.IsEmpty(found, "folders in a cycle:" + Environment.NewLine + string.Join(Environment.NewLine, found));
    }

    [TestMethod]
    public void TheScan_SeesACycleThroughAMethodBody()
    {
        // ProbeA reaches ProbeB through a property, ProbeB reaches ProbeA only inside a method body.
        var cycles = Cycles(typeof(FolderCycleTests).Assembly);
        Assert.Contains("GuestOps.Tests.Layering.ProbeA <-> GuestOps.Tests.Layering.ProbeB", cycles.Select(c => string.Join(" <-> ", c)));
    }

    /// <summary>The strongly connected sets of two or more namespaces of the assembly, each sorted.</summary>
    internal static List<string[]> Cycles(Assembly assembly)
    {
        var graph = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        // Types outside any namespace are the compiler's (<PrivateImplementationDetails>, top-level statements): no folder.
        foreach (var type in assembly.GetTypes().Where(t => t.Namespace is not null))
        {
            var from = type.Namespace!;
            var edges = graph.TryGetValue(from, out var set) ? set : graph[from] = new HashSet<string>(StringComparer.Ordinal);
            foreach (var used in References(type))
            {
                if (used.Assembly == assembly && used.Namespace is { } to && to != from)
                {
                    edges.Add(to);
                }
            }
        }

        return StronglyConnected(graph).Where(c => c.Count > 1).Select(c => c.Order(StringComparer.Ordinal).ToArray()).ToList();
    }

    private const BindingFlags Declared = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;

    private static readonly Dictionary<short, OpCode> OpCodesByValue = typeof(OpCodes).GetFields(BindingFlags.Public | BindingFlags.Static)
        .Select(f => (OpCode)f.GetValue(null)!).ToDictionary(o => o.Value);

    /// <summary>Every type the type's declaration and its members' signatures and bodies name.</summary>
    private static IEnumerable<Type> References(Type type)
    {
        var direct = new List<Type?> { type.BaseType };
        direct.AddRange(type.GetInterfaces());
        direct.AddRange(type.GetFields(Declared).Select(f => f.FieldType));
        direct.AddRange(type.GetProperties(Declared).Select(p => p.PropertyType));
        direct.AddRange(type.GetCustomAttributesData().Select(a => a.AttributeType));
        var bodies = new List<MethodBase>();
        foreach (var method in type.GetMethods(Declared))
        {
            direct.Add(method.ReturnType);
            direct.AddRange(method.GetParameters().Select(p => p.ParameterType));
            bodies.Add(method);
        }

        foreach (var constructor in type.GetConstructors(Declared))
        {
            direct.AddRange(constructor.GetParameters().Select(p => p.ParameterType));
            bodies.Add(constructor);
        }

        foreach (var t in direct.OfType<Type>().SelectMany(Unwrap))
        {
            yield return t;
        }

        foreach (var method in bodies)
        {
            foreach (var t in BodyReferences(method).SelectMany(Unwrap))
            {
                yield return t;
            }
        }
    }

    /// <summary>The type itself (arrays, by-refs and pointers unwrapped) and its generic arguments.</summary>
    private static IEnumerable<Type> Unwrap(Type type)
    {
        while (type.HasElementType)
        {
            type = type.GetElementType()!;
        }

        if (type.IsGenericParameter)
        {
            yield break;
        }

        yield return type;
        if (type.IsGenericType)
        {
            foreach (var argument in type.GetGenericArguments().SelectMany(Unwrap))
            {
                yield return argument;
            }
        }
    }

    /// <summary>The types, fields' and methods' declaring types that a method body's instructions name.</summary>
    private static IEnumerable<Type> BodyReferences(MethodBase method)
    {
        var il = method.GetMethodBody()?.GetILAsByteArray();
        if (il is null)
        {
            yield break;
        }

        var module = method.Module;
        var typeArguments = method.DeclaringType is { IsGenericType: true } d ? d.GetGenericArguments() : null;
        var methodArguments = method.IsGenericMethod ? method.GetGenericArguments() : null;
        for (var i = 0; i < il.Length;)
        {
            OpCode code;
            if (il[i] == 0xFE)
            {
                code = OpCodesByValue[(short)(0xFE00 | il[i + 1])];
                i += 2;
            }
            else
            {
                code = OpCodesByValue[il[i]];
                i += 1;
            }

            switch (code.OperandType)
            {
                case OperandType.InlineMethod or OperandType.InlineField or OperandType.InlineType or OperandType.InlineTok:
                    var token = BitConverter.ToInt32(il, i);
                    i += 4;
                    MemberInfo? member;
                    try
                    {
                        member = module.ResolveMember(token, typeArguments, methodArguments);
                    }
                    catch (Exception e) when (e is ArgumentException or TypeLoadException or BadImageFormatException or FileNotFoundException)
                    {
                        continue;
                    }

                    switch (member)
                    {
                        case Type t:
                            yield return t;
                            break;
                        case MethodBase m when m.DeclaringType is { } owner:
                            yield return owner;
                            if (m is MethodInfo mi)
                            {
                                yield return mi.ReturnType;
                            }

                            break;
                        case FieldInfo f when f.DeclaringType is { } owner:
                            yield return owner;
                            yield return f.FieldType;
                            break;
                    }

                    break;
                case OperandType.InlineSwitch:
                    i += 4 + (4 * BitConverter.ToInt32(il, i));
                    break;
                default:
                    i += code.OperandType switch
                    {
                        OperandType.InlineNone => 0,
                        OperandType.ShortInlineBrTarget or OperandType.ShortInlineI or OperandType.ShortInlineVar => 1,
                        OperandType.InlineVar => 2,
                        OperandType.InlineI8 or OperandType.InlineR => 8,
                        _ => 4,
                    };
                    break;
            }
        }
    }

    /// <summary>Tarjan's strongly connected components.</summary>
    private static List<List<string>> StronglyConnected(Dictionary<string, HashSet<string>> graph)
    {
        var index = 0;
        var indices = new Dictionary<string, int>(StringComparer.Ordinal);
        var low = new Dictionary<string, int>(StringComparer.Ordinal);
        var stack = new Stack<string>();
        var onStack = new HashSet<string>(StringComparer.Ordinal);
        var result = new List<List<string>>();

        void Visit(string node)
        {
            indices[node] = low[node] = index++;
            stack.Push(node);
            onStack.Add(node);
            foreach (var next in graph.GetValueOrDefault(node) ?? [])
            {
                if (!indices.ContainsKey(next))
                {
                    Visit(next);
                    low[node] = Math.Min(low[node], low[next]);
                }
                else if (onStack.Contains(next))
                {
                    low[node] = Math.Min(low[node], indices[next]);
                }
            }

            if (low[node] == indices[node])
            {
                var component = new List<string>();
                string member;
                do
                {
                    member = stack.Pop();
                    onStack.Remove(member);
                    component.Add(member);
                }
                while (member != node);
                result.Add(component);
            }
        }

        foreach (var node in graph.Keys.ToList())
        {
            if (!indices.ContainsKey(node))
            {
                Visit(node);
            }
        }

        return result;
    }
}
