using System.Reflection;
using Microsoft.Extensions.Logging;

namespace GuestOps.Tests.Logging;

/// <summary>
/// Every source-generated log method of the product has its own EventId, inside its project's block (the block table
/// of docs/architecture.md, "Logging"), so a log line's id names exactly one place in the code.
/// </summary>
[TestClass]
public sealed partial class EventIdTests
{
    /// <summary>The EventId block of each product assembly.</summary>
    private static readonly (Assembly Assembly, int First, int Last)[] Blocks =
    [
        (typeof(GuestOps.Channel.Connection.ChannelConnection).Assembly, 1000, 1999),
        (typeof(GuestOps.Soap.SoapDispatcher).Assembly, 2000, 2999),
        (typeof(GuestOps.Host.HostAgent).Assembly, 3000, 3999),
        (typeof(GuestOps.Server.Hosting.GuestOpsServer).Assembly, 4000, 4999),
        (typeof(GuestOps.Tools.GuestRequestHandler).Assembly, 5000, 5999),
        (typeof(GuestOps.Cluster.ClusterSettings).Assembly, 6000, 6999),
    ];

    [TestMethod]
    public void EveryLogMethod_HasAUniqueEventIdInsideItsProjectsBlock()
    {
        var seen = new Dictionary<int, string>();
        var problems = new List<string>();
        var count = 0;
        foreach (var (assembly, first, last) in Blocks)
        {
            foreach (var (method, id) in LogMethods(assembly))
            {
                count++;
                var name = $"{method.DeclaringType!.FullName}.{method.Name}";
                if (id < first || id > last)
                {
                    problems.Add($"{name}: EventId {id} is outside {assembly.GetName().Name}'s block {first}-{last}");
                }

                if (!seen.TryAdd(id, name))
                {
                    problems.Add($"{name}: EventId {id} is already used by {seen[id]}");
                }
            }
        }

        Assert.IsGreaterThan(50, count, "the scan found the product's log methods");
        Assert.IsEmpty(problems, string.Join(Environment.NewLine, problems));
    }

    [TestMethod]
    public void TheScan_SeesADuplicate()
    {
        // The check above is only as good as its scan: the two probes below share an id, and the scan must see both.
        var ids = LogMethods(typeof(EventIdTests).Assembly)
            .Where(m => m.Method.DeclaringType == typeof(ProbeA) || m.Method.DeclaringType == typeof(ProbeB))
            .Select(m => m.Id)
            .ToList();
        Assert.HasCount(2, ids);
        Assert.AreEqual(ids[0], ids[1]);
    }

    private static IEnumerable<(MethodInfo Method, int Id)> LogMethods(Assembly assembly) =>
        from type in assembly.GetTypes()
        from method in type.GetMethods(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static | BindingFlags.Instance | BindingFlags.DeclaredOnly)
        let attribute = method.GetCustomAttribute<LoggerMessageAttribute>()
        where attribute is not null
        select (method, attribute.EventId);

    private static partial class ProbeA
    {
        [LoggerMessage(EventId = 7, Level = LogLevel.Information, Message = "one")]
        public static partial void One(ILogger logger);
    }

    private static partial class ProbeB
    {
        [LoggerMessage(EventId = 7, Level = LogLevel.Information, Message = "two")]
        public static partial void Two(ILogger logger);
    }
}
