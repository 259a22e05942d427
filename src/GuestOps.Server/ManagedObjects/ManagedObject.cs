using GuestOps.Soap;
using GuestOps.Vim;
using GuestOps.Vim.Contracts;

namespace GuestOps.Server.ManagedObjects;

/// <summary>
/// Base of every managed object this server exposes. The class name is the vSphere type name, and the class
/// hierarchy is vSphere's (VirtualMachine : ManagedEntity : ManagedObject), which PropertySpec and TraversalSpec
/// type matching rely on. Properties are declared in a per-class <see cref="PropertyTable{T}"/>.
/// </summary>
public abstract class ManagedObject : IManagedObject
{
    protected ManagedObject(string id, PropertyReader reader)
    {
        Ref = new ManagedObjectReference(GetType().Name, id);
        Reader = reader;
    }

    public ManagedObjectReference Ref { get; }

    protected PropertyReader Reader { get; }

    /// <summary>The call this object's method is running for (session, request, cancellation).</summary>
    protected VimCall Call => Reader.Calls.Current;

    /// <summary>Managed properties, in declaration order.</summary>
    public abstract PropertyTable Properties { get; }

    /// <summary>True when this object is of the vSphere type <paramref name="typeName"/> or a subtype of it.</summary>
    public bool IsOfType(string typeName)
    {
        // The class hierarchy is vSphere's: walked per call, so no object holds a copy of its type's names.
        for (var t = GetType(); t is not null && t != typeof(object); t = t.BaseType)
        {
            if (t.Name == typeName)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The single-property read pyVmomi 8 sends (<c>Fetch</c>, not in the WSDL): one top-level property.</summary>
    public Task<object?> FetchAsync(ManagedObjectReference _this, string prop) => Task.FromResult(Reader.Fetch(this, prop, Call));
}
