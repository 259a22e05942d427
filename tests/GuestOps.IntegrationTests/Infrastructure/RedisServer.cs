using System.Net;
using System.Net.Sockets;
using System.Text;

namespace GuestOps.IntegrationTests.Infrastructure;

/// <summary>
/// A throwaway redis-server (Debian's) on a free loopback port, in a temporary directory: the membership and grain store
/// of a test's cluster. By default nothing is saved (<c>--save "" --appendonly no</c>); a persisted one keeps an
/// append-only file, as a production redis-server would, so <see cref="RestartAsync"/> brings its data back. Killed and
/// removed on dispose.
/// </summary>
public sealed class RedisServer : IClusterStoreServer
{
    public const string Executable = "/usr/bin/redis-server";

    private readonly string[] _arguments;

    private BackgroundProcess _server;

    private string _earlierOutput = "";

    private RedisServer(string[] arguments, string directory, int port)
    {
        _arguments = arguments;
        _server = BackgroundProcess.Start(Executable, arguments, directory);
        Directory = directory;
        Port = port;
    }

    public string Directory { get; }

    public int Port { get; }

    /// <summary>GUESTOPS_CLUSTER for this server.</summary>
    public string ClusterSetting => $"redis://127.0.0.1:{Port}";

    public string Output => _earlierOutput + _server.Output;

    /// <param name="persisted">Keep the data in an append-only file (<c>--appendonly yes</c>, fsync every second).</param>
    public static async Task<RedisServer> StartAsync(bool persisted = false)
    {
        if (!File.Exists(Executable))
        {
            Assert.Fail($"{Executable} is missing: install Debian's redis-server (.ci/run does).");
        }

        var directory = System.IO.Directory.CreateTempSubdirectory("guestops-redis-").FullName;
        var port = LoopbackPort.Free();
        var redis = new RedisServer(
            ["--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--dir", directory, "--save", "", "--appendonly", persisted ? "yes" : "no", "--appendfsync", "everysec", "--daemonize", "no"],
            directory,
            port);
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

    /// <summary>Stops the server as its service manager would (SIGTERM: a persisted one writes its data out) and starts it
    /// again on the same port and directory; returns once it answers. Its earlier output is kept in <see cref="Output"/>.</summary>
    public async Task RestartAsync()
    {
        if (OperatingSystem.IsLinux() && !_server.Process.HasExited && GuestWorkers.Signal(_server.Process.Id, 15))
        {
            await _server.Process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        }

        var earlier = Output;
        _server.Dispose();
        _server = BackgroundProcess.Start(Executable, _arguments, Directory);
        await WaitUntilListeningAsync(TimeSpan.FromSeconds(15));
        _earlierOutput = earlier;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_server.Process.HasExited)
            {
                _server.Process.Kill();
                await _server.Process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
            }
        }
        catch (Exception e) when (e is InvalidOperationException or TimeoutException or System.ComponentModel.Win32Exception)
        {
        }
        finally
        {
            _server.Dispose();
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
            if (_server.Process.HasExited)
            {
                throw new InvalidOperationException($"redis-server exited with code {_server.Process.ExitCode}:{Environment.NewLine}{Output}");
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
}
