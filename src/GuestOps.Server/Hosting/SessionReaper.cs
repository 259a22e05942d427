using GuestOps.Server.ManagedObjects;

namespace GuestOps.Server.Hosting;

/// <summary>Ends idle sessions once a minute (lookups also refuse them as soon as they expire).</summary>
public sealed class SessionReaper(Inventory inventory, TimeProvider time) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMinutes(1), time);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            await inventory.SessionManager.RemoveExpiredAsync(stoppingToken);
        }
    }
}
