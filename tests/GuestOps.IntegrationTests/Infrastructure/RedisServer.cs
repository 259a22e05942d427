using System.Net;
using System.Net.Sockets;
using System.Text;

namespace GuestOps.IntegrationTests.Infrastructure;

/// <summary>
/// A throwaway redis-server (Debian's) on a free loopback port, in a temporary directory, with nothing saved
/// (<c>--save "" --appendonly no</c>): the membership and grain store of a test's cluster. Killed and removed on dispose.
/// </summary>
public sealed class RedisServer : IClusterStoreServer
{
    public const string Executable = "/usr/bin/redis-server";

    private readonly BackgroundProcess _server;

    private RedisServer(BackgroundProcess server, string directory, int port)
    {
        _server = server;
        Directory = directory;
        Port = port;
    }

    public string Directory { get; }

    public int Port { get; }

    /// <summary>GUESTOPS_CLUSTER for this server.</summary>
    public string ClusterSetting => $"redis://127.0.0.1:{Port}";

    public string Output => _server.Output;

    public static async Task<RedisServer> StartAsync()
    {
        if (!File.Exists(Executable))
        {
            Assert.Fail($"{Executable} is missing: install Debian's redis-server (.ci/run does).");
        }

        var directory = System.IO.Directory.CreateTempSubdirectory("guestops-redis-").FullName;
        var port = LoopbackPort.Free();
        var server = BackgroundProcess.Start(
            Executable,
            ["--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--dir", directory, "--save", "", "--appendonly", "no", "--daemonize", "no"],
            directory);
        var redis = new RedisServer(server, directory, port);
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
