using GuestOps.Vim;

namespace GuestOps.Samples;

/// <summary>One sample: its name, usage and body (returns the exit code).</summary>
public sealed record Sample(string Name, string Usage, Func<SampleOptions, Task<int>> RunAsync);

/// <summary>The four samples, the same tasks and options as samples/java.</summary>
public static class Samples
{
    public static readonly IReadOnlyList<Sample> All =
    [
        new("CreateTemporaryFile",
            "CreateTemporaryFile: create a temporary file in the guest and print its path\n"
            + "  --prefix PREFIX --suffix SUFFIX  name parts (default guestops-, .tmp)\n"
            + "  --directorypath DIR              guest directory (default: the guest's temporary directory)\n",
            CreateTemporaryFileAsync),
        new("UploadGuestFile",
            "UploadGuestFile: copy a local file into the guest\n"
            + "  --localfilepath FILE   local file\n"
            + "  --guestfilepath PATH   guest file to write\n"
            + "  --overwrite            replace an existing guest file\n",
            UploadGuestFileAsync),
        new("DownloadGuestFile",
            "DownloadGuestFile: copy a guest file to a local file\n"
            + "  --guestfilepath PATH   guest file\n"
            + "  --localfilepath FILE   local file to write\n",
            DownloadGuestFileAsync),
        new("RunProgram",
            "RunProgram: run a guest program and wait for its exit code\n"
            + "  --guestprogrampath PATH        absolute path of the guest program\n"
            + "  --arguments ARGS               its arguments (interpreted by the guest's shell)\n"
            + "  --localoutputfilepath FILE     save the program's output (stdout and stderr) to this local file\n"
            + "  --timeout SECONDS              give up waiting after this long (default 300)\n",
            RunProgramAsync),
    ];

    /// <summary>CreateTemporaryFileInGuest.</summary>
    private static async Task<int> CreateTemporaryFileAsync(SampleOptions options)
    {
        await using var connection = await SampleConnection.OpenAsync(options);
        var path = await connection.Port.CreateTemporaryFileInGuestAsync(connection.FileManager, connection.Vm, connection.Auth,
            options.Optional("prefix", "guestops-")!, options.Optional("suffix", ".tmp")!, options.Optional("directorypath"));
        Console.WriteLine($"Temporary file created: {path}");
        return 0;
    }

    /// <summary>InitiateFileTransferToGuest, then an HTTP PUT of the file to the URL.</summary>
    private static async Task<int> UploadGuestFileAsync(SampleOptions options)
    {
        var local = options.Required("localfilepath");
        var guestPath = options.Required("guestfilepath");
        var size = new FileInfo(local).Length;
        await using var connection = await SampleConnection.OpenAsync(options);
        var url = await connection.Port.InitiateFileTransferToGuestAsync(connection.FileManager, connection.Vm, connection.Auth,
            guestPath, new GuestFileAttributes(), size, options.Flag("overwrite"));
        await connection.PutAsync(url, local);
        Console.WriteLine($"Uploaded {size} bytes to {guestPath}");
        return 0;
    }

    /// <summary>InitiateFileTransferFromGuest, then an HTTP GET of the URL it returns.</summary>
    private static async Task<int> DownloadGuestFileAsync(SampleOptions options)
    {
        var guestPath = options.Required("guestfilepath");
        var local = options.Required("localfilepath");
        await using var connection = await SampleConnection.OpenAsync(options);
        var info = await connection.Port.InitiateFileTransferFromGuestAsync(connection.FileManager, connection.Vm, connection.Auth, guestPath);
        var bytes = await connection.GetAsync(info.url, local);
        if (bytes != info.size)
        {
            throw new InvalidOperationException($"received {bytes} bytes, the guest announced {info.size}");
        }

        Console.WriteLine($"Downloaded {bytes} bytes to {local}");
        return 0;
    }

    /// <summary>StartProgramInGuest, ListProcessesInGuest until it has an exit code; its output through a temporary guest file.</summary>
    private static async Task<int> RunProgramAsync(SampleOptions options)
    {
        var output = options.Optional("localoutputfilepath");
        var timeout = TimeSpan.FromSeconds(double.Parse(options.Optional("timeout", "300")!, System.Globalization.CultureInfo.InvariantCulture));
        await using var connection = await SampleConnection.OpenAsync(options);
        var spec = new GuestProgramSpec { programPath = options.Required("guestprogrampath"), arguments = options.Optional("arguments", "")! };
        string? guestOutput = null;
        if (output is not null)
        {
            guestOutput = await connection.Port.CreateTemporaryFileInGuestAsync(connection.FileManager, connection.Vm, connection.Auth, "guestops-run-", ".out", null);
            spec.arguments += $" > {guestOutput} 2>&1";
        }

        try
        {
            var pid = await connection.Port.StartProgramInGuestAsync(connection.ProcessManager, connection.Vm, connection.Auth, spec);
            Console.WriteLine($"Started pid {pid}");
            var deadline = DateTime.UtcNow + timeout;
            int? exitCode = null;
            while (exitCode is null)
            {
                var processes = await connection.Port.ListProcessesInGuestAsync(new ListProcessesInGuestRequest { _this = connection.ProcessManager, vm = connection.Vm, auth = connection.Auth, pids = [pid] });
                var process = processes.returnval?.FirstOrDefault() ?? throw new InvalidOperationException($"the guest no longer lists pid {pid}");
                exitCode = process.exitCode;
                if (exitCode is null)
                {
                    if (DateTime.UtcNow > deadline)
                    {
                        throw new TimeoutException($"pid {pid} still runs after {timeout.TotalSeconds:0} s");
                    }

                    await Task.Delay(200);
                }
            }

            if (guestOutput is not null)
            {
                var info = await connection.Port.InitiateFileTransferFromGuestAsync(connection.FileManager, connection.Vm, connection.Auth, guestOutput);
                var bytes = await connection.GetAsync(info.url, output!);
                Console.WriteLine($"Output ({bytes} bytes) saved to {output}");
            }

            Console.WriteLine($"Exit code: {exitCode}");
            return exitCode.Value;
        }
        finally
        {
            if (guestOutput is not null)
            {
                await connection.Port.DeleteFileInGuestAsync(connection.FileManager, connection.Vm, connection.Auth, guestOutput);
            }
        }
    }
}
