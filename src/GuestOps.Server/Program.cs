using GuestOps.Server;

var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
builder.AddGuestOps(args);
var app = builder.Build();
app.MapGuestOps();
return await app.RunGuestOpsAsync();
