namespace GuestOps.Server.ManagedObjects;

/// <summary>
/// Property reads and inventory walks are synchronous (a <see cref="PropertyTable"/> getter, a folder's children): the
/// host agent's answer is awaited where they need it. In memory it is complete at once and nothing blocks.
/// </summary>
internal static class Synchronous
{
    public static T Wait<T>(ValueTask<T> answer) => answer.IsCompletedSuccessfully ? answer.Result : answer.AsTask().GetAwaiter().GetResult();
}
