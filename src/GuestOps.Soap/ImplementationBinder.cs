using System.Collections.Concurrent;
using System.Linq.Expressions;
using System.Reflection;

namespace GuestOps.Soap;

/// <summary>
/// Binds operations to the managed objects that implement them: a class implements operation <c>X</c> by
/// implementing the service contract that declares <c>XAsync</c>, so a renamed or re-typed method does not compile.
/// The call itself (session, request, cancellation) reaches the implementation through <see cref="IVimCallContext"/>.
/// Invocation goes through delegates compiled once per (class, operation).
/// </summary>
internal sealed class ImplementationBinder
{
    private static readonly MethodInfo BoxTaskMethod = typeof(ImplementationBinder).GetMethod(nameof(BoxTask), BindingFlags.NonPublic | BindingFlags.Static)!;
    private static readonly MethodInfo BoxVoidTaskMethod = typeof(ImplementationBinder).GetMethod(nameof(BoxVoidTask), BindingFlags.NonPublic | BindingFlags.Static)!;

    private readonly ConcurrentDictionary<(Type Type, VimOperation Operation), Func<object, VimCall, Task<object?>>?> _bindings = new();

    public ImplementationBinder(VimOperationCatalog catalog, IEnumerable<Type> implementationTypes)
    {
        foreach (var type in implementationTypes)
        {
            foreach (var operation in catalog.Operations)
            {
                _bindings[(type, operation)] = Bind(type, operation);
            }
        }
    }

    /// <summary>The invoker of <paramref name="operation"/> on <paramref name="implementationType"/>, or null when the
    /// type does not implement the operation's contract.</summary>
    public Func<object, VimCall, Task<object?>>? Find(Type implementationType, VimOperation operation) =>
        _bindings.GetOrAdd((implementationType, operation), static key => Bind(key.Type, key.Operation));

    private static Func<object, VimCall, Task<object?>>? Bind(Type type, VimOperation operation)
    {
        var method = operation.ContractMethod;
        var contract = method.DeclaringType!;
        if (!contract.IsAssignableFrom(type))
        {
            return null;
        }

        var target = Expression.Parameter(typeof(object), "target");
        var call = Expression.Parameter(typeof(VimCall), "call");
        var arguments = Expression.Property(call, nameof(VimCall.Arguments));
        var callArguments = method.GetParameters().Select((p, i) =>
            (Expression)Expression.Convert(Expression.ArrayIndex(arguments, Expression.Constant(i)), p.ParameterType));
        Expression invoke = Expression.Call(Expression.Convert(target, contract), method, callArguments);
        var body = operation.ResultType is null
            ? Expression.Call(BoxVoidTaskMethod, invoke)
            : Expression.Call(BoxTaskMethod.MakeGenericMethod(operation.ResultType), invoke);
        return Expression.Lambda<Func<object, VimCall, Task<object?>>>(body, target, call).Compile();
    }

    private static async Task<object?> BoxTask<T>(Task<T> task) => await task.ConfigureAwait(false);

    private static async Task<object?> BoxVoidTask(Task task)
    {
        await task.ConfigureAwait(false);
        return null;
    }
}
