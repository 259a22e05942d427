using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace GuestOps.IntegrationTests.Infrastructure;

/// <summary>
/// A throwaway redis-server (Debian's) on a free loopback port, in a temporary directory, with nothing saved
/// (<c>--save "" --appendonly no</c>): the membership and grain store of a test's cluster. Killed and removed on dispose.
/// </summary>
public sealed class RedisServer : IAsyncDisposable
{
    public const string Executable = "/usr/bin/redis-server";

    private readonly Process _process;
    private readonly StringBuilder _output;

    private RedisServer(Process process, StringBuilder output, string directory, int port)
    {
        _process = process;
        _output = output;
        Directory = directory;
        Port = port;
    }

    public string Directory { get; }

    public int Port { get; }

    /// <summary>GUESTOPS_CLUSTER for this server.</summary>
    public string ClusterSetting => $"redis://127.0.0.1:{Port}";

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    public static async Task<RedisServer> StartAsync()
    {
        if (!File.Exists(Executable))
        {
            Assert.Fail($"{Executable} is missing: install Debian's redis-server (.ci/run does).");
        }

        var directory = System.IO.Directory.CreateTempSubdirectory("guestops-redis-").FullName;
        var port = LoopbackPort.Free();
        var start = new ProcessStartInfo(Executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = directory,
        };
        foreach (var argument in new[] { "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--dir", directory, "--save", "", "--appendonly", "no", "--daemonize", "no" })
        {
            start.ArgumentList.Add(argument);
        }

        var output = new StringBuilder();
        var process = Process.Start(start) ?? throw new InvalidOperationException("redis-server did not start.");
        process.OutputDataReceived += (_, e) => Append(output, e.Data);
        process.ErrorDataReceived += (_, e) => Append(output, e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var redis = new RedisServer(process, output, directory, port);
        try
        {
            await redis.WaitUntilListeningAsync(TimeSpan.FromSeconds(15));
            return redis;
        }
        catch
        {
            await redis.DisposeAsync();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill();
                await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
            }
        }
        catch (Exception e) when (e is InvalidOperationException or TimeoutException or System.ComponentModel.Win32Exception)
        {
        }
        finally
        {
            _process.Dispose();
            try
            {
                System.IO.Directory.Delete(Directory, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    /// <summary>Waits until the server answers PING with +PONG, bounded.</summary>
    private async Task WaitUntilListeningAsync(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"redis-server exited with code {_process.ExitCode}:{Environment.NewLine}{Output}");
            }

            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, Port);
                var stream = client.GetStream();
                await stream.WriteAsync("PING\r\n"u8.ToArray());
                var buffer = new byte[16];
                var read = await stream.ReadAsync(buffer).AsTask().WaitAsync(TimeSpan.FromSeconds(2));
                if (Encoding.ASCII.GetString(buffer, 0, read).StartsWith("+PONG", StringComparison.Ordinal))
                {
                    return;
                }
            }
            catch (Exception e) when (e is SocketException or IOException or TimeoutException)
            {
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"redis-server did not answer on port {Port} within {timeout.TotalSeconds} s:{Environment.NewLine}{Output}");
            }

            await Task.Delay(100);
        }
    }

    private static void Append(StringBuilder output, string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (output)
        {
            output.AppendLine(line);
        }
    }
}
