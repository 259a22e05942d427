using System.Security.Cryptography;
using GuestOps.Soap;
using GuestOps.Vim;
using GuestOps.Vim.Contracts;

namespace GuestOps.Server.ManagedObjects;

/// <summary>
/// vmodl.query.PropertyCollector: walks ObjectSpecs and TraversalSpecs (named recursion included) over the inventory,
/// and reads the PropertySpecs that apply to each object's type or a supertype. Unset properties are left out.
/// </summary>
public sealed partial class PropertyCollector(string id, Inventory inventory, PropertyReader reader) : ManagedObject(id, reader), IPropertyCollector
{
    private static readonly PropertyTable<PropertyCollector> Table = new PropertyTable<PropertyCollector>()
        .Add("filter", (_, call) => (call.Session as Session)?.Filters.Values.Select(f => f.Ref).ToArray());

    public override PropertyTable Properties => Table;

    public Task<ObjectContent[]> RetrievePropertiesAsync(ManagedObjectReference _this, PropertyFilterSpec[] specSet) =>
        Task.FromResult(Collect(Call, specSet).ToArray());

    public Task<RetrieveResult?> RetrievePropertiesExAsync(ManagedObjectReference _this, PropertyFilterSpec[] specSet, RetrieveOptions options)
    {
        var call = Call;
        var objects = Collect(call, specSet).ToArray();
        var pageSize = options.maxObjects is > 0 ? options.maxObjects.Value : int.MaxValue;
        return Task.FromResult(objects.Length == 0 ? null : Page(call, objects, pageSize));
    }

    /// <summary>The next page, of the size the first call asked for; the token is single-use.</summary>
    public Task<RetrieveResult> ContinueRetrievePropertiesExAsync(ManagedObjectReference _this, string token)
    {
        var call = Call;
        if (!RequireSession(call).PendingResults.TryRemove(token, out var pending))
        {
            throw new VimFaultException(new InvalidArgument { invalidProperty = "token" }, "A specified parameter was not correct: token");
        }

        return Task.FromResult(Page(call, pending.Remaining, pending.PageSize));
    }

    public Task CancelRetrievePropertiesExAsync(ManagedObjectReference _this, string token)
    {
        var call = Call;
        RequireSession(call).PendingResults.TryRemove(token, out _);
        return Task.CompletedTask;
    }

    private static RetrieveResult Page(VimCall call, ObjectContent[] objects, int pageSize)
    {
        if (objects.Length <= pageSize)
        {
            return new RetrieveResult { objects = objects };
        }

        var token = Convert.ToHexString(RandomNumberGenerator.GetBytes(12));
        RequireSession(call).PendingResults[token] = (pageSize, objects[pageSize..]);
        return new RetrieveResult { token = token, objects = objects[..pageSize] };
    }

    private IEnumerable<ObjectContent> Collect(VimCall call, PropertyFilterSpec[] specSet)
    {
        foreach (var spec in specSet)
        {
            var named = new Dictionary<string, TraversalSpec>(StringComparer.Ordinal);
            foreach (var objectSpec in spec.objectSet)
            {
                CollectNamed(objectSpec.selectSet, named);
            }

            var selected = new List<ManagedObject>();
            var seen = new HashSet<ManagedObjectReference>();
            var missing = new List<ObjectContent>();
            foreach (var objectSpec in spec.objectSet)
            {
                if (inventory.Find(objectSpec.obj, call.Session as Session) is not { } start)
                {
                    var fault = new ManagedObjectNotFound { obj = objectSpec.obj };
                    if (spec.reportMissingObjectsInResults == true)
                    {
                        missing.Add(new ObjectContent
                        {
                            obj = objectSpec.obj,
                            missingSet = [new MissingProperty { path = "", fault = new LocalizedMethodFault { fault = fault, localizedMessage = "The object has already been deleted or has not been completely created" } }],
                        });
                        continue;
                    }

                    throw new VimFaultException(fault, $"The object '{objectSpec.obj}' has already been deleted or has not been completely created");
                }

                Visit(start, objectSpec.skip == true, objectSpec.selectSet, named, selected, seen, call, new HashSet<(ManagedObjectReference, SelectionSpec)>());
            }

            foreach (var obj in selected)
            {
                var content = Read(obj, spec.propSet, call);
                if (content is not null)
                {
                    yield return content;
                }
            }

            foreach (var content in missing)
            {
                yield return content;
            }
        }
    }

