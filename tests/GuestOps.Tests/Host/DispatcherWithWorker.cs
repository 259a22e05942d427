using GuestOps.Channel.Connection;
using GuestOps.Channel.Messages;
using GuestOps.Channel.Transport;
using GuestOps.Host.Dispatch;
using GuestOps.Tests.Channel;
using Microsoft.Extensions.Logging.Abstractions;

namespace GuestOps.Tests.Host;

/// <summary>A VM dispatcher with a worker connected through an in-memory listener: the worker answers with
/// <c>handle</c> and advertises <c>operations</c>.</summary>
internal sealed class DispatcherWithWorker : IAsyncDisposable
{
    private readonly ChannelConnection _worker;

    private DispatcherWithWorker(VmDispatcher dispatcher, ChannelConnection worker)
    {
        Dispatcher = dispatcher;
        _worker = worker;
    }

    public VmDispatcher Dispatcher { get; }

    public static async Task<DispatcherWithWorker> StartAsync(
        Func<IncomingCall, CancellationToken, ValueTask<ChannelResponse>> handle, IReadOnlyList<string> operations, CancellationToken cancellationToken)
    {
        var listener = new InMemoryListener();
        var dispatcher = new VmDispatcher("vm-1", listener, new VmDispatcherOptions { HeartbeatInterval = TimeSpan.Zero }, NullLoggerFactory.Instance);
        dispatcher.Start();
        var workerOptions = new ChannelConnectionOptions
        {
            Role = ChannelRole.Worker,
            Software = "test-worker",
            RequestHandler = new DelegateHandler(handle),
            HeartbeatInterval = TimeSpan.Zero,
            Capabilities = operations.Select(ChannelCapabilities.ForOperation).ToArray(),
            HandshakeTimeout = TimeSpan.FromSeconds(5),
        };
        var worker = await ChannelConnection.EstablishAsync(listener.Connect(), workerOptions, cancellationToken);
        while (!dispatcher.IsReady)
        {
            await Task.Delay(10, cancellationToken);
        }

        return new DispatcherWithWorker(dispatcher, worker);
    }

    public async ValueTask DisposeAsync()
    {
        await _worker.DisposeAsync();
        await Dispatcher.DisposeAsync();
    }

    /// <summary>A listener whose connections are in-memory stream pairs.</summary>
    private sealed class InMemoryListener : IChannelListener
    {
        private readonly System.Threading.Channels.Channel<ChannelTransportConnection> _pending = System.Threading.Channels.Channel.CreateUnbounded<ChannelTransportConnection>();

        public ChannelEndpoint Endpoint => throw new NotSupportedException();

        /// <summary>Queues a connection for the dispatcher and returns the worker's end of it.</summary>
        public Stream Connect()
        {
            var (host, worker) = ChannelTestKit.CreateStreamPair();
            _pending.Writer.TryWrite(new ChannelTransportConnection(host, "in-memory"));
            return worker;
        }

        public ValueTask<ChannelTransportConnection> AcceptAsync(CancellationToken cancellationToken) => _pending.Reader.ReadAsync(cancellationToken);

        public ValueTask DisposeAsync()
        {
            _pending.Writer.TryComplete();
            return ValueTask.CompletedTask;
        }
    }
}
