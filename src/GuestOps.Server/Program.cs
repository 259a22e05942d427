using GuestOps.Server.Hosting;

return await new ServerCommandLine(Console.In, Console.Out, Console.Error, RunServerAsync).InvokeAsync(args);

static async Task<int> RunServerAsync(string[] settings, CancellationToken cancellationToken)
{
    WebApplication app;
    try
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = settings, ContentRootPath = AppContext.BaseDirectory });
        builder.AddGuestOps(settings);
        app = builder.Build();
        app.MapGuestOps();
    }
    catch (StateDirectoryInUseException e)
    {
        Console.Error.WriteLine($"GuestOps cannot start: {e.Message}");
        return 1;
    }
    catch (GuestOpsConfigurationException e)
    {
        Console.Error.WriteLine($"GuestOps cannot start: {e.Message}");
        Console.Error.WriteLine("Settings come from appsettings.json (section GuestOps), GUESTOPS_* environment variables and the command line (--help); see README.md.");
        return ServerCommandLine.UsageExitCode;
    }

    return await app.RunGuestOpsAsync();
}
