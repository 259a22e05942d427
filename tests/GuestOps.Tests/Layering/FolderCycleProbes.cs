namespace GuestOps.Tests.Layering.ProbeA
{
    /// <summary>Reaches ProbeB through a property (see FolderCycleTests.TheScan_SeesACycleThroughAMethodBody).</summary>
    internal sealed class First
    {
        internal ProbeB.Second? Other { get; set; }
    }
}

namespace GuestOps.Tests.Layering.ProbeB
{
    /// <summary>Reaches ProbeA only inside a method body.</summary>
    internal sealed class Second
    {
        internal static object Make() => new ProbeA.First();
    }
}
