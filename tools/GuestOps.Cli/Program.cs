using System.CommandLine;
using GuestOps.Cli.Commands;

namespace GuestOps.Cli;

public static class Program
{
    public static Task<int> Main(string[] args)
    {
        var root = CreateRootCommand();
        return root.Parse(args).InvokeAsync();
    }

    public static RootCommand CreateRootCommand()
    {
        var globals = new GlobalOptions();
        var root = new RootCommand(
            "guestops: vSphere guest operations (files, processes, programs with their output) on any vim25 endpoint: GuestOps, ESXi or vCenter.\n"
            + "Connection: --url or GUESTOPS_URL / GOVC_URL (https://user:password@host/sdk), -k for a self-signed certificate; "
            + "VM: -vm NAME|PATH|UUID or GUESTOPS_VM / GOVC_VM; guest account: -l user:password or GUESTOPS_GUEST_LOGIN / GOVC_GUEST_LOGIN.\n"
            + "Example: guestops run -k -vm demo-vm-1 -l demo:secret -- sh -c 'echo hello; exit 3'");
        foreach (var option in globals.All)
        {
            root.Options.Add(option);
        }

        Command[] commands =
        [
            SessionCommands.Login(globals),
            SessionCommands.Logout(globals),
            VmCommands.Vms(globals),
            VmCommands.WaitReady(globals),
            VmCommands.Validate(globals),
            FileCommands.Ls(globals),
            FileCommands.Exists(globals),
            FileCommands.Mkdir(globals),
            FileCommands.Rm(globals),
            FileCommands.Rmdir(globals),
            FileCommands.Mv(globals),
            FileCommands.Mktemp(globals),
            FileCommands.Chmod(globals),
            FileCommands.Chown(globals),
            FileCommands.Touch(globals),
            TransferCommands.Upload(globals),
            TransferCommands.Download(globals),
            ProcessCommands.Start(globals),
            ProcessCommands.Ps(globals),
            ProcessCommands.Kill(globals),
            ProcessCommands.Env(globals),
            RunCommand.Create(globals),
        ];
        foreach (var command in commands)
        {
            root.Subcommands.Add(command);
        }

        return root;
    }
}
