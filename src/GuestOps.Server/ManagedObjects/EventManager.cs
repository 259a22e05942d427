using GuestOps.Server.Authorization;
using GuestOps.Server.Events;
using GuestOps.Server.Sessions;
using GuestOps.Soap;
using GuestOps.Vim;
using GuestOps.Vim.Contracts;

namespace GuestOps.Server.ManagedObjects;

/// <summary>vim.event.EventManager: QueryEvents over the events this server keeps (the guest-operation audit trail,
/// see <see cref="GuestOperationAudit"/>). A caller sees the events of entities it holds System.Read on; the newest
/// come first, at most 1000 (as vSphere answers) or <c>maxCount</c>.</summary>
public sealed class EventManager(string id, EventHistory history, Inventory inventory, AccessControl access, PropertyReader reader) : ManagedObject(id, reader), IEventManager
{
    public const int MaxResults = 1000;

    private static readonly PropertyTable<EventManager> Table = new PropertyTable<EventManager>()
        .Add("latestEvent", (m, call) => m.Visible(call).LastOrDefault())
        .Add("maxCollector", _ => 32);

    public override PropertyTable Properties => Table;

    public Task<Event[]> QueryEventsAsync(ManagedObjectReference _this, EventFilterSpec filter)
    {
        var call = Call;
        ManagedEntity? scope = null;
        if (filter.entity is { } byEntity)
        {
            scope = inventory.Find(byEntity.entity, call.Session as Session) as ManagedEntity
                ?? throw new VimFaultException(new ManagedObjectNotFound { obj = byEntity.entity }, $"The object '{byEntity.entity}' has already been deleted or has not been completely created");
        }

        var users = filter.userName?.userList is { Length: > 0 } list ? list.ToHashSet(StringComparer.Ordinal) : null;
        var limit = filter.maxCount is > 0 and < MaxResults ? filter.maxCount.Value : MaxResults;
        var result = Visible(call)
            .Where(e => scope is null || InScope(e, scope, filter.entity!.recursion))
            .Where(e => filter.time?.beginTime is not { } begin || e.createdTime >= begin.ToUniversalTime())
            .Where(e => filter.time?.endTime is not { } end || e.createdTime <= end.ToUniversalTime())
            .Where(e => users is null || users.Contains(e.userName))
            .Where(e => filter.eventChainId is not { } chain || e.chainId == chain)
            .Where(e => filter.eventTypeId is not { Length: > 0 } ids || (e is EventEx ex && ids.Contains(ex.eventTypeId)))
            .Where(e => filter.type is not { Length: > 0 } types || types.Contains(e.GetType().Name))
            .Where(e => filter.category is not { Length: > 0 } categories || (e is EventEx ex && ex.severity is not null && categories.Contains(ex.severity)))
            .Reverse()
            .Take(limit)
            .ToArray();
        return Task.FromResult(result);
    }

    /// <summary>Events of entities the caller may read, oldest first.</summary>
    private IEnumerable<Event> Visible(VimCall call)
    {
        var user = call.Session?.UserName;
        if (user is null)
        {
            return [];
        }

        return history.All().Where(e => Entity(e) is { } entity
            ? access.Has(user, entity, Privileges.SystemRead)
            : access.Has(user, inventory.RootFolder, Privileges.SystemRead));
    }

    private ManagedEntity? Entity(Event e) => e.vm is { } vm ? inventory.Find(vm.vm, null) as ManagedEntity : null;

    private bool InScope(Event e, ManagedEntity scope, EventFilterSpecRecursionOption recursion)
    {
        if (e.vm is null)
        {
            return false;
        }

        if (e.vm.vm.Equals(scope.Ref))
        {
            return true;
        }

        var entity = Entity(e);
        return recursion switch
        {
            EventFilterSpecRecursionOption.Children => entity?.Parent?.Ref.Equals(scope.Ref) == true,
            EventFilterSpecRecursionOption.All => IsBelow(entity, scope),
            _ => false,
        };
    }

    private static bool IsBelow(ManagedEntity? entity, ManagedEntity scope)
    {
        for (var e = entity?.Parent; e is not null; e = e.Parent)
        {
            if (ReferenceEquals(e, scope) || e.Ref.Equals(scope.Ref))
            {
                return true;
            }
        }

        return false;
    }
}
