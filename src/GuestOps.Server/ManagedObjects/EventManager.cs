using System.Runtime.CompilerServices;
using GuestOps.Host.Events;
using GuestOps.Soap;
using GuestOps.Vim;
using GuestOps.Vim.Contracts;

namespace GuestOps.Server.ManagedObjects;

/// <summary>vim.event.EventManager: QueryEvents over the host agent's <see cref="IEventHistory"/> (the guest-operation
/// audit trail, see <see cref="GuestOps.Server.Events.GuestOperationAudit"/>). A caller sees the events of entities it holds System.Read on; the newest
/// come first, at most 1000 (as vSphere answers) or <c>maxCount</c>.</summary>
public sealed class EventManager(string id, IEventHistory history, Inventory inventory, EntityPermissions access, PropertyReader reader) : ManagedObject(id, reader), IEventManager
{
    public const int MaxResults = 1000;

    private static readonly PropertyTable<EventManager> Table = new PropertyTable<EventManager>()
        // Property reads are synchronous: the history's answer is awaited here (in memory it is complete at once).
        .Add("latestEvent", (m, call) => m.Visible(call, m.History().GetAwaiter().GetResult()).LastOrDefault() is { } latest ? m.ToVim(latest) : null)
        .Add("maxCollector", _ => 32);

    public override PropertyTable Properties => Table;

    /// <summary>The vim25 form of each kept record, made once per record.</summary>
    private readonly ConditionalWeakTable<EventRecord, EventEx> _converted = [];

    public async Task<Event[]> QueryEventsAsync(ManagedObjectReference _this, EventFilterSpec filter)
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
        var all = await History(call.CancellationToken).ConfigureAwait(false);
        return Visible(call, all)
            .Where(e => scope is null || InScope(e, scope, filter.entity!.recursion))
            .Where(e => filter.time?.beginTime is not { } begin || e.CreatedTime >= begin.ToUniversalTime())
            .Where(e => filter.time?.endTime is not { } end || e.CreatedTime <= end.ToUniversalTime())
            .Where(e => users is null || users.Contains(e.UserName))
            .Where(e => filter.eventChainId is not { } chain || e.Key == chain)
            .Where(e => filter.eventTypeId is not { Length: > 0 } ids || ids.Contains(e.TypeId))
            // Every kept event is an EventEx.
            .Where(e => filter.type is not { Length: > 0 } types || types.Contains(nameof(EventEx)))
            .Where(e => filter.category is not { Length: > 0 } categories || categories.Contains(e.Severity))
            .Reverse()
            .Take(limit)
            .Select(ToVim)
            .ToArray<Event>();
    }

    private async Task<IReadOnlyList<EventRecord>> History(CancellationToken cancellationToken = default) =>
        await history.QueryAsync(cancellationToken).ConfigureAwait(false);

    private EventEx ToVim(EventRecord e) => _converted.GetValue(e, VimEvents.ToVim);

    /// <summary>Events of entities the caller may read, oldest first.</summary>
    private IEnumerable<EventRecord> Visible(VimCall call, IReadOnlyList<EventRecord> all)
    {
        var user = call.Session?.UserName;
        if (user is null)
        {
            return [];
        }

        return all.Where(e => Entity(e) is { } entity
            ? access.Has(user, entity, Privileges.SystemRead)
            : access.Has(user, inventory.RootFolder, Privileges.SystemRead));
    }

    private ManagedEntity? Entity(EventRecord e) => e.Vm is { } vm ? inventory.Find(new ManagedObjectReference(vm.Type, vm.Id), null) as ManagedEntity : null;

    private bool InScope(EventRecord e, ManagedEntity scope, EventFilterSpecRecursionOption recursion)
    {
        if (e.Vm is null)
        {
            return false;
        }

        if (e.Vm.Type == scope.Ref.type && e.Vm.Id == scope.Ref.Value)
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
