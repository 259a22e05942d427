using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using GuestOps.Cli.Vim;

namespace GuestOps.Cli.Commands;

/// <summary><c>vms</c>, <c>validate</c> and <c>wait-ready</c>: the VMs and whether their guests can be operated.</summary>
public static class VmCommands
{
    private static readonly string[] VmProperties =
        ["name", "runtime.powerState", "guest.toolsRunningStatus", "guest.guestOperationsReady", "guest.ipAddress", "config.uuid"];

    public static Command Vms(GlobalOptions globals)
    {
        var command = new Command("vms", "List the VMs with power state, tools state and whether guest operations are ready");
        command.SetAction((result, cancellationToken) => CommandContext.RunAsync(result, globals, cancellationToken, async (context, ct) =>
        {
            var service = await context.ConnectAsync(ct);
            var vms = (await service.RetrieveAllAsync("VirtualMachine", VmProperties, ct))
                .Select(v => VmProperties.ToDictionary(p => p, p => PropertyText.Of(v, p)))
                .OrderBy(v => v["name"], StringComparer.Ordinal)
                .ToList();
            if (context.Output.Json)
            {
                context.Output.Write(new JsonArray(vms.Select(v => (JsonNode)new JsonObject
                {
                    ["name"] = v["name"],
                    ["powerState"] = v["runtime.powerState"],
                    ["toolsRunningStatus"] = v["guest.toolsRunningStatus"],
                    ["guestOperationsReady"] = v["guest.guestOperationsReady"] == "true",
                    ["ipAddress"] = v["guest.ipAddress"],
                    ["uuid"] = v["config.uuid"],
                }).ToArray()));
            }
            else
            {
                context.Output.Table(["NAME", "POWER", "TOOLS", "GUEST OPS", "IP", "UUID"], vms.Select(v => (IReadOnlyList<string>)
                    [v["name"], v["runtime.powerState"], v["guest.toolsRunningStatus"], v["guest.guestOperationsReady"] == "true" ? "ready" : "not ready", v["guest.ipAddress"], v["config.uuid"]]));
            }

            return 0;
        }));
        return command;
    }

    public static Command Validate(GlobalOptions globals)
    {
        var command = new Command("validate", "Check the guest credentials (ValidateCredentialsInGuest); exits non-zero naming the fault when they are refused");
        command.SetAction((result, cancellationToken) => CommandContext.RunAsync(result, globals, cancellationToken, async (context, ct) =>
        {
            var guest = await context.GuestAsync(ct);
            await guest.ValidateCredentialsAsync(ct);
            var user = guest.Auth is GuestOps.Vim.NamePasswordAuthentication np ? np.username : null;
            context.Output.Result(user is null ? "The guest accepts the SSPI ticket" : $"The guest accepts the credentials of {user}",
                () => new JsonObject { ["valid"] = true, ["user"] = user, ["sspi"] = user is null });
            return 0;
        }));
        return command;
    }

    public static Command WaitReady(GlobalOptions globals)
    {
        var timeout = new Option<double>("--timeout") { Description = "Seconds to wait before giving up (exit 1)", DefaultValueFactory = _ => 300 };
        var command = new Command("wait-ready", "Wait until the VM's guest operations are ready (guest.guestOperationsReady), like vmrun's checkToolsState") { timeout };
        command.SetAction((result, cancellationToken) => CommandContext.RunAsync(result, globals, cancellationToken, async (context, ct) =>
        {
            var limit = TimeSpan.FromSeconds(result.GetValue(timeout));
            var service = await context.ConnectAsync(ct);
            var vm = await VmLocator.FindAsync(service, context.RequireVm(), ct);
            var clock = Stopwatch.StartNew();
            while (true)
            {
                var properties = await service.PropertiesAsync(vm, ["guest.guestOperationsReady"], ct);
                var ready = PropertyText.Of(properties.GetValueOrDefault("guest.guestOperationsReady")) == "true";
                if (ready || clock.Elapsed >= limit)
                {
                    var seconds = clock.Elapsed.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture);
                    context.Output.Result(ready ? $"Guest operations are ready ({seconds} s)" : $"Guest operations were not ready within {limit.TotalSeconds:0} s",
                        () => new JsonObject { ["ready"] = ready, ["seconds"] = Math.Round(clock.Elapsed.TotalSeconds, 1) });
                    return ready ? 0 : 1;
                }

                await Task.Delay(TimeSpan.FromMilliseconds(500), ct);
            }
        }));
        return command;
    }
}
