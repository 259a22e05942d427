using System.Collections.Concurrent;
using System.Linq.Expressions;
using System.Reflection;

namespace GuestOps.Soap;

/// <summary>
/// Binds operations to managed-object methods by name: a class implements operation <c>X</c> with a public method
/// <c>X(VimCall call, &lt;parameters after _this&gt;)</c> returning the result, a Task of it, or Task.
/// Signatures are checked once; invocation goes through compiled delegates.
/// </summary>
internal sealed class ImplementationBinder
{
    private static readonly MethodInfo BoxTaskMethod = typeof(ImplementationBinder).GetMethod(nameof(BoxTask), BindingFlags.NonPublic | BindingFlags.Static)!;
    private static readonly MethodInfo BoxVoidTaskMethod = typeof(ImplementationBinder).GetMethod(nameof(BoxVoidTask), BindingFlags.NonPublic | BindingFlags.Static)!;

    private readonly ConcurrentDictionary<(Type, string), Func<object, VimCall, Task<object?>>?> _bindings = new();
    private readonly VimOperationCatalog _catalog;

    public ImplementationBinder(VimOperationCatalog catalog, IEnumerable<Type> implementationTypes)
    {
        _catalog = catalog;
        foreach (var type in implementationTypes)
        {
            foreach (var operation in catalog.Operations)
            {
                _bindings[(type, operation.Name)] = Bind(type, operation);
            }
        }
    }

    /// <summary>The invoker of <paramref name="operation"/> on <paramref name="implementationType"/>, or null when it has none.</summary>
    public Func<object, VimCall, Task<object?>>? Find(Type implementationType, VimOperation operation) =>
        _bindings.GetOrAdd((implementationType, operation.Name), key => Bind(key.Item1, _catalog.TryGet(key.Item2, out var op) ? op : operation));

    private static Func<object, VimCall, Task<object?>>? Bind(Type type, VimOperation operation)
    {
        var method = type.GetMethods(BindingFlags.Public | BindingFlags.Instance).SingleOrDefault(m => m.Name == operation.Name);
        if (method is null)
        {
            return null;
        }

        var parameters = method.GetParameters();
        var expected = operation.Parameters.Skip(1).Select(p => p.ParameterType).Prepend(typeof(VimCall)).ToArray();
        if (!parameters.Select(p => p.ParameterType).SequenceEqual(expected))
        {
            throw new InvalidOperationException(
                $"{type.Name}.{method.Name} must take ({string.Join(", ", expected.Select(t => t.Name))}) to implement {operation.Name}.");
        }

        var target = Expression.Parameter(typeof(object), "target");
        var call = Expression.Parameter(typeof(VimCall), "call");
        var arguments = Expression.Property(call, nameof(VimCall.Arguments));
        var callArguments = parameters.Select((p, i) => i == 0
            ? (Expression)call
            : Expression.Convert(Expression.ArrayIndex(arguments, Expression.Constant(i)), p.ParameterType));
        Expression invoke = Expression.Call(Expression.Convert(target, type), method, callArguments);

        var returnType = method.ReturnType;
        Expression body;
        if (returnType == typeof(Task))
        {
            RequireResult(operation, null, type, method);
            body = Expression.Call(BoxVoidTaskMethod, invoke);
        }
        else if (returnType.IsGenericType && returnType.GetGenericTypeDefinition() == typeof(Task<>))
        {
            var result = returnType.GetGenericArguments()[0];
            RequireResult(operation, result, type, method);
            body = Expression.Call(BoxTaskMethod.MakeGenericMethod(result), invoke);
        }
        else if (returnType == typeof(void))
        {
            RequireResult(operation, null, type, method);
            body = Expression.Block(invoke, Expression.Constant(Task.FromResult<object?>(null)));
        }
        else
        {
            RequireResult(operation, returnType, type, method);
            body = Expression.Call(typeof(Task), nameof(Task.FromResult), [typeof(object)], Expression.Convert(invoke, typeof(object)));
        }

        return Expression.Lambda<Func<object, VimCall, Task<object?>>>(body, target, call).Compile();
    }

    private static void RequireResult(VimOperation operation, Type? actual, Type type, MethodInfo method)
    {
        var ok = operation.ResultType is null ? actual is null : actual is not null && operation.ResultType.IsAssignableFrom(actual);
        if (!ok)
        {
            throw new InvalidOperationException(
                $"{type.Name}.{method.Name} returns {actual?.Name ?? "nothing"}; {operation.Name} returns {operation.ResultType?.Name ?? "nothing"}.");
        }
    }

    private static async Task<object?> BoxTask<T>(Task<T> task) => await task.ConfigureAwait(false);

    private static async Task<object?> BoxVoidTask(Task task)
    {
        await task.ConfigureAwait(false);
        return null;
    }
}
