using GuestOps.Server;

if (AdminCommands.Handles(args))
{
    return AdminCommands.Run(args, Console.Out, Console.Error);
}

try
{
    var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
    builder.AddGuestOps(args);
    var app = builder.Build();
    app.MapGuestOps();
    return await app.RunGuestOpsAsync();
}
catch (GuestOpsConfigurationException e)
{
    Console.Error.WriteLine($"GuestOps cannot start: {e.Message}");
    Console.Error.WriteLine("Settings come from appsettings.json (section GuestOps), GUESTOPS_* environment variables and the command line; see README.md.");
    return 2;
}
