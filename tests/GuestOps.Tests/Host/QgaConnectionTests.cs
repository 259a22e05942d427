using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using GuestOps.Host.QemuGuestAgent;

namespace GuestOps.Tests.Host;

/// <summary>
/// The QGA client's resynchronization against a scripted agent: a virtio-serial channel keeps bytes across clients, so
/// a new client finds answers meant for an earlier one. It must flush the guest's parser with 0xFF, then ignore
/// everything up to the guest's 0xFF delimiter and any answer that does not carry its own sync id.
/// </summary>
[TestClass]
public sealed class QgaConnectionTests
{
    [TestMethod]
    [Timeout(60_000)]
    public async Task Connect_SkipsStaleAnswersAndForeignSyncs_ThenCommandsGetTheirOwnAnswers()
    {
        var directory = Directory.CreateTempSubdirectory("guestops-qga-");
        var path = Path.Combine(directory.FullName, "qga.sock");
        using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(path));
        listener.Listen(1);
        byte? firstByte = null;
        var agent = Task.Run(async () =>
        {
            using var socket = await listener.AcceptAsync();
            await using var stream = new NetworkStream(socket);
            // Left over from an earlier client: an answer, and half of another.
            await stream.WriteAsync(Encoding.UTF8.GetBytes("{\"return\": {\"version\": \"stale\"}}\n{\"return\": 12"));
            var reader = new StreamReader(stream, Encoding.Latin1);
            var first = (char)reader.Read();
            firstByte = (byte)first;
            var sync = JsonDocument.Parse(await reader.ReadLineAsync() ?? "");
            var id = sync.RootElement.GetProperty("arguments").GetProperty("id").GetInt64();
            // Another client's sync answer before ours, then the delimiter and ours.
            await stream.WriteAsync(Encoding.UTF8.GetBytes("\n{\"return\": 4711}\n"));
            await stream.WriteAsync(new byte[] { 0xFF });
            await stream.WriteAsync(Encoding.UTF8.GetBytes($"{{\"return\": {id + 1}}}\n{{\"return\": {id}}}\n"));
            var command = JsonDocument.Parse(await reader.ReadLineAsync() ?? "");
            Assert.AreEqual("guest-info", command.RootElement.GetProperty("execute").GetString());
            await stream.WriteAsync(Encoding.UTF8.GetBytes("{\"return\": {\"version\": \"7.2.22\", \"supported_commands\": [{\"name\": \"guest-exec\", \"enabled\": false}, {\"name\": \"guest-ping\", \"enabled\": true}]}}\n"));
            command = JsonDocument.Parse(await reader.ReadLineAsync() ?? "");
            Assert.AreEqual("guest-exec", command.RootElement.GetProperty("execute").GetString());
            await stream.WriteAsync(Encoding.UTF8.GetBytes("{\"error\": {\"class\": \"GenericError\", \"desc\": \"The command guest-exec has been disabled for this instance\"}}\n"));
        });

        try
        {
            await using var qga = await QgaConnection.ConnectAsync(path, TimeSpan.FromSeconds(10), CancellationToken.None);
            var info = await qga.InfoAsync(CancellationToken.None);
            Assert.AreEqual("7.2.22", info.Version, "the answer to our guest-info, not the stale one");
            Assert.AreEqual("guest-exec", GuestTools.FirstBlocked(info));
            var refused = await Assert.ThrowsExactlyAsync<QgaCommandException>(() => qga.ExecAsync("/bin/true", [], default, CancellationToken.None));
            StringAssert.Contains(refused.Message, "disabled");
            Assert.IsTrue(qga.IsUsable, "a refused command leaves the connection usable");
            await agent;
            Assert.AreEqual((byte)0xFF, firstByte, "the client flushes the guest's parser with 0xFF before guest-sync-delimited");
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [TestMethod]
    [Timeout(60_000)]
    public async Task WriteFlushed_SendsBothCommandsBeforeAnyAnswer_AndAFailedWriteLeavesTheStreamInStep()
    {
        var directory = Directory.CreateTempSubdirectory("guestops-qga-");
        var path = Path.Combine(directory.FullName, "qga.sock");
        using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(path));
        listener.Listen(1);
        var agent = Task.Run(async () =>
        {
            using var socket = await listener.AcceptAsync();
            await using var stream = new NetworkStream(socket);
            var reader = new StreamReader(stream, Encoding.Latin1);
            reader.Read(); // the client's 0xFF
            var id = JsonDocument.Parse(await reader.ReadLineAsync() ?? "").RootElement.GetProperty("arguments").GetProperty("id").GetInt64();
            await stream.WriteAsync(new byte[] { 0xFF });
            await stream.WriteAsync(Encoding.UTF8.GetBytes($"{{\"return\": {id}}}\n"));
            for (var round = 0; round < 2; round++)
            {
                // Both commands arrive before this agent answers either: one round trip.
                var write = JsonDocument.Parse(await reader.ReadLineAsync() ?? "").RootElement;
                var flush = JsonDocument.Parse(await reader.ReadLineAsync() ?? "").RootElement;
                Assert.AreEqual("guest-file-write", write.GetProperty("execute").GetString());
                Assert.AreEqual("guest-file-flush", flush.GetProperty("execute").GetString());
                Assert.AreEqual(7, flush.GetProperty("arguments").GetProperty("handle").GetInt64());
                var count = Convert.FromBase64String(write.GetProperty("arguments").GetProperty("buf-b64").GetString()!).Length;
                await stream.WriteAsync(Encoding.UTF8.GetBytes(round == 0
                    ? "{\"error\": {\"class\": \"GenericError\", \"desc\": \"failed to write to file\"}}\n{\"return\": {}}\n"
                    : $"{{\"return\": {{\"count\": {count}, \"eof\": false}}}}\n{{\"return\": {{}}}}\n"));
            }

            Assert.AreEqual("guest-ping", JsonDocument.Parse(await reader.ReadLineAsync() ?? "").RootElement.GetProperty("execute").GetString());
            await stream.WriteAsync(Encoding.UTF8.GetBytes("{\"return\": {}}\n"));
        });

        try
        {
            await using var qga = await QgaConnection.ConnectAsync(path, TimeSpan.FromSeconds(10), CancellationToken.None);
            var failed = await Assert.ThrowsExactlyAsync<QgaCommandException>(() => qga.FileWriteFlushedAsync(7, new byte[] { 1, 2, 3 }, CancellationToken.None));
            StringAssert.Contains(failed.Message, "failed to write");
            Assert.IsTrue(qga.IsUsable);
            Assert.AreEqual(5, await qga.FileWriteFlushedAsync(7, new byte[5], CancellationToken.None), "the second write's own count, not the flush answer left from the first");
            await qga.PingAsync(CancellationToken.None);
            await agent;
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }
}