    private void Visit(
        ManagedObject obj,
        bool skip,
        SelectionSpec[]? selectSet,
        Dictionary<string, TraversalSpec> named,
        List<ManagedObject> selected,
        HashSet<ManagedObjectReference> seen,
        VimCall call,
        HashSet<(ManagedObjectReference, SelectionSpec)> walked)
    {
        if (obj is ManagedEntity entity && !Reader.IsVisible(call, entity))
        {
            return; // neither it nor anything below it is the caller's to see
        }

        if (!skip && seen.Add(obj.Ref))
        {
            selected.Add(obj);
        }

        foreach (var selection in selectSet ?? [])
        {
            var traversal = selection as TraversalSpec
                ?? (selection.name is not null && named.TryGetValue(selection.name, out var byName) ? byName
                    : throw new VimFaultException(new InvalidArgument { invalidProperty = "selectSet" }, $"Unknown selection '{selection.name}'."));
            if (!obj.IsOfType(traversal.type) || !walked.Add((obj.Ref, traversal)))
            {
                continue;
            }

            if (obj.Properties.Find(traversal.path) is null)
            {
                throw new VimFaultException(new InvalidProperty { name = traversal.path }, $"Property '{traversal.path}' does not exist on {traversal.type}.");
            }

            object? linked;
            try
            {
                linked = Reader.Read(obj, traversal.path, call);
            }
            catch (VimFaultException e) when (e.Fault is NoPermission and not NotAuthenticated)
            {
                continue; // a link the caller may not read leads nowhere it may go
            }

            foreach (var next in References(linked))
            {
                if (inventory.Find(next, call.Session as Session) is { } target)
                {
                    Visit(target, traversal.skip == true, traversal.selectSet, named, selected, seen, call, walked);
                }
            }
        }
    }

    private ObjectContent? Read(ManagedObject obj, PropertySpec[] propSet, VimCall call)
    {
        var paths = new List<string>();
        var matched = false;
        foreach (var propertySpec in propSet)
        {
            if (!obj.IsOfType(propertySpec.type))
            {
                continue;
            }

            matched = true;
            if (propertySpec.all == true)
            {
                paths.AddRange(obj.Properties.All.Where(p => p.Anonymous || call.Session is not null).Select(p => p.Name));
            }

            paths.AddRange(propertySpec.pathSet ?? []);
        }

        if (!matched)
        {
            return null;
        }

        var values = new List<DynamicProperty>(paths.Count);
        List<MissingProperty>? denied = null;
        for (var i = 0; i < paths.Count; i++)
        {
            var path = paths[i];
            if (paths.IndexOf(path) < i)
            {
                continue; // asked twice
            }

            object? value;
            try
            {
                value = Reader.Read(obj, path, call);
            }
            catch (VimFaultException e) when (e.Fault is NoPermission and not NotAuthenticated)
            {
                // A property the caller may not read: reported per property, as vSphere does.
                (denied ??= []).Add(new MissingProperty { path = path, fault = new LocalizedMethodFault { fault = e.Fault, localizedMessage = e.Message } });
                continue;
            }

            if (value is not null)
            {
                values.Add(new DynamicProperty { name = path, val = value });
            }
        }

        return new ObjectContent { obj = obj.Ref, propSet = values.Count > 0 ? values.ToArray() : null, missingSet = denied?.ToArray() };
    }

    private static IEnumerable<ManagedObjectReference> References(object? value) => value switch
    {
        ManagedObjectReference single => [single],
        ArrayOfManagedObjectReference many => many.ManagedObjectReference,
        _ => [],
    };

    private static void CollectNamed(SelectionSpec[]? selectSet, Dictionary<string, TraversalSpec> named)
    {
        foreach (var traversal in (selectSet ?? []).OfType<TraversalSpec>())
        {
            if (traversal.name is not null && named.TryAdd(traversal.name, traversal))
            {
                CollectNamed(traversal.selectSet, named);
            }
            else if (traversal.name is null)
            {
                CollectNamed(traversal.selectSet, named);
            }
        }
    }

    private static Session RequireSession(VimCall call) => call.Session as Session
        ?? throw new VimFaultException(new NotAuthenticated { @object = call.This, privilegeId = Privileges.SystemView }, "The session is not authenticated.");
}
