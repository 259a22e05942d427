using GuestOps.Soap;
using GuestOps.Vim;
using GuestOps.Vim.Contracts;

namespace GuestOps.Server.ManagedObjects;

/// <summary>vim.ServiceInstance: the entry point every client reads first.</summary>
public sealed class ServiceInstance(string id, Func<ServiceContent> content, TimeProvider time, PropertyReader reader) : ManagedObject(id, reader), IServiceInstance
{
    /// <summary>The API level this server reports; also the newest version in vimServiceVersions.xml.</summary>
    public const string ApiVersion = "8.0.3.0";

    private static readonly PropertyTable<ServiceInstance> Table = new PropertyTable<ServiceInstance>()
        .Add("content", s => s.Content, anonymous: true)
        .Add("serverClock", s => s.Now);

    public override PropertyTable Properties => Table;

    public ServiceContent Content => content();

    public Task<ServiceContent> RetrieveServiceContentAsync(ManagedObjectReference _this) => Task.FromResult(Content);

    public Task<DateTime> CurrentTimeAsync(ManagedObjectReference _this) => Task.FromResult(Now);

    private DateTime Now => time.GetUtcNow().UtcDateTime;
}
